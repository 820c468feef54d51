#!/usr/bin/env python3
"""Import files for Benchmarks/import/import.sh: ROWS suppressions, by customer id and by
address (phone numbers), as CSV and NDJSON; and the same by-customer rows as whole table rows
for the sqlite3 shell and PostgreSQL's COPY (every column of `suppressions`, empty for NULL).

usage: gen.py DIR ROWS
"""
import hashlib, json, os, sys

out, rows = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
created = 1796278474119


def customer(i):
    return f"C{i:08d}"


def phone(i):
    return f"+4477{i:08d}"


with open(f"{out}/customers.csv", "w") as f:
    f.write("customer_id,kind,channels,source\n")
    for i in range(rows):
        f.write(f"{customer(i)},opt_out,email;sms,registry\n")
with open(f"{out}/customers.ndjson", "w") as f:
    for i in range(rows):
        f.write(json.dumps({"customer_id": customer(i), "kind": "opt_out", "channels": ["email", "sms"], "source": "registry"},
                           separators=(",", ":")) + "\n")
with open(f"{out}/phones.csv", "w") as f:
    f.write("address,kind,source\n")
    for i in range(rows):
        f.write(f"{phone(i)},do_not_contact,registry\n")
with open(f"{out}/phones.ndjson", "w") as f:
    for i in range(rows):
        f.write(json.dumps({"address": phone(i), "kind": "do_not_contact", "source": "registry"}, separators=(",", ":")) + "\n")
# Whole rows: id, customer_id, address, address_kind, kind, channels, purposes, source, confirmed, expires_at, created_at
with open(f"{out}/table-customers.csv", "w") as f:
    for i in range(rows):
        ident = hashlib.md5(customer(i).encode()).hexdigest()
        f.write(f"{ident},{customer(i)},,,opt_out,email\x1fsms,,registry,1,,{created}\n")
