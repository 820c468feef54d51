#!/usr/bin/env bash
# Decisions while writes go on (README, "Decisions at size"): single decisions on one event loop
# under wrk, alone and then beside a trickle of contacts (one connection, a POST every 10 ms, about
# 60 writes a second), in turn, RUNS times, on a copy of a scale.sh database. Prints each run's
# decisions per second both ways and the page faults hush took: every commit makes each reader
# start its next read from a changed database, and a reader that drops its map then (SQLite's own
# VFS does) faults every page in again.
#
# usage: Benchmarks/http/mixed.sh [hush binary ...]   (default: this checkout, release; several are
#        measured in turn on the same database)
# env:   SIZE=1000000 (a database of Benchmarks/http/scale.sh, kept in DB_DIR) RUNS=3 DUR=8
#        HUSH_CPU=0 LOAD_CPU=1 PORT=23700 DB_DIR=.build-bench/scale OUT=<dir>
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZE=${SIZE:-1000000}; RUNS=${RUNS:-3}; DUR=${DUR:-8}; HUSH_CPU=${HUSH_CPU:-0}; LOAD_CPU=${LOAD_CPU:-1}; PORT=${PORT:-23700}
DB_DIR=${DB_DIR:-$ROOT/.build-bench/scale}
OUT=${OUT:-$(mktemp -d /tmp/hush-bench-mixed.XXXXXX)}
mkdir -p "$OUT"
for tool in wrk taskset curl; do command -v "$tool" > /dev/null || { echo "missing $tool" >&2; exit 1; }; done
[[ -f "$DB_DIR/decisions-$SIZE.db" ]] || { echo "no $DB_DIR/decisions-$SIZE.db: run Benchmarks/http/scale.sh first" >&2; exit 1; }
export HUSH_ERASURE_KEY=benchmark-erasure-key-0123456789abcdef

BINARIES=("$@")
if (( ${#BINARIES[@]} == 0 )); then
    (cd "$ROOT" && swift build -c release --product hush > "$OUT/build.log" 2>&1) || { tail -20 "$OUT/build.log"; exit 1; }
    BINARIES=("$(cd "$ROOT" && swift build -c release --show-bin-path)/hush")
fi
# Retention off, as in scale.sh: the generated contacts have aged out.
printf '{"retention": {"interval_minutes": 0}}\n' > "$OUT/mixed.json"

PID=""; WPID=""
cleanup() { for p in $WPID $PID; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
rps() { awk '/^Requests\/sec/ {print int($2)}'; }
faults() { awk '{print $10}' "/proc/$PID/stat"; }

printf 'binary\trun\talone\twith_writes\twrites_per_s\tfaults_alone\tfaults_with_writes\n' | tee "$OUT/results.tsv"
for binary in "${BINARIES[@]}"; do
    db="$OUT/mixed.db"
    rm -rf "$db" "$db"-* "$db".*; cp "$DB_DIR/decisions-$SIZE.db" "$db"
    # exec: the subshell becomes taskset, which becomes hush, so $! is hush's own PID.
    (cd "$OUT" && exec taskset -c "$HUSH_CPU" "$binary" --config mixed.json --port "$PORT" --threads 1 --database "$db" > "$OUT/hush.log" 2>&1) &
    PID=$!
    for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
    taskset -c "$LOAD_CPU" wrk -t1 -c64 -d3s -s "$HERE/decisions.lua" "http://127.0.0.1:$PORT" -- "$SIZE" 7 1 > /dev/null
    for run in $(seq "$RUNS"); do
        f0=$(faults)
        alone=$(taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"${DUR}s" -s "$HERE/decisions.lua" "http://127.0.0.1:$PORT" -- "$SIZE" 42 1 | rps)
        f1=$(faults)
        taskset -c "$LOAD_CPU" wrk -t1 -c1 -d"$((DUR + 2))s" -s "$HERE/contacts.lua" "http://127.0.0.1:$PORT" -- "$SIZE" 10 > "$OUT/writes-$run.txt" &
        WPID=$!
        sleep 1
        f2=$(faults)
        mixed=$(taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"${DUR}s" -s "$HERE/decisions.lua" "http://127.0.0.1:$PORT" -- "$SIZE" 42 1 | rps)
        f3=$(faults)
        wait "$WPID"; WPID=""
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$binary" "$run" "$alone" "$mixed" "$(rps < "$OUT/writes-$run.txt")" "$((f1 - f0))" "$((f3 - f2))" | tee -a "$OUT/results.tsv"
    done
    kill -TERM "$PID"; wait 2>/dev/null || true; PID=""
done
