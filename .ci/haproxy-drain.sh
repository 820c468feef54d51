#!/usr/bin/env bash
# A real load balancer in front of two hush instances. haproxy health-checks /readyz every
# 100 ms and retries nothing; wrk sends decisions through it on 32 keep-alive connections.
# 3 s into an 8 s run, one instance gets SIGTERM. Not one request may fail, the stopped
# instance must exit 0 after its drain, and once restarted on its port it must get traffic
# again. Exits non-zero, saying why, on any failure.
#
# usage: .ci/haproxy-drain.sh [hush binary, default .build/debug/hush]   (needs haproxy, wrk, curl)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HUSH=${1:-$ROOT/.build/debug/hush}
for tool in haproxy wrk curl python3; do
    command -v "$tool" > /dev/null || { echo "haproxy-drain: missing $tool (apt-get install haproxy wrk curl)" >&2; exit 1; }
done
DIR=$(mktemp -d /tmp/hush-haproxy.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "haproxy-drain: FAIL: $*" >&2; for f in "$DIR"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }

read -r P_A P_B P_LB < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

# Each instance: its own database, a grace of 1 s (ten health checks), the log beside it.
printf '{"server": {"drain_grace_ms": 1000, "threads": 1}}\n' > "$DIR/hush.json"
start_hush() { # name port -> pid in HUSH_PID
    "$HUSH" --config "$DIR/hush.json" --port "$2" --database "$DIR/$1.db" >> "$DIR/$1.log" 2>&1 &
    HUSH_PID=$!
    PIDS+=("$HUSH_PID")
    for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$2/readyz" && return 0; sleep 0.1; done
    fail "$1 did not become ready on port $2"
}
start_hush a "$P_A"; A_PID=$HUSH_PID
start_hush b "$P_B"

cat > "$DIR/haproxy.cfg" <<EOF
global
    maxconn 256
defaults
    mode http
    retries 0
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend decisions
    bind 127.0.0.1:$P_LB
    default_backend hush
backend hush
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 100ms fall 2 rise 2
    server a 127.0.0.1:$P_A check
    server b 127.0.0.1:$P_B check
EOF
haproxy -f "$DIR/haproxy.cfg" -db > "$DIR/haproxy.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{"customer_id":"C1","channel":"email"}' \
    "http://127.0.0.1:$P_LB/v1/decisions" && break; sleep 0.1; done

decisions_of() { # port -> allow + suppress so far
    curl -sf "http://127.0.0.1:$1/metrics" | awk '/^hush_decisions_total/ { n += $2 } END { print n + 0 }'
}
sleep 0.5 # both servers seen up by haproxy (rise 2)

# The run: SIGTERM to a, 3 s into 8 s of decisions.
wrk -t1 -c32 -d8s --timeout 5s -s "$ROOT/Benchmarks/http/decisions.lua" "http://127.0.0.1:$P_LB" -- 1000 42 1 > "$DIR/wrk.txt" 2>&1 &
WRK_PID=$!
PIDS+=("$WRK_PID")
sleep 3
before_a=$(decisions_of "$P_A")
kill -TERM "$A_PID"
status=0
wait "$A_PID" || status=$?
[[ $status -eq 0 ]] || fail "a exited $status after SIGTERM"
wait "$WRK_PID" || fail "wrk failed: $(cat "$DIR/wrk.txt")"
result=$(grep '^RESULT' "$DIR/wrk.txt") || fail "no result from wrk: $(cat "$DIR/wrk.txt")"
echo "haproxy-drain: through haproxy while a drained: $result"
[[ $before_a -gt 0 ]] || fail "a answered no decisions before its SIGTERM"
requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<< "$result")
[[ $requests -gt 1000 ]] || fail "only $requests requests went through"
grep -q ' errors=0 non2xx=0$' <<< "$result" || fail "requests failed: $result"
grep -q 'draining' "$DIR/a.log" || fail "a did not say it was draining"

# Restarted on its port, a gets traffic again once haproxy sees it ready.
start_hush a "$P_A"
for _ in $(seq 50); do
    curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{"customer_id":"C2","channel":"sms"}' "http://127.0.0.1:$P_LB/v1/decisions" \
        || fail "a decision through haproxy failed after the restart"
    [[ $(decisions_of "$P_A") -gt 0 ]] && { echo "haproxy-drain: ok (a restarted and answered through haproxy again)"; exit 0; }
    sleep 0.1
done
fail "haproxy sent the restarted instance no decision within 5 s"
