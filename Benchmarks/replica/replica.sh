#!/usr/bin/env bash
# hush on PostgreSQL, measured (README, "Beyond one machine"): a primary with a synchronous
# standby on loopback, loaded with the database Benchmarks/http/decisions.sh seeds (1,000,000
# customers); then, in one run:
#   - the load itself (COPY of every table), and a new node's snapshot of it;
#   - facts for one decision from a node's image against straight from PostgreSQL (in-process);
#   - write latency one at a time, and at 500 and at RATE writes/s the write latency and the
#     replication lag from commit on the primary to another node's image (in-process, a
#     database of its own); and the lag of a node following RATE transactions/s that pgbench
#     commits on the primary by itself (what the image keeps up with, without hush's writes
#     competing for this machine's cores);
#   - POST /v1/decisions under wrk on a node over PostgreSQL and on the embedded store, the same
#     data, the same pinning as decisions.sh (server on SERVER_CPU with one loop, wrk on LOAD_CPU),
#     alternating, RUNS times;
#   - the fail-closed gap at a failover: the primary killed, the standby promoted, the time the
#     node answers 503 until it is ready again (it loads its image from a new slot).
#
# usage: Benchmarks/replica/replica.sh     (needs postgresql, wrk; the seeded database from
#        Benchmarks/http/decisions.sh in DB_DIR)
# env:   RUNS=5 DUR=10 WARM=3 CONNS=64 RATE=2000 SERVER_CPU=1 LOAD_CPU=0 BASE_PORT=23300
#        DB_DIR=.build-bench/http OUT=<dir>
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=${RUNS:-5}; DUR=${DUR:-10}; WARM=${WARM:-3}; CONNS=${CONNS:-64}; RATE=${RATE:-2000}
SERVER_CPU=${SERVER_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}
BASE_PORT=${BASE_PORT:-23300}; P_PRIMARY=$BASE_PORT; P_STANDBY=$((BASE_PORT + 1)); P_SQLITE=$((BASE_PORT + 2)); P_NODE=$((BASE_PORT + 3))
DB_DIR=${DB_DIR:-$ROOT/.build-bench/http}
OUT=${OUT:-$(mktemp -d /tmp/hush-bench-replica.XXXXXX)}
CUSTOMERS=1000000
DB=$DB_DIR/bench.db
mkdir -p "$OUT"
for tool in wrk taskset curl python3; do command -v "$tool" > /dev/null || { echo "missing $tool" >&2; exit 1; }; done
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$PGBIN/initdb" ]] || { echo "PostgreSQL is not installed: apt-get install postgresql" >&2; exit 1; }
[[ -f "$DB" ]] || { echo "no seeded database at $DB: run Benchmarks/http/decisions.sh first" >&2; exit 1; }
source "$ROOT/Benchmarks/http/lib.sh"

echo "building hush and replica-bench (release)" >&2
(cd "$ROOT" && swift build -c release --product hush > "$OUT/build.log" 2>&1) || { tail -20 "$OUT/build.log"; exit 1; }
(cd "$ROOT/Benchmarks" && swift build -c release --product replica-bench >> "$OUT/build.log" 2>&1) || { tail -20 "$OUT/build.log"; exit 1; }
HUSH=$(cd "$ROOT" && swift build -c release --show-bin-path)/hush
BENCH=$(cd "$ROOT/Benchmarks" && swift build -c release --show-bin-path)/replica-bench
export HUSH_ERASURE_KEY=benchmark-erasure-key-0123456789abcdef

# ---- PostgreSQL: a primary and a synchronous standby, as the postgres user when run as root ----
PG=$OUT/pg; mkdir -p "$PG"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[[ $(id -u) == 0 ]] && chown postgres "$PG"
SETTINGS="-c wal_level=logical -c max_wal_senders=20 -c max_replication_slots=20 -c wal_recycle=off"
pg_start() { as_pg "$PGBIN/pg_ctl" -D "$PG/$1" -l "$PG/$1.log" -o "-p $2 -c listen_addresses=127.0.0.1 -k $PG $SETTINGS" -w -t 120 start > /dev/null; }
as_pg "$PGBIN/initdb" -D "$PG/primary" -U hush -A trust -E UTF8 --locale=C > "$OUT/initdb.log"
# In postgresql.auto.conf (copied to the standby), so that ALTER SYSTEM can change it later.
echo "synchronous_standby_names = 'ANY 1 (standby1)'" | as_pg tee -a "$PG/primary/postgresql.auto.conf" > /dev/null
pg_start primary "$P_PRIMARY"
as_pg "$PGBIN/pg_basebackup" -d "host=127.0.0.1 port=$P_PRIMARY user=hush application_name=standby1" -D "$PG/standby" -R -X stream
pg_start standby "$P_STANDBY"
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$PG/$1" -m immediate -w stop > /dev/null 2>&1 || true; }
trap 'cleanup; pg_stop primary; pg_stop standby' EXIT
url() { echo "postgresql://hush@127.0.0.1:$P_PRIMARY,127.0.0.1:$P_STANDBY/$1?target_session_attrs=read-write"; }
"$PGBIN/psql" -X -q -d "$(url postgres)" -c "CREATE DATABASE hush" -c "CREATE DATABASE hushw"

printf '{"store": {"kind": "postgres", "postgres": {"url": "%s", "slot": "bench_node"}}, "decision_log": {"directory": "%s"}}\n' \
    "$(url hush)" "$OUT/decisions-pg" > "$OUT/hush-pg.json"
"$HUSH" migrate --config "$OUT/hush-pg.json" | tee "$OUT/migrate.txt" >&2
echo "loading $DB into PostgreSQL" >&2
python3 "$HERE/load_pg.py" "$DB" "$PGBIN/psql" "$(url hush)" 2>&1 | tee "$OUT/load.txt" >&2
"$PGBIN/psql" -X -q -d "$(url hush)" -c "VACUUM ANALYZE"

# ---- a new node's snapshot, then reads from it and from PostgreSQL; then writes ----
mkdir -p "$OUT/node"
"$BENCH" snapshot --url "$(url hush)" --image "$OUT/node/hush.db" | tee "$OUT/snapshot.txt" >&2
taskset -c "$SERVER_CPU" "$BENCH" reads --url "$(url hush)" --image "$OUT/node/hush.db" --runs "$RUNS" --seconds "$DUR" | tee "$OUT/reads.txt" >&2
"$BENCH" writes --url "$(url hushw)" --rate 500 --seconds "$DUR" | tee "$OUT/writes.txt" >&2
"$BENCH" writes --url "$(url hushw)" --rate "$RATE" --seconds "$DUR" --count 200 | tee -a "$OUT/writes.txt" >&2
"$BENCH" follow --url "$(url hushw)" --load "$PGBIN/pgbench -n -f $HERE/contact.sql -c 8 -j 2 -R $RATE -T $DUR '$(url hushw)' > $OUT/pgbench.txt 2>&1" \
    | tee -a "$OUT/writes.txt" >&2

# ---- decisions over HTTP: a node over PostgreSQL (the image just loaded, its slot resumed) and
#      the embedded store on a copy of the same database, alternating ----
sed -i 's/"slot": "bench_node"/"slot": "bench_snapshot"/' "$OUT/hush-pg.json"
rm -f "$OUT/sqlite.db" "$OUT/sqlite.db-wal" "$OUT/sqlite.db-shm"; cp "$DB" "$OUT/sqlite.db"
printf '{"decision_log": {"directory": "%s"}}\n' "$OUT/decisions-sqlite" > "$OUT/hush-sqlite.json"
taskset -c "$SERVER_CPU" "$HUSH" --config "$OUT/hush-sqlite.json" --port "$P_SQLITE" --threads 1 --database "$OUT/sqlite.db" > "$OUT/hush-sqlite.log" 2>&1 &
PIDS+=($!); SQLITE_PID=$!
taskset -c "$SERVER_CPU" "$HUSH" --config "$OUT/hush-pg.json" --port "$P_NODE" --threads 1 --database "$OUT/node/hush.db" > "$OUT/hush-pg.log" 2>&1 &
PIDS+=($!); NODE_PID=$!
wait_ready "http://127.0.0.1:$P_SQLITE/healthz"
for _ in $(seq 600); do [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_NODE/readyz") == 200 ]] && break; sleep 0.1; done
DUR=$WARM measure sqlite "$SQLITE_PID" "$CONNS" "$LOAD_CPU" "http://127.0.0.1:$P_SQLITE" "$ROOT/Benchmarks/http/decisions.lua" "$CUSTOMERS" 7 1 > /dev/null
DUR=$WARM measure postgres "$NODE_PID" "$CONNS" "$LOAD_CPU" "http://127.0.0.1:$P_NODE" "$ROOT/Benchmarks/http/decisions.lua" "$CUSTOMERS" 7 1 > /dev/null
printf 'run\tstore\trps\tp50_us\tp99_us\tcpu_us\n' > "$OUT/single.tsv"
for run in $(seq "$RUNS"); do
    for store in sqlite postgres; do
        pid=$SQLITE_PID; port=$P_SQLITE; [[ $store == postgres ]] && { pid=$NODE_PID; port=$P_NODE; }
        r=$(measure "$store" "$pid" "$CONNS" "$LOAD_CPU" "http://127.0.0.1:$port" "$ROOT/Benchmarks/http/decisions.lua" "$CUSTOMERS" 42 1)
        printf '%s\t%s\t%s\n' "$run" "$store" "$(tr ' ' '\t' <<<"$r")" | tee -a "$OUT/single.tsv" >&2
    done
done
stop "$SQLITE_PID"

# ---- the fail-closed gap: the primary dies, the standby is promoted ----
python3 - "$P_NODE" > "$OUT/failover-probe.txt" <<'PY' &
import sys, time, urllib.request, urllib.error
port = sys.argv[1]
start = time.time(); first_503 = None; end = start + 900
while time.time() < end:
    try:
        code = urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).status
    except urllib.error.HTTPError as e:
        code = e.code
    except Exception:
        code = 0
    now = time.time()
    if code != 200 and first_503 is None:
        first_503 = now
    if code == 200 and first_503 is not None:
        print(f"{first_503:.3f} {now:.3f}")
        break
    time.sleep(0.02)
PY
PROBE=$!
sleep 1
killed=$(date +%s.%N)
kill -KILL "$(head -1 "$PG/primary/postmaster.pid")"
as_pg "$PGBIN/pg_ctl" -D "$PG/standby" -w -t 60 promote > /dev/null
# What a failover manager does once the old primary is gone (pg_auto_failover): the new primary
# commits alone until a new standby is attached; otherwise every write would wait for one.
"$PGBIN/psql" -X -q -d "host=127.0.0.1 port=$P_STANDBY user=hush dbname=postgres" -c "ALTER SYSTEM SET synchronous_standby_names = ''" -c "SELECT pg_reload_conf()" > /dev/null
promoted=$(date +%s.%N)
wait "$PROBE" || true
read -r unready ready < "$OUT/failover-probe.txt" || true
python3 - "$OUT" "$RUNS" "$killed" "$promoted" "${unready:-nan}" "${ready:-nan}" <<'PY' | tee "$OUT/summary.txt"
import csv, statistics, sys
out, runs, killed, promoted, unready, ready = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
rows = list(csv.DictReader(open(f"{out}/single.tsv"), delimiter="\t"))
med = {s: statistics.median(float(r["rps"]) for r in rows if r["store"] == s) for s in ("sqlite", "postgres")}
p99 = {s: statistics.median(float(r["p99_us"]) for r in rows if r["store"] == s) for s in ("sqlite", "postgres")}
print(f"decisions/s, median of {runs}: embedded {med['sqlite']:.0f}, node over PostgreSQL {med['postgres']:.0f}: ratio {med['postgres'] / med['sqlite']:.2f}")
print(f"p99: embedded {p99['sqlite']:.0f} us, node over PostgreSQL {p99['postgres']:.0f} us")
for name in ("load", "snapshot", "reads", "writes"):
    for line in open(f"{out}/{name}.txt"):
        if line.startswith(("loaded", "snapshot:", "reads:", "writes one", "at ", "follow:")):
            print(line.rstrip())
print(f"failover: promoted (and made to commit alone) {promoted - killed:.1f} s after the kill; the node unready from {unready - killed:.1f} s after it "
      f"to {ready - killed:.1f} s (fail-closed gap {ready - unready:.1f} s, most of it loading its image from a new slot)")
PY
