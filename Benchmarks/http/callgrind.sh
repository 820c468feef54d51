#!/usr/bin/env bash
# Instructions per decision over HTTP, counted by valgrind's callgrind: repeatable where wall
# time on a shared machine is not. hush runs under callgrind with one event loop on a seeded
# database; a client sends N1 and then, in a second run, N2 keep-alive POST /v1/decisions; the
# difference of the two totals divided by N2 - N1 is what one decision costs (start-up and
# shutdown cancel out).
#
# usage: Benchmarks/http/callgrind.sh [hush binary ...]   (default: this checkout, release)
#        Several binaries are measured on the same database, in turn: before and after a change.
#        Compare binaries within one invocation: the answers depend on the time of day (quiet
#        hours start and end), and with them the reasons rendered.
# env:   N1=2000 N2=6000 CUSTOMERS=20000 PORT=23300 DB_DIR=.build-bench/callgrind OUT=<dir>
#        BATCH=1 (more: N1 and N2 calls of the batch endpoint with BATCH decisions each; the
#        figure is still per decision)
# needs: valgrind, python3
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N1=${N1:-2000}; N2=${N2:-6000}; CUSTOMERS=${CUSTOMERS:-20000}; PORT=${PORT:-23300}; BATCH=${BATCH:-1}
DB_DIR=${DB_DIR:-$ROOT/.build-bench/callgrind}
OUT=${OUT:-$(mktemp -d /tmp/hush-callgrind.XXXXXX)}
mkdir -p "$DB_DIR" "$OUT"
command -v valgrind > /dev/null || { echo "missing valgrind: apt-get install valgrind" >&2; exit 1; }
export HUSH_ERASURE_KEY=benchmark-erasure-key-0123456789abcdef

BINARIES=("$@")
if (( ${#BINARIES[@]} == 0 )); then
    (cd "$ROOT" && swift build -c release --product hush > "$OUT/build.log" 2>&1) || { tail -20 "$OUT/build.log"; exit 1; }
    BINARIES=("$(cd "$ROOT" && swift build -c release --show-bin-path)/hush")
fi

PID=""
cleanup() { [[ -n "$PID" ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; }
trap cleanup EXIT

wait_ready() { # log file: up to 120 s (callgrind starts slowly)
    for _ in $(seq 1200); do grep -q "listening on" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "hush did not start: $(cat "$1")" >&2; return 1
}

# ---- the database: CUSTOMERS profiles, a suppression for one in five, a case for one in twenty ----
DB=$DB_DIR/seed.db
if [[ ! -f "$DB" ]]; then
    "${BINARIES[0]}" --port "$PORT" --threads 1 --database "$DB.tmp" > "$OUT/seed.log" 2>&1 &
    PID=$!
    wait_ready "$OUT/seed.log"
    python3 "$HERE/callgrind_client.py" seed "$PORT" "$CUSTOMERS"
    kill -TERM "$PID"; wait "$PID" || true; PID=""
    mv "$DB.tmp" "$DB"; rm -f "$DB.tmp-wal" "$DB.tmp-shm" "$DB.tmp.erasure-key"
fi

# ---- each binary, N1 and N2 decisions under callgrind ----
count() { # binary n: total instructions of a run with n decisions
    local binary=$1 n=$2 run="$OUT/run-$RANDOM"
    mkdir -p "$run"
    cp "$DB" "$run/hush.db"
    valgrind --tool=callgrind --callgrind-out-file="$run/callgrind.out" \
        "$binary" --port "$PORT" --threads 1 --database "$run/hush.db" > "$run/hush.log" 2> "$run/valgrind.log" &
    PID=$!
    wait_ready "$run/hush.log"
    python3 "$HERE/callgrind_client.py" decide "$PORT" "$CUSTOMERS" "$n" "$BATCH"
    kill -TERM "$PID"; wait "$PID" || true; PID=""
    sed -n 's/^summary: //p; s/^totals: //p' "$run/callgrind.out" | head -1 | awk '{print $1}'
}

printf '%-60s %14s %14s %12s\n' binary "Ir($N1)" "Ir($N2)" "Ir/decision"
for binary in "${BINARIES[@]}"; do
    a=$(count "$binary" "$N1")
    b=$(count "$binary" "$N2")
    printf '%-60s %14d %14d %12.0f\n' "$binary" "$a" "$b" "$(echo "($b - $a) / ($N2 - $N1) / $BATCH" | bc -l)"
done
