#!/usr/bin/env bash
# /healthz under wrk: hush (release build, one event loop) against nginx (one worker), each
# pinned to the same core, wrk pinned to the other, in the same run. Prints requests/s with
# 64 keep-alive connections, latency with one connection, medians over RUNS, and the ratio.
#
# usage: Benchmarks/http/run.sh            (needs: apt-get install wrk nginx-light)
# env:   RUNS=5 DUR=10 WARM=3 CONNS=64 SERVER_CPU=1 LOAD_CPU=0 BASE_PORT=23190 OUT=<dir>
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=${RUNS:-5}; DUR=${DUR:-10}; WARM=${WARM:-3}; CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}
BASE_PORT=${BASE_PORT:-23190}; P_NGINX=$BASE_PORT; P_HUSH=$((BASE_PORT + 1))
OUT=${OUT:-$(mktemp -d /tmp/hush-bench-http.XXXXXX)}
mkdir -p "$OUT"
for tool in wrk nginx taskset; do
    command -v "$tool" > /dev/null || { echo "missing $tool: apt-get install wrk nginx-light util-linux" >&2; exit 1; }
done

echo "building hush (release)" >&2
(cd "$ROOT" && swift build -c release --product hush > "$OUT/build.log" 2>&1) || { tail -20 "$OUT/build.log"; exit 1; }
HUSH=$(cd "$ROOT" && swift build -c release --show-bin-path)/hush

PIDS=()
declare -A SERVER_PID
cleanup() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_ready() { # port: up to 20 s
    for _ in $(seq 200); do curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$1/healthz" && return 0; sleep 0.1; done
    echo "server on port $1 did not answer" >&2; return 1
}

sed -e "s#@RUN@#$OUT#g" -e "s#@PORT@#$P_NGINX#g" "$HERE/nginx.conf.in" > "$OUT/nginx.conf"
taskset -c "$SERVER_CPU" nginx -p "$OUT" -c "$OUT/nginx.conf" -e "$OUT/error.log" > "$OUT/nginx.log" 2>&1 &
PIDS+=($!); SERVER_PID[nginx]=$!
taskset -c "$SERVER_CPU" "$HUSH" --port "$P_HUSH" --threads 1 --database "$OUT/hush.db" > "$OUT/hush.log" 2>&1 &
PIDS+=($!); SERVER_PID[hush]=$!
wait_ready "$P_NGINX"; wait_ready "$P_HUSH"

HZ=$(getconf CLK_TCK)
cpu_ticks() { # pid and its children (nginx's worker): user + system ticks
    local sum=0 p
    for p in $1 $(ps -o pid= --ppid "$1" 2>/dev/null); do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
    echo "$sum"
}
measure() { # name port conns -> "rps p50 p99 cpu_us_per_request"
    local log="$OUT/$1.c$3.$RANDOM.txt"
    local t0; t0=$(cpu_ticks "${SERVER_PID[$1]}")
    timeout $((DUR + 30)) taskset -c "$LOAD_CPU" wrk -t1 -c"$3" -d"${DUR}s" --timeout 5s --latency \
        -s "$HERE/result.lua" "http://127.0.0.1:$2/healthz" > "$log" 2>&1
    local line; line=$(grep '^RESULT' "$log")
    [[ $(sed -n 's/.*errors=\([0-9]*\) non2xx=\([0-9]*\).*/\1\2/p' <<<"$line") == "00" ]] || { echo "errors in $log" >&2; exit 1; }
    local t1; t1=$(cpu_ticks "${SERVER_PID[$1]}")
    local rps; rps=$(sed -n 's/.*rps=\([0-9]*\).*/\1/p' <<<"$line")
    local cpu_us; cpu_us=$(python3 -c "print(f'{($t1 - $t0) / $HZ * 1e6 / ($rps * $DUR):.2f}')")
    echo "$(sed -n 's/.*rps=\([0-9]*\) p50_us=\([0-9]*\) p99_us=\([0-9]*\).*/\1 \2 \3/p' <<<"$line") $cpu_us"
}

for target in nginx:$P_NGINX hush:$P_HUSH; do # warm-up, not measured
    timeout $((WARM + 30)) taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${WARM}s" "http://127.0.0.1:${target#*:}/healthz" > /dev/null
done

printf 'run\tserver\tc%s_rps\tc%s_cpu_us\tc1_rps\tc1_p50_us\tc1_p99_us\n' "$CONNS" "$CONNS" | tee "$OUT/results.tsv"
for run in $(seq "$RUNS"); do
    for target in nginx:$P_NGINX hush:$P_HUSH; do
        name=${target%%:*}; port=${target#*:}
        read -r rps _ _ cpu <<<"$(measure "$name" "$port" "$CONNS")"
        read -r rps1 p50 p99 _ <<<"$(measure "$name" "$port" 1)"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$name" "$rps" "$cpu" "$rps1" "$p50" "$p99" | tee -a "$OUT/results.tsv"
    done
done

python3 - "$OUT/results.tsv" "$CONNS" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
c = sys.argv[2]
med = {}
for name in ("nginx", "hush"):
    r = [x for x in rows if x["server"] == name]
    med[name] = {k: statistics.median(float(x[k]) for x in r) for k in (f"c{c}_rps", f"c{c}_cpu_us", "c1_rps", "c1_p50_us", "c1_p99_us")}
    lo, hi = min(float(x[f"c{c}_rps"]) for x in r), max(float(x[f"c{c}_rps"]) for x in r)
    m = med[name]
    print(f"{name:6} c{c}: {m[f'c{c}_rps']:>9,.0f} req/s (min {lo:,.0f}, max {hi:,.0f}), {m[f'c{c}_cpu_us']:.1f} us server CPU per request   "
          f"c1: {m['c1_rps']:>7,.0f} req/s, p50 {m['c1_p50_us']:.0f} us, p99 {m['c1_p99_us']:.0f} us")
ratios = [float(h[f"c{c}_rps"]) / float(n[f"c{c}_rps"]) for n, h in zip(
    [x for x in rows if x["server"] == "nginx"], [x for x in rows if x["server"] == "hush"])]
print(f"hush / nginx at c{c}: median of per-run ratios {statistics.median(ratios):.2f} "
      f"(runs: {', '.join(f'{r:.2f}' for r in ratios)}); ratio of medians {med['hush'][f'c{c}_rps'] / med['nginx'][f'c{c}_rps']:.2f}")
print(f"server CPU per request at c{c}: nginx {med['nginx'][f'c{c}_cpu_us']:.1f} us, hush {med['hush'][f'c{c}_cpu_us']:.1f} us")
PY
echo "raw results: $OUT" >&2
