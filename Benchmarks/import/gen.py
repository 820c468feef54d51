#!/usr/bin/env python3
"""Import files for Benchmarks/import/import.sh: ROWS profiles (a CRM's nightly sync), and ROWS
suppressions, by customer id and by
address (phone numbers), as CSV and NDJSON; and the same rows as whole table rows
for the sqlite3 shell and PostgreSQL's COPY (every column of `suppressions`, empty for NULL),
by customer id and by phone number.

usage: gen.py DIR ROWS
"""
import json, os, sys

out, rows = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
created = 1796278474119


def customer(i):
    return f"C{i:08d}"


def phone(i):
    return f"+4477{i:08d}"


def write(name, lines):
    with open(f"{out}/{name}", "w") as f:
        for line in lines:
            f.write(line + "\n")


def ndjson(value):
    return json.dumps(value, separators=(",", ":"))


write("customers.csv", ["customer_id,kind,channels,source"] + [f"{customer(i)},opt_out,email;sms,registry" for i in range(rows)])
write("customers.ndjson", (ndjson({"customer_id": customer(i), "kind": "opt_out", "channels": ["email", "sms"], "source": "registry"})
                           for i in range(rows)))
write("profiles.csv", ["customer_id,region,timezone,email,phone"]
      + [f"{customer(i)},US-CA,America/Los_Angeles,person{i}@example.com,{phone(i)}" for i in range(rows)])
write("profiles.ndjson", (ndjson({"customer_id": customer(i), "region": "US-CA", "timezone": "America/Los_Angeles",
                                  "email": f"person{i}@example.com", "phone": phone(i)}) for i in range(rows)))
write("phones.csv", ["address,kind,source"] + [f"{phone(i)},do_not_contact,registry" for i in range(rows)])
write("phones.ndjson", (ndjson({"address": phone(i), "kind": "do_not_contact", "source": "registry"}) for i in range(rows)))
# Whole rows: id, customer_id, address, address_kind, kind, channels, purposes, source, confirmed,
# expires_at, created_at; ids as hush makes them (the millisecond, then 80 bits), in order.
write("table-customers.csv", (f"{created:012x}{i:020x},{customer(i)},,,opt_out,email\x1fsms,,registry,1,,{created}" for i in range(rows)))
write("table-phones.csv", (f"{created:012x}{i:020x},,{phone(i)},phone,do_not_contact,,,registry,1,,{created}" for i in range(rows)))
