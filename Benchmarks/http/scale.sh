#!/usr/bin/env bash
# Decisions as the data grows (README, "Decisions at size"): databases of 1,000,000 and
# 10,000,000 customers made by decisions-bench (realistic proportions: a profile each, 5 % a case,
# 20 % a suppression, contacts and interactions in the last week, 0.1 % erased), kept in DB_DIR;
# then, in one run and with the same pinning, for each size: decisions per second in-process
# (decisions-bench: facts from SQLite plus decide(), one thread, beside bare point lookups), and
# through the real binary under wrk (single decisions on one event loop, the batch of 100 on two),
# the database's bytes per customer, and hush's resident memory at the end of the load.
#
# usage: Benchmarks/http/scale.sh
# env:   SIZES="1000000 10000000" (add 50000000 where the disk has room: its file is 40 GB),
#        RUNS=3 DUR=10 CONNS=64 DB_DIR=.build-bench/scale OUT=<dir> HUSH_CPU=0 LOAD_CPU=1
# Generating the databases (once; kept) took, on a 2-vCPU machine: 1,000,000 customers 47 s,
# 10,000,000 17 minutes, 50,000,000 2 hours 12 minutes (these two side by side).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZES=${SIZES:-"1000000 10000000"}; RUNS=${RUNS:-3}; DUR=${DUR:-10}; CONNS=${CONNS:-64}
HUSH_CPU=${HUSH_CPU:-0}; LOAD_CPU=${LOAD_CPU:-1}; PORT=${PORT:-23600}
DB_DIR=${DB_DIR:-$ROOT/.build-bench/scale}
OUT=${OUT:-$(mktemp -d /tmp/hush-bench-scale.XXXXXX)}
mkdir -p "$OUT" "$DB_DIR"
for tool in wrk taskset curl python3; do command -v "$tool" > /dev/null || { echo "missing $tool" >&2; exit 1; }; done

echo "building hush and decisions-bench (release)" >&2
(cd "$ROOT" && swift build -c release --product hush > "$OUT/build.log" 2>&1) || { tail -20 "$OUT/build.log"; exit 1; }
(cd "$ROOT/Benchmarks" && swift build -c release --product decisions-bench >> "$OUT/build.log" 2>&1) || { tail -20 "$OUT/build.log"; exit 1; }
HUSH=$(cd "$ROOT" && swift build -c release --show-bin-path)/hush
BENCH=$(cd "$ROOT/Benchmarks" && swift build -c release --show-bin-path)/decisions-bench
# decisions-bench's key, so that the server reads the tombstones it wrote.
export HUSH_ERASURE_KEY=benchmark-erasure-key-0123456789abcdef

PID=""
cleanup() { [[ -n "$PID" ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; }
trap cleanup EXIT

printf 'customers\tmeasure\trun\tvalue\n' > "$OUT/results.tsv"
record() { printf '%s\t%s\t%s\t%s\n' "$@" | tee -a "$OUT/results.tsv" >&2; }

for size in $SIZES; do
    db="$DB_DIR/decisions-$size.db"
    if [[ ! -f $db ]]; then
        echo "generating $db (once)" >&2
        "$BENCH" --db "$db" --customers "$size" --runs 1 --seconds 1 | tee "$OUT/generate-$size.txt" >&2
    fi
    record "$size" bytes_per_customer 1 "$(python3 -c "import os; print(round(os.path.getsize('$db') / $size))")"
done

# The generator dates contacts and interactions in the week before its fixed clock, so in a kept
# database they age out, and retention would spend the runs deleting millions of rows on the
# writer, beside the decisions measured (about 2,000 rows a second at 10M: random pages in three
# B-trees each). The runs keep retention off, so that every size is measured in the same state.
printf '{"retention": {"interval_minutes": 0}}\n' > "$OUT/scale.json"

for run in $(seq "$RUNS"); do
    for size in $SIZES; do
        db="$DB_DIR/decisions-$size.db"
        # In-process: decisions and bare point lookups, one thread, pinned.
        line=$(taskset -c "$HUSH_CPU" "$BENCH" --db "$db" --customers "$size" --runs 1 --seconds "$DUR" | tail -1)
        record "$size" inprocess_decisions "$run" "$(sed -E 's/.*: ([0-9]+) decisions\/s.*/\1/' <<<"$line")"
        record "$size" inprocess_lookups "$run" "$(sed -E 's/.*, ([0-9]+) bare point lookups.*/\1/' <<<"$line")"
        # Through the binary: single decisions on one loop, then the batch of 100 on two.
        for mode in single batch; do
            threads=1; cpus=$HUSH_CPU; batch=1; conns=$CONNS
            [[ $mode == batch ]] && { threads=2; cpus="$HUSH_CPU,$LOAD_CPU"; batch=100; conns=8; }
            taskset -c "$cpus" "$HUSH" --config "$OUT/scale.json" --port "$PORT" --threads "$threads" --database "$db" > "$OUT/hush-$size-$mode.log" 2>&1 &
            PID=$!
            for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
            # Warm the page cache as a server that has run a while has it.
            taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d3s -s "$HERE/decisions.lua" "http://127.0.0.1:$PORT" -- "$size" 7 "$batch" > /dev/null
            rps=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${DUR}s" -s "$HERE/decisions.lua" "http://127.0.0.1:$PORT" -- "$size" 42 "$batch" \
                  | awk '/^Requests\/sec/ {print int($2)}')
            record "$size" "http_${mode}_decisions" "$run" "$((rps * batch))"
            # Resident memory: the process's own (anonymous), and the database file's pages it maps
            # (shared with the page cache, which the kernel may reclaim).
            record "$size" "rss_anon_kb_$mode" "$run" "$(awk '/RssAnon/ {print $2}' "/proc/$PID/status")"
            record "$size" "rss_file_kb_$mode" "$run" "$(awk '/RssFile/ {print $2}' "/proc/$PID/status")"
            kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=""
        done
    done
done

python3 - "$OUT" <<'EOF' | tee "$OUT/summary.txt"
import csv, statistics, sys
rows = list(csv.DictReader(open(f"{sys.argv[1]}/results.tsv"), delimiter="\t"))
sizes = sorted({int(r["customers"]) for r in rows})
measures = ["inprocess_decisions", "inprocess_lookups", "http_single_decisions", "http_batch_decisions", "rss_anon_kb_single", "rss_file_kb_single",
            "rss_anon_kb_batch", "rss_file_kb_batch", "bytes_per_customer"]
med = {(int(r["customers"]), m): statistics.median(float(x["value"]) for x in rows if x["customers"] == r["customers"] and x["measure"] == m)
       for r in rows for m in measures if any(x["customers"] == r["customers"] and x["measure"] == m for x in rows)}
print("medians; the last columns are each larger size against the smallest")
print(f"{'measure':24}" + "".join(f"{s:>14,}" for s in sizes) + "".join(f"{f'{s // sizes[0]}x':>8}" for s in sizes[1:]))
for m in measures:
    values = [med.get((s, m)) for s in sizes]
    ratios = "".join(f"{v / values[0]:8.2f}" if values[0] and v else f"{'':>8}" for v in values[1:])
    print(f"{m:24}" + "".join(f"{v:14,.0f}" if v is not None else f"{'':>14}" for v in values) + ratios)
EOF
