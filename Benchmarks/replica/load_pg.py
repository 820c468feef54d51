#!/usr/bin/env python3
"""Copies the facts of a hush SQLite database into hush's PostgreSQL schema (already migrated),
table by table through COPY: the benchmark's PostgreSQL holds what its SQLite store holds.

usage: load_pg.py SQLITE_DB PSQL_BIN CONNINFO
"""
import sqlite3
import subprocess
import sys
import time

# Columns both schemas share; contacts', interactions' and history's keys are PostgreSQL's own.
TABLES = {
    "profiles": ["customer_id", "region", "timezone", "email", "phone", "updated_at"],
    "cases": ["case_id", "customer_id", "severity", "status", "opened_at", "closed_at", "resolution", "updated_at"],
    "suppressions": ["id", "customer_id", "address", "address_kind", "kind", "channels", "purposes", "source", "confirmed",
                     "expires_at", "created_at"],
    "holds": ["id", "title", "reason", "regions", "channels", "purposes", "categories", "starts_at", "ends_at", "updated_at"],
    "contacts": ["customer_id", "channel", "purpose", "at", "campaign_id"],
    "interactions": ["customer_id", "type", "score", "at"],
    "tombstones": ["hash"],
    "history": ["record_kind", "record_id", "customer_id", "address", "at", "actor", "via", "operation", "before", "after"],
}


def text_field(value, column):
    """One value in COPY's text format: \\N for NULL, backslash escapes for the rest."""
    if value is None:
        return "\\N"
    if column == "confirmed":
        return "t" if value else "f"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main():
    source, psql, conninfo = sys.argv[1:4]
    db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    total = 0
    started = time.time()
    for table, columns in TABLES.items():
        copy = subprocess.Popen([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c",
                                 f"COPY {table} ({', '.join(columns)}) FROM STDIN"], stdin=subprocess.PIPE)
        rows = 0
        buffer = []
        for row in db.execute(f"SELECT {', '.join(columns)} FROM {table}"):
            buffer.append("\t".join(text_field(v, c) for v, c in zip(row, columns)) + "\n")
            rows += 1
            if len(buffer) >= 10000:
                copy.stdin.write("".join(buffer).encode())
                buffer.clear()
        copy.stdin.write("".join(buffer).encode())
        copy.stdin.close()
        if copy.wait() != 0:
            sys.exit(f"COPY {table} failed")
        print(f"{table}: {rows} rows", file=sys.stderr)
        total += rows
    print(f"loaded {total} rows in {time.time() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
