#!/usr/bin/env bash
# Bulk imports measured against the physical limit (README, "Imports at size"): ROWS
# suppressions by customer id and by address (phone numbers), as CSV and as NDJSON, each posted
# whole to POST /v1/import/suppressions of a hush on a fresh database, and ROWS profiles to
# POST /v1/import/customers (a figure of its own); beside them, in the same
# run, the same rows inserted by the sqlite3 shell in one transaction into hush's own schema
# (`.import` into a scratch table, then one INSERT … SELECT into `suppressions`, its four
# indexes and all), and by PostgreSQL's COPY into hush's PostgreSQL schema. Each hush figure is
# set against the shell's for the same rows (by customer id, by phone), and against the shell's
# insert of the same rows with what hush writes beside each in the same transaction (full: a
# history entry each, and a decision record for each customer), the limit for what hush must
# write.
#
# usage: Benchmarks/import/import.sh        (needs sqlite3, curl, python3; postgresql for COPY)
# env:   ROWS=1000000 RUNS=1 PORT=23500 PG_PORT=23510 THREADS=2 OUT=<dir>
#        ROWS=10000000 for the long form (about 2 GB of files in OUT, and as many minutes as
#        the imports take).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ROWS=${ROWS:-1000000}; RUNS=${RUNS:-1}; PORT=${PORT:-23500}; PG_PORT=${PG_PORT:-23510}; THREADS=${THREADS:-2}
OUT=${OUT:-$(mktemp -d /tmp/hush-bench-import.XXXXXX)}
mkdir -p "$OUT"
for tool in sqlite3 curl python3; do command -v "$tool" > /dev/null || { echo "missing $tool" >&2; exit 1; }; done
export HUSH_ERASURE_KEY=benchmark-erasure-key-0123456789abcdef

echo "building hush (release)" >&2
(cd "$ROOT" && swift build -c release --product hush > "$OUT/build.log" 2>&1) || { tail -20 "$OUT/build.log"; exit 1; }
HUSH=$(cd "$ROOT" && swift build -c release --show-bin-path)/hush
echo "writing $ROWS rows of each kind into $OUT/files" >&2
python3 "$HERE/gen.py" "$OUT/files" "$ROWS"

PID=""
PG=""
cleanup() {
    [[ -n "$PID" ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    [[ -n "$PG" ]] && as_pg "$PGBIN/pg_ctl" -D "$PG/data" -m immediate -w stop > /dev/null 2>&1 || true
}
trap cleanup EXIT
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
seconds() { python3 -c "import time; print(f'{time.monotonic():.3f}')"; }

printf 'run\twhat\tseconds\trows_per_s\n' > "$OUT/results.tsv"
result() { # run what seconds
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(python3 -c "print(f'{$ROWS / $3:.0f}')")" | tee -a "$OUT/results.tsv" >&2
}

# ---- the sqlite3 shell: the same rows, one transaction, hush's schema ----
shell_import() { # run customers|phones [full]
    local db="$OUT/shell.db" more="" what="sqlite3-shell-$2"
    # full: also what hush writes beside each suppression, in the same transaction: its history
    # entry (the record as JSON, as hush renders it) and, for a customer's suppression, the
    # customer's decision record (86 bytes, what hush makes for one suppression), in key order.
    if [[ ${3:-} == full ]]; then
        what="sqlite3-shell-full-$2"
        more="INSERT INTO history (record_kind, record_id, customer_id, address, at, actor, via, operation, before, after)
    SELECT 'suppression', id, nullif(customer_id, ''), nullif(address, ''), CAST(created_at AS INTEGER), 'anonymous', 'import', 'create', NULL,
        json_object('id', id, iif(customer_id != '', 'customer_id', 'address'), iif(customer_id != '', customer_id, address), 'kind', kind,
            'channels', iif(channels = '', NULL, json_array(channels)), 'purposes', iif(purposes = '', NULL, json_array(purposes)),
            'source', nullif(source, ''), 'confirmed', json(iif(confirmed = '1', 'true', 'false')),
            'expires_at', CAST(nullif(expires_at, '') AS INTEGER))
    FROM staged;
INSERT OR IGNORE INTO customer_records (key, entries) SELECT abs(random()), randomblob(86) FROM staged WHERE customer_id != '' ORDER BY 1;"
    fi
    rm -f "$db" "$db-wal" "$db-shm"
    "$HUSH" migrate --database "$db" > /dev/null
    local t0 t1
    t0=$(seconds)
    sqlite3 "$db" <<SQL
PRAGMA synchronous=FULL;
BEGIN;
CREATE TEMP TABLE staged (id, customer_id, address, address_kind, kind, channels, purposes, source, confirmed, expires_at, created_at);
.mode csv
.import $OUT/files/table-$2.csv staged
INSERT INTO suppressions SELECT id, nullif(customer_id, ''), nullif(address, ''), nullif(address_kind, ''), kind,
    nullif(channels, ''), nullif(purposes, ''), nullif(source, ''), CAST(confirmed AS INTEGER), CAST(nullif(expires_at, '') AS INTEGER),
    CAST(created_at AS INTEGER) FROM staged;
$more
COMMIT;
SQL
    t1=$(seconds)
    [[ $(sqlite3 "$db" "SELECT count(*) FROM suppressions") == "$ROWS" ]] || { echo "the shell's import lost rows" >&2; exit 1; }
    [[ -z $more || $(sqlite3 "$db" "SELECT count(*) FROM history") == "$ROWS" ]] || { echo "the shell's import lost history rows" >&2; exit 1; }
    result "$1" "$what" "$(python3 -c "print(f'{$t1 - $t0:.3f}')")"
}

# ---- PostgreSQL's COPY into hush's PostgreSQL schema ----
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -x "${PGBIN:-}/initdb" ]]; then
    PG=$OUT/pg; mkdir -p "$PG"; [[ $(id -u) == 0 ]] && chown postgres "$PG"
    as_pg "$PGBIN/initdb" -D "$PG/data" -U hush -A trust -E UTF8 --locale=C > "$OUT/initdb.log"
    as_pg "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/log" -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG -c wal_level=logical -c max_wal_senders=10 -c max_replication_slots=10" -w start > /dev/null
    PGURL="postgresql://hush@127.0.0.1:$PG_PORT/postgres"
    printf '{"store": {"kind": "postgres", "postgres": {"url": "%s"}}}\n' "$PGURL" > "$OUT/pg.json"
    "$HUSH" migrate --config "$OUT/pg.json" > /dev/null
    chmod o+r "$OUT/files/table-customers.csv" "$OUT/files/table-phones.csv"
fi
pg_copy() { # run customers|phones
    "$PGBIN/psql" -X -q -d "$PGURL" -c "TRUNCATE suppressions"
    local t0 t1
    t0=$(seconds)
    "$PGBIN/psql" -X -q -d "$PGURL" -c "\\copy suppressions (id, customer_id, address, address_kind, kind, channels, purposes, source, confirmed, expires_at, created_at) FROM '$OUT/files/table-$2.csv' WITH (FORMAT csv)"
    t1=$(seconds)
    result "$1" "postgres-copy-$2" "$(python3 -c "print(f'{$t1 - $t0:.3f}')")"
}

# ---- hush: each file posted whole to a fresh database ----
start_hush() { # dir: a hush on a fresh database in dir, its PID in PID
    rm -rf "$1"; mkdir -p "$1"
    "$HUSH" --port "$PORT" --threads "$THREADS" --database "$1/hush.db" > "$1/hush.log" 2>&1 &
    PID=$!
    for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
}
hush_import() { # run file content-type [endpoint]
    local dir="$OUT/hush-$2" answer t0 t1 endpoint=${4:-suppressions}
    start_hush "$dir"
    t0=$(seconds)
    answer=$(curl -s --max-time 3600 -H "Content-Type: $3" --data-binary "@$OUT/files/$2" "http://127.0.0.1:$PORT/v1/import/$endpoint")
    t1=$(seconds)
    grep -q "\"imported\":$ROWS[,}]" <<<"$answer" || { echo "import of $2 answered: ${answer:0:300}" >&2; exit 1; }
    grep VmHWM "/proc/$PID/status" | awk -v f="$2" '{print "peak RSS of hush importing " f ": " $2 " kB"}' | tee -a "$OUT/rss.txt" >&2
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    result "$1" "hush-$2" "$(python3 -c "print(f'{$t1 - $t0:.3f}')")"
}

# ---- bad input at size: the by-customer file with one bad line after its last ----
bad_last_line() { # run
    local dir="$OUT/hush-bad" answer t0 t1 line=$((ROWS + 2))
    { cat "$OUT/files/customers.csv"; echo "C99999999,opt_in,email,registry"; } > "$OUT/files/bad.csv"
    start_hush "$dir"
    t0=$(seconds)
    answer=$(curl -s --max-time 3600 -H "Content-Type: text/csv" --data-binary "@$OUT/files/bad.csv" "http://127.0.0.1:$PORT/v1/import/suppressions")
    t1=$(seconds)
    grep -q "\"lines\":\[{\"line\":$line,\"field\":\"kind\"" <<<"$answer" || { echo "the bad last line was answered: ${answer:0:300}" >&2; exit 1; }
    local rows
    rows=$(curl -s "http://127.0.0.1:$PORT/v1/suppressions?limit=1")
    [[ $rows == '{"items":[],"next_cursor":null}' ]] || { echo "a refused import left rows: ${rows:0:200}" >&2; exit 1; }
    ls "$dir" | grep -q import- && { echo "a refused import left its stage file" >&2; exit 1; }
    grep VmHWM "/proc/$PID/status" | awk -v n="$line" '{print "peak RSS of hush refusing a file with a bad line " n ": " $2 " kB"}' | tee -a "$OUT/rss.txt" >&2
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    echo "refused whole in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s, naming line $line; nothing written" | tee "$OUT/bad-last-line.txt" >&2
}

# ---- hush over PostgreSQL: one node (its image beside it), each file posted whole ----
hush_pg_import() { # run file content-type
    local dir="$OUT/hush-pg-$2" answer t0 t1
    rm -rf "$dir"; mkdir -p "$dir"
    "$PGBIN/psql" -X -q -d "$PGURL" -c "TRUNCATE suppressions, history"
    "$HUSH" --config "$OUT/pg.json" --port "$PORT" --threads "$THREADS" --database "$dir/image.db" > "$dir/hush.log" 2>&1 &
    PID=$!
    for _ in $(seq 300); do [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz") == 200 ]] && break; sleep 0.1; done
    t0=$(seconds)
    answer=$(curl -s --max-time 3600 -H "Content-Type: $3" --data-binary "@$OUT/files/$2" "http://127.0.0.1:$PORT/v1/import/suppressions")
    t1=$(seconds)
    grep -q "\"imported\":$ROWS[,}]" <<<"$answer" || { echo "import of $2 over PostgreSQL answered: ${answer:0:300}" >&2; exit 1; }
    grep VmHWM "/proc/$PID/status" | awk -v f="$2" '{print "peak RSS of a node importing " f " over PostgreSQL (its image applying the rows): " $2 " kB"}' | tee -a "$OUT/rss.txt" >&2
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    # The node's slot, once its walsender has gone (it goes with the node).
    for _ in $(seq 50); do
        "$PGBIN/psql" -X -q -d "$PGURL" -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" > /dev/null 2>&1 && break
        sleep 0.2
    done
    result "$1" "hush-pg-$2" "$(python3 -c "print(f'{$t1 - $t0:.3f}')")"
}

# Each measurement starts once what the one before left to write has reached the disk: the
# first hush import, after PostgreSQL's COPY, took 22.4 s instead of about 18.5 s without it.
settle() { sync; sleep 1; }
for run in $(seq "$RUNS"); do
    for rows in customers phones; do
        settle; shell_import "$run" "$rows"
        settle; shell_import "$run" "$rows" full
        if [[ -n "$PG" ]]; then settle; pg_copy "$run" "$rows"; fi
    done
    [[ $run == 1 ]] && bad_last_line "$run"
    settle; hush_import "$run" customers.csv text/csv
    settle; hush_import "$run" customers.ndjson application/x-ndjson
    settle; hush_import "$run" phones.csv text/csv
    settle; hush_import "$run" phones.ndjson application/x-ndjson
    if [[ -n "$PG" ]]; then
        settle; hush_pg_import "$run" customers.csv text/csv
        settle; hush_pg_import "$run" phones.csv text/csv
    fi
    settle; hush_import "$run" profiles.csv text/csv customers
    settle; hush_import "$run" profiles.ndjson application/x-ndjson customers
done

python3 - "$OUT" "$ROWS" <<'PY' | tee "$OUT/summary.txt"
import csv, statistics, sys
out, rows = sys.argv[1], int(sys.argv[2])
results = list(csv.DictReader(open(f"{out}/results.tsv"), delimiter="\t"))
med = {}
for r in results:
    med.setdefault(r["what"], []).append(float(r["rows_per_s"]))
med = {k: statistics.median(v) for k, v in med.items()}
print(f"{rows:,} suppressions, rows/s (median of {len([r for r in results if r['what'] == 'sqlite3-shell-customers'])}); "
      "each against the sqlite3 shell's insert of the same rows (hush over PostgreSQL: against COPY), "
      "and against the shell's insert of the rows with their history and records (full):")
for what, rate in med.items():
    if "profiles" in what:
        print(f"  {what:28} {rate:12,.0f}   (profiles)")
        continue
    rows_of = "phones" if "phones" in what else "customers"
    # hush over PostgreSQL against PostgreSQL's own COPY; the rest against the sqlite3 shell.
    if what.startswith("hush-pg-"):
        base, full = med.get("postgres-copy-" + rows_of), None
    else:
        base, full = med["sqlite3-shell-" + rows_of], med.get("sqlite3-shell-full-" + rows_of)
    line = f"  {what:28} {rate:12,.0f}"
    if base and what.startswith("hush"):
        line += f"   {rate / base:5.2f}"
        if full:
            line += f"   full {rate / full:5.2f}"
    print(line)
PY
