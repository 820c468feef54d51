# Shared by the benchmark scripts (sourced): the servers they start, and wrk runs measured
# with the server's CPU time. Expects OUT and DUR to be set by the script.

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
wait_ready() { # url: up to 20 s
    for _ in $(seq 200); do curl -s -o /dev/null --max-time 1 "$1" && return 0; sleep 0.1; done
    echo "no answer from $1" >&2; return 1
}

HZ=$(getconf CLK_TCK)
cpu_ticks() { local sum=0 p; for p in $1 $(ps -o pid= --ppid "$1" 2>/dev/null); do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$sum"; }
# thread_ticks PID -> "loops writers log_threads rest": the CPU ticks (user and system) of a hush
# process's threads by kind: its event loops, the log writers' threads (the decision log's and
# the access log's, both named hush-log-writer), the decision log's other threads (sync and
# maintenance), and the rest.
thread_ticks() {
    local loops=0 writers=0 log=0 rest=0 t name ticks
    for t in /proc/"$1"/task/*; do
        name=$(cat "$t/comm" 2>/dev/null) || continue
        ticks=$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null) || continue
        [[ -n "$ticks" ]] || continue
        case $name in
            hush-loop-*) loops=$((loops + ticks)) ;;
            hush-log-writer) writers=$((writers + ticks)) ;;
            hush-log-*) log=$((log + ticks)) ;;
            *) rest=$((rest + ticks)) ;;
        esac
    done
    echo "$loops $writers $log $rest"
}
# measure NAME PID CONNS CPU_SET URL SCRIPT ARGS... -> "rps p50 p99 cpu_us_per_request"
measure() {
    local name=$1 pid=$2 conns=$3 cpus=$4 url=$5 script=$6; shift 6
    local log="$OUT/$name.c$conns.$RANDOM.txt" t0 t1 line rps
    t0=$(cpu_ticks "$pid")
    timeout $((DUR + 30)) taskset -c "$cpus" wrk -t1 -c"$conns" -d"${DUR}s" --timeout 5s --latency -s "$script" "$url" -- "$@" > "$log" 2>&1
    t1=$(cpu_ticks "$pid")
    line=$(grep '^RESULT' "$log")
    if grep -q 'non2xx=[1-9]\|errors=[1-9]\|errors_status=[1-9]' <<<"$line"; then echo "errors in $log: $line" >&2; exit 1; fi
    rps=$(sed -n 's/.*rps=\([0-9]*\).*/\1/p' <<<"$line")
    echo "$rps $(sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' <<<"$line") $(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$line") $(python3 -c "print(f'{($t1 - $t0) / $HZ * 1e6 / max(1, $rps * $DUR):.2f}')")"
}
