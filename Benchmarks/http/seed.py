"""Writes the benchmark's imports: 200,000 suppressions and 50,000 cases over customers
C0000001..C1000000 (seeded, so every run imports the same files), as CSV."""
import random, sys

customers, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(42)
with open(f"{out}/suppressions.csv", "w") as f:
    f.write("customer_id,address,kind,channels,purposes,source,confirmed,expires_at\n")
    seen = set()
    while len(seen) < 200_000:
        c = rng.randint(1, customers)
        channel = rng.choices(["email", "sms", "push"], [50, 30, 20])[0]
        if (c, channel) in seen:
            continue
        seen.add((c, channel))
        kind = rng.choices(["opt_out", "do_not_contact", "objection"], [80, 15, 5])[0]
        f.write(f"C{c:07d},,{kind},{channel},,bench,true,\n")
with open(f"{out}/cases.csv", "w") as f:
    f.write("case_id,customer_id,severity,status,opened_at,closed_at,resolution,updated_at\n")
    for k in range(1, 50_001):
        c = rng.randint(1, customers)
        severity = rng.choice(["low", "medium", "high", "critical"])
        status = rng.choices(["open", "pending", "closed"], [60, 10, 30])[0]
        opened = f"2026-{rng.randint(9, 11):02d}-{rng.randint(1, 20):02d}T{rng.randint(0, 23):02d}:00:00Z"
        closed = "2026-11-22T00:00:00Z" if status == "closed" else ""
        resolution = rng.choice(["positive", "neutral", "negative"]) if status == "closed" else ""
        f.write(f"K{k:07d},C{c:07d},{severity},{status},{opened},{closed},{resolution},2026-11-23T00:00:00Z\n")
