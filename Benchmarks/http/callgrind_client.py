#!/usr/bin/env python3
"""Client for callgrind.sh, over one keep-alive connection to 127.0.0.1.

seed PORT CUSTOMERS      profiles C0000001.., a suppression for one customer in five, an
                         open case for one in twenty
decide PORT CUSTOMERS N [BATCH]
                         N POST /v1/decisions for customers and channels drawn with seed 42,
                         one at a time, or with BATCH > 1 N calls of the batch endpoint with
                         BATCH decisions each; every answer must be 200
"""
import random
import socket
import sys


class Connection:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.buffer = b""

    def send(self, method, path, body):
        data = body.encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n").encode()
        self.sock.sendall(head + data)

    def status(self):
        """Reads one answer (Content-Length framed) and returns its status."""
        while b"\r\n\r\n" not in self.buffer:
            self.more()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(l.split(":", 1)[1]) for l in lines[1:] if l.lower().startswith("content-length:"))
        while len(self.buffer) < length:
            self.more()
        self.buffer = self.buffer[length:]
        return int(lines[0].split(" ")[1])

    def more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection")
        self.buffer += chunk


def customer(i):
    return "C%07d" % i


def seed(port, customers):
    conn = Connection(port)
    requests = []
    for i in range(1, customers + 1):
        requests.append(("PUT", f"/v1/customers/{customer(i)}",
                         '{"region": "US-CA", "timezone": "America/Los_Angeles", "email": "c%d@example.com"}' % i))
        if i % 5 == 0:
            requests.append(("POST", "/v1/suppressions", '{"customer_id": "%s", "kind": "opt_out", "channels": ["sms"]}' % customer(i)))
        if i % 20 == 0:
            requests.append(("PUT", f"/v1/cases/k{i}",
                             '{"customer_id": "%s", "severity": "high", "status": "open", "opened_at": "2026-01-01T00:00:00Z"}' % customer(i)))
    # Pipelined in groups of 64: the writer commits them together.
    for start in range(0, len(requests), 64):
        group = requests[start:start + 64]
        for method, path, body in group:
            conn.send(method, path, body)
        for _ in group:
            status = conn.status()
            if status not in (200, 201):
                raise SystemExit(f"seeding got {status}")


def decide(port, customers, n, batch=1):
    rng = random.Random(42)
    channels = ["email", "sms", "push"]
    conn = Connection(port)
    for _ in range(n):
        items = ['{"customer_id":"%s","channel":"%s","categories":["grilling"]}' % (
            customer(rng.randint(1, customers)), rng.choice(channels)) for _ in range(batch)]
        if batch > 1:
            conn.send("POST", "/v1/decisions/batch", '{"requests":[%s]}' % ",".join(items))
        else:
            conn.send("POST", "/v1/decisions", items[0])
        status = conn.status()
        if status != 200:
            raise SystemExit(f"a decision got {status}")


if __name__ == "__main__":
    mode, port, customers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if mode == "seed":
        seed(port, customers)
    else:
        decide(port, customers, int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 1)
