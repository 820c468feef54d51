#!/usr/bin/env bash
# POST /v1/decisions under wrk against a 1,000,000-customer database seeded through the API
# (1,000,000 profiles by PUT, 200,000 suppressions and 50,000 cases by the import endpoints),
# beside nginx's `return 200` (the ceiling) and the Hummingbird + SQLite peer of
# ../shared/bench/anchors, in the same run with the same pinning: server on SERVER_CPU with
# one event loop, wrk on LOAD_CPU, CONNS keep-alive connections. Then the batch endpoint on both
# cores (decisions/s), p99 at half of hush's peak rate, and system calls per answer.
#
# hush runs as users get it, with the decision log on (the file sink, holding decisions back
# when full) and the access log as it comes (a line for every answer but successful decisions,
# and 1% of those, on standard error, here a file); a second hush with the decision log off is
# measured in the same runs, single and batch, and a third with the access log at `all`, single,
# for each log's cost as a ratio; in the batch, each thread's CPU time is read too, for the
# log's cost a decision on the event loops and on its own threads. At the end the log's
# segments are closed and their bytes per decision reported.
#
# usage: Benchmarks/http/decisions.sh      (needs: apt-get install wrk nginx-light; the peer
#        is built by ../shared/bench/anchors/build.sh, its fixture by gen_fixture.py)
# env:   RUNS=5 DUR=10 WARM=3 CONNS=64 BATCH=100 SERVER_CPU=1 LOAD_CPU=0 BASE_PORT=23200
#        ANCHORS=<path to bench/anchors> DB_DIR=.build-bench/http (the seeded database, kept) OUT=<dir>
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=${RUNS:-5}; DUR=${DUR:-10}; WARM=${WARM:-3}; CONNS=${CONNS:-64}; BATCH=${BATCH:-100}
SERVER_CPU=${SERVER_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}
BASE_PORT=${BASE_PORT:-23200}; P_NGINX=$BASE_PORT; P_HB=$((BASE_PORT + 1)); P_HUSH=$((BASE_PORT + 2)); P_SEED=$((BASE_PORT + 3))
P_NOLOG=$((BASE_PORT + 4)); P_ALLACC=$((BASE_PORT + 5))
ANCHORS=${ANCHORS:-$ROOT/../shared/bench/anchors}
DB_DIR=${DB_DIR:-$ROOT/.build-bench/http}
OUT=${OUT:-$(mktemp -d /tmp/hush-bench-decisions.XXXXXX)}
CUSTOMERS=1000000
mkdir -p "$OUT" "$DB_DIR"
for tool in wrk nginx taskset curl python3 zstd; do
    command -v "$tool" > /dev/null || { echo "missing $tool: apt-get install wrk nginx-light zstd" >&2; exit 1; }
done
HB_BIN=$ANCHORS/peer-hummingbird/.build/release/HBDecision
FIXTURE=$ANCHORS/fixture/hush-fixture.db
[[ -x "$HB_BIN" && -f "$FIXTURE" ]] || { echo "build the peer first: (cd $ANCHORS && python3 gen_fixture.py && ./build.sh)" >&2; exit 1; }

echo "building hush (release)" >&2
(cd "$ROOT" && swift build -c release --product hush > "$OUT/build.log" 2>&1) || { tail -20 "$OUT/build.log"; exit 1; }
HUSH=$(cd "$ROOT" && swift build -c release --show-bin-path)/hush
export HUSH_ERASURE_KEY=benchmark-erasure-key-0123456789abcdef

source "$HERE/lib.sh"

# ---- the database, seeded through the API once and kept ----
DB=$DB_DIR/bench.db
if [[ ! -f "$DB" ]]; then
    echo "seeding $DB through the API (1,000,000 profiles, 200,000 suppressions, 50,000 cases)" >&2
    started=$(date +%s)
    "$HUSH" --port "$P_SEED" --threads 2 --database "$DB.tmp" > "$OUT/seed-hush.log" 2>&1 &
    seed_pid=$!; PIDS+=($seed_pid)
    wait_ready "http://127.0.0.1:$P_SEED/healthz"
    python3 "$HERE/seed.py" "$CUSTOMERS" "$OUT"
    timeout 900 wrk -t1 -c64 -d900s -s "$HERE/seed_profiles.lua" "http://127.0.0.1:$P_SEED" -- "$CUSTOMERS" > "$OUT/seed-profiles.txt" 2>&1 &
    wrk_pid=$!; PIDS+=($wrk_pid)
    last=$(printf 'C%07d' "$CUSTOMERS")
    for _ in $(seq 900); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_SEED/v1/customers/$last") == 200 ]] && break
        sleep 1
    done
    stop "$wrk_pid"
    for kind in suppressions cases; do
        curl -sf -H 'Content-Type: text/csv' --data-binary "@$OUT/$kind.csv" "http://127.0.0.1:$P_SEED/v1/import/$kind" | tee "$OUT/seed-$kind.json"; echo
    done
    count=$(curl -s "http://127.0.0.1:$P_SEED/v1/customers/C1000000" -o /dev/null -w '%{http_code}')
    [[ $count == 200 ]] || { echo "seeding profiles did not finish (C1000000: $count)" >&2; exit 1; }
    stop "$seed_pid"
    mv "$DB.tmp" "$DB"; rm -f "$DB.tmp-wal" "$DB.tmp-shm"; mv "$DB.tmp.erasure-key" "$DB.erasure-key" 2>/dev/null || true
    echo "seeded in $(( $(date +%s) - started )) s" | tee "$OUT/seed-time.txt" >&2
fi

# ---- a copy of the database for each hush: one writer per file (WriteLock) ----
for copy in log nolog accessall; do
    rm -f "$OUT/bench-$copy.db" "$OUT/bench-$copy.db-wal" "$OUT/bench-$copy.db-shm"
    cp "$DB" "$OUT/bench-$copy.db"
done

# ---- the servers, each on SERVER_CPU ----
sed -e "s#@RUN@#$OUT#g" -e "s#@PORT@#$P_NGINX#g" "$HERE/nginx.conf.in" > "$OUT/nginx.conf"
taskset -c "$SERVER_CPU" nginx -p "$OUT" -c "$OUT/nginx.conf" -e "$OUT/error.log" > "$OUT/nginx.log" 2>&1 &
PIDS+=($!); NGINX_PID=$!
taskset -c "$SERVER_CPU" "$HB_BIN" --port "$P_HB" --db "$FIXTURE" > "$OUT/hb.log" 2>&1 &
PIDS+=($!); HB_PID=$!
# The log goes to $OUT (not beside the kept database); the second hush keeps none.
printf '{"decision_log": {"directory": "%s"}}\n' "$OUT/decisions" > "$OUT/hush-log.json"
printf '{"decision_log": {"sink": "off"}}\n' > "$OUT/hush-nolog.json"
printf '{"decision_log": {"directory": "%s"}, "log": {"access": "all"}}\n' "$OUT/decisions-accessall" > "$OUT/hush-accessall.json"
taskset -c "$SERVER_CPU" "$HUSH" --config "$OUT/hush-log.json" --port "$P_HUSH" --threads 1 --database "$OUT/bench-log.db" > "$OUT/hush.log" 2>&1 &
PIDS+=($!); HUSH_PID=$!
taskset -c "$SERVER_CPU" "$HUSH" --config "$OUT/hush-nolog.json" --port "$P_NOLOG" --threads 1 --database "$OUT/bench-nolog.db" > "$OUT/hush-nolog.log" 2>&1 &
PIDS+=($!); NOLOG_PID=$!
taskset -c "$SERVER_CPU" "$HUSH" --config "$OUT/hush-accessall.json" --port "$P_ALLACC" --threads 1 --database "$OUT/bench-accessall.db" > "$OUT/hush-accessall.log" 2>&1 &
PIDS+=($!); ALLACC_PID=$!
wait_ready "http://127.0.0.1:$P_ALLACC/healthz"
wait_ready "http://127.0.0.1:$P_NOLOG/healthz"
wait_ready "http://127.0.0.1:$P_NGINX/healthz"
wait_ready "http://127.0.0.1:$P_HB/v1/decision?customer_id=C0000001&channel=email&purpose=marketing"
wait_ready "http://127.0.0.1:$P_HUSH/healthz"
curl -s -H 'Content-Type: application/json' -d '{"customer_id":"C0000001","channel":"email"}' "http://127.0.0.1:$P_HUSH/v1/decisions" > "$OUT/hush.probe.txt"

NGINX_ARGS=("http://127.0.0.1:$P_NGINX/healthz" "$HERE/result.lua")
HB_ARGS=("http://127.0.0.1:$P_HB" "$ANCHORS/decision.lua" "$CUSTOMERS" 42 email)
HUSH_ARGS=("http://127.0.0.1:$P_HUSH" "$HERE/decisions.lua" "$CUSTOMERS" 42 1)
NOLOG_ARGS=("http://127.0.0.1:$P_NOLOG" "$HERE/decisions.lua" "$CUSTOMERS" 42 1)
ALLACC_ARGS=("http://127.0.0.1:$P_ALLACC" "$HERE/decisions.lua" "$CUSTOMERS" 42 1)

echo "warming up" >&2
DUR=$WARM measure nginx "$NGINX_PID" "$CONNS" "$LOAD_CPU" "${NGINX_ARGS[@]}" > /dev/null
DUR=$WARM measure hb "$HB_PID" "$CONNS" "$LOAD_CPU" "${HB_ARGS[@]}" > /dev/null
DUR=$WARM measure hush "$HUSH_PID" "$CONNS" "$LOAD_CPU" "http://127.0.0.1:$P_HUSH" "$HERE/decisions.lua" "$CUSTOMERS" 7 1 > /dev/null
DUR=$WARM measure hush-nolog "$NOLOG_PID" "$CONNS" "$LOAD_CPU" "http://127.0.0.1:$P_NOLOG" "$HERE/decisions.lua" "$CUSTOMERS" 7 1 > /dev/null
DUR=$WARM measure hush-accessall "$ALLACC_PID" "$CONNS" "$LOAD_CPU" "http://127.0.0.1:$P_ALLACC" "$HERE/decisions.lua" "$CUSTOMERS" 7 1 > /dev/null

printf 'run\tserver\trps\tp50_us\tp99_us\tcpu_us\n' > "$OUT/single.tsv"
for run in $(seq "$RUNS"); do
    for target in nginx hb hush nolog accessall; do
        case $target in
            nginx) r=$(measure nginx "$NGINX_PID" "$CONNS" "$LOAD_CPU" "${NGINX_ARGS[@]}") ;;
            hb) r=$(measure hb "$HB_PID" "$CONNS" "$LOAD_CPU" "${HB_ARGS[@]}") ;;
            hush) r=$(measure hush "$HUSH_PID" "$CONNS" "$LOAD_CPU" "${HUSH_ARGS[@]}") ;;
            nolog) r=$(measure hush-nolog "$NOLOG_PID" "$CONNS" "$LOAD_CPU" "${NOLOG_ARGS[@]}") ;;
            accessall) r=$(measure hush-accessall "$ALLACC_PID" "$CONNS" "$LOAD_CPU" "${ALLACC_ARGS[@]}") ;;
        esac
        printf '%s\t%s\t%s\n' "$run" "$target" "$(tr ' ' '\t' <<<"$r")" | tee -a "$OUT/single.tsv" >&2
    done
done

# ---- p99 at half of hush's peak: each connection waits 1 ms between requests ----
peak=$(python3 -c "import csv,statistics; print(int(statistics.median(float(r['rps']) for r in csv.DictReader(open('$OUT/single.tsv'), delimiter='\t') if r['server']=='hush')))")
# wrk cannot hold a rate, so the connection count is calibrated: a short run, then as many
# connections as bring it to half the peak.
half_conns=$(( (peak / 2 + 999) / 1000 ))
probe=$(DUR=3 measure hush-half "$HUSH_PID" "$half_conns" "$LOAD_CPU" "http://127.0.0.1:$P_HUSH" "$HERE/decisions.lua" "$CUSTOMERS" 5 1 1)
half_conns=$(python3 -c "print(max(1, round($half_conns * ($peak / 2) / max(1, ${probe%% *}))))")
half=$(measure hush-half "$HUSH_PID" "$half_conns" "$LOAD_CPU" "http://127.0.0.1:$P_HUSH" "$HERE/decisions.lua" "$CUSTOMERS" 42 1 1)
echo "half $half_conns $half" > "$OUT/half.txt"

# ---- answers per send: strace counts hush's sends during a short run ----
sends="n/a"
if command -v strace > /dev/null; then
    timeout 20 strace -f -c -e trace=sendto,sendmsg,write,writev -o "$OUT/strace.txt" -p "$HUSH_PID" &
    st_pid=$!; sleep 1
    timeout 10 taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d3s -s "$HERE/decisions.lua" "http://127.0.0.1:$P_HUSH" -- "$CUSTOMERS" 9 1 > "$OUT/strace-wrk.txt" 2>&1
    kill -INT "$st_pid" 2>/dev/null || true; wait "$st_pid" 2>/dev/null || true
    requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$OUT/strace-wrk.txt")
    calls=$(awk '$NF ~ /^(sendto|sendmsg|write|writev)$/ {s += $4} END {print s + 0}' "$OUT/strace.txt")
    sends="$calls send calls for $requests answers"
fi
stop "$HUSH_PID"; stop "$NOLOG_PID"; stop "$ALLACC_PID"
# The access log of the single runs at `all` (hundreds of megabytes): its last lines are kept.
tail -n 20 "$OUT/hush-accessall.log" > "$OUT/hush-accessall.log.tail"; rm -f "$OUT/hush-accessall.log"

# ---- the batch on both cores: hush with two loops, wrk on LOAD_CPU; log on and off in turn ----
# Both servers run throughout (the one not measured is idle), and each run measures one, then
# the other: a machine that slows down during the runs slows both alike.
# Each run also reads the CPU time of hush's threads by kind (thread_ticks): what the log costs a
# decision on the event loops and on its own threads, steadier than the throughput's ratio.
printf 'run\tlog\trps\tdecisions_per_s\tp99_us\tloops_ns\twriters_ns\tlog_threads_ns\trest_ns\n' > "$OUT/batch.tsv"
"$HUSH" --config "$OUT/hush-log.json" --port "$P_HUSH" --threads 2 --database "$OUT/bench-log.db" > "$OUT/hush-batch-on.log" 2>&1 &
PIDS+=($!); BATCH_ON_PID=$!
"$HUSH" --config "$OUT/hush-nolog.json" --port "$P_NOLOG" --threads 2 --database "$OUT/bench-nolog.db" > "$OUT/hush-batch-off.log" 2>&1 &
PIDS+=($!); BATCH_OFF_PID=$!
wait_ready "http://127.0.0.1:$P_HUSH/healthz"
wait_ready "http://127.0.0.1:$P_NOLOG/healthz"
for log in on off; do
    pid=$BATCH_ON_PID; port=$P_HUSH; [[ $log == off ]] && { pid=$BATCH_OFF_PID; port=$P_NOLOG; }
    DUR=$WARM measure hush-batch "$pid" 8 "$LOAD_CPU" "http://127.0.0.1:$port" "$HERE/decisions.lua" "$CUSTOMERS" 7 "$BATCH" > /dev/null
done
for run in $(seq "$RUNS"); do
    for log in on off; do
        pid=$BATCH_ON_PID; port=$P_HUSH; [[ $log == off ]] && { pid=$BATCH_OFF_PID; port=$P_NOLOG; }
        read -r l0 w0 g0 r0 <<<"$(thread_ticks "$pid")"
        read -r rps _ p99 _ <<<"$(measure hush-batch "$pid" 8 "$LOAD_CPU" "http://127.0.0.1:$port" "$HERE/decisions.lua" "$CUSTOMERS" 42 "$BATCH")"
        read -r l1 w1 g1 r1 <<<"$(thread_ticks "$pid")"
        ns=$(python3 -c "d = max(1, $rps * $BATCH * $DUR); print('\t'.join(f'{t / $HZ * 1e9 / d:.0f}' for t in ($l1 - $l0, $w1 - $w0, $g1 - $g0, $r1 - $r0)))")
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$log" "$rps" "$((rps * BATCH))" "$p99" "$ns" | tee -a "$OUT/batch.tsv" >&2
    done
done
stop "$BATCH_ON_PID"; stop "$BATCH_OFF_PID"

# ---- the log's bytes per decision once closed: a start indexes what the runs left open ----
"$HUSH" --config "$OUT/hush-log.json" --port "$P_HUSH" --threads 1 --database "$OUT/bench-log.db" > "$OUT/hush-close.log" 2>&1 &
PIDS+=($!); CLOSE_PID=$!
wait_ready "http://127.0.0.1:$P_HUSH/healthz"
for _ in $(seq 600); do
    (( $(find "$OUT/decisions" -name '*.idx' | wc -l) >= $(find "$OUT/decisions" -name '*.ndjson.zst' | wc -l) )) && break
    sleep 1
done
stop "$CLOSE_PID"
rm -f "$OUT"/bench-*.db "$OUT"/bench-*.db-wal "$OUT"/bench-*.db-shm

python3 - "$OUT" "$BATCH" "$sends" <<'PY'
import csv, statistics, sys
out, batch, sends = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = list(csv.DictReader(open(f"{out}/single.tsv"), delimiter="\t"))
med = {}
for name in ("nginx", "hb", "hush", "nolog", "accessall"):
    r = [x for x in rows if x["server"] == name]
    med[name] = {k: statistics.median(float(x[k]) for x in r) for k in ("rps", "p50_us", "p99_us", "cpu_us")}
    lo, hi = min(float(x["rps"]) for x in r), max(float(x["rps"]) for x in r)
    m = med[name]
    label = {"nginx": "nginx return 200", "hb": "Hummingbird peer", "hush": "hush POST /v1/decisions",
             "nolog": "hush, decision log off", "accessall": "hush, access log all"}[name]
    print(f"{label:26} {m['rps']:>9,.0f} req/s (min {lo:,.0f}, max {hi:,.0f})  p50 {m['p50_us']:.0f} us  p99 {m['p99_us']:.0f} us  "
          f"server CPU {m['cpu_us']:.1f} us/request")
pairs = lambda a: [float(x["rps"]) for x in rows if x["server"] == a]
print(f"hush / nginx: {med['hush']['rps'] / med['nginx']['rps']:.2f} (per run: {', '.join(f'{h / n:.2f}' for h, n in zip(pairs('hush'), pairs('nginx')))}); goal 0.6")
print(f"hush / Hummingbird: {med['hush']['rps'] / med['hb']['rps']:.2f} (per run: {', '.join(f'{h / n:.2f}' for h, n in zip(pairs('hush'), pairs('hb')))}); goal 2.5")
half = open(f"{out}/half.txt").read().split()
print(f"hush at about half its peak ({half[1]} connections, 1 ms apart): {float(half[2]):,.0f} req/s "
      f"({float(half[2]) / med['hush']['rps']:.2f} of the peak), p50 {half[3]} us, p99 {half[4]} us; goal p99 < 2000 us")
single_runs = [h / n for h, n in zip(pairs('hush'), pairs('nolog'))]
print(f"decision log on / off, single: {med['hush']['rps'] / med['nolog']['rps']:.2f} "
      f"(per run: {', '.join(f'{r:.2f}' for r in single_runs)}, median {statistics.median(single_runs):.2f}); goal 0.9")
access_runs = [a / h for a, h in zip(pairs('accessall'), pairs('hush'))]
print(f"access log all / as it comes (1% of successful decisions), single: {med['accessall']['rps'] / med['hush']['rps']:.2f} "
      f"(per run: {', '.join(f'{r:.2f}' for r in access_runs)}, median {statistics.median(access_runs):.2f}); goal 0.9 of off")
b = list(csv.DictReader(open(f"{out}/batch.tsv"), delimiter="\t"))
dm = {}
for log in ("on", "off"):
    runs = [x["decisions_per_s"] for x in b if x["log"] == log]
    dm[log] = statistics.median(float(x) for x in runs)
    print(f"batch of {batch} on both cores, log {log}: {dm[log]:,.0f} decisions/s median (runs: {', '.join(runs)}); goal 300,000")
per_run = [float(x["decisions_per_s"]) / float(y["decisions_per_s"]) for x, y in
           zip([x for x in b if x["log"] == "on"], [x for x in b if x["log"] == "off"])]
print(f"decision log on / off, batch: {dm['on'] / dm['off']:.2f} (per run: {', '.join(f'{r:.2f}' for r in per_run)}, "
      f"median {statistics.median(per_run):.2f}); goal 0.85")
kinds = ("loops_ns", "writers_ns", "log_threads_ns", "rest_ns")
cpu = {log: {k: statistics.median(float(x[k]) for x in b if x["log"] == log) for k in kinds} for log in ("on", "off")}
total = {log: sum(cpu[log].values()) for log in cpu}
print(f"batch, hush's CPU a decision (medians, ns; on / off): event loops {cpu['on']['loops_ns']:.0f} / {cpu['off']['loops_ns']:.0f}, "
      f"log writers {cpu['on']['writers_ns']:.0f} / {cpu['off']['writers_ns']:.0f}, the log's sync and maintenance "
      f"{cpu['on']['log_threads_ns']:.0f} / {cpu['off']['log_threads_ns']:.0f}, other threads {cpu['on']['rest_ns']:.0f} / "
      f"{cpu['off']['rest_ns']:.0f}; in all {total['on']:.0f} / {total['off']:.0f}: the log {total['on'] - total['off']:.0f} ns a decision, "
      f"off / on {total['off'] / total['on']:.2f}")
import glob, os, subprocess
zst = glob.glob(f"{out}/decisions/*.ndjson.zst"); idx = glob.glob(f"{out}/decisions/*.idx")
lines = raw = 0
for f in zst:
    with subprocess.Popen(["zstd", "-dc", f], stdout=subprocess.PIPE) as p:
        for l in p.stdout: lines += 1; raw += len(l)
zst_bytes, idx_bytes = sum(os.path.getsize(f) for f in zst), sum(os.path.getsize(f) for f in idx)
if lines:
    print(f"decision log: {lines:,} decisions in {len(zst)} closed segments: {raw / lines:.0f} bytes a line as written, "
          f"{zst_bytes / lines:.1f} compressed, {idx_bytes / lines:.1f} of index: {(zst_bytes + idx_bytes) / lines:.1f} bytes a decision on disk; goal 80")
print(f"sends: {sends}")
PY
echo "raw results: $OUT" >&2
