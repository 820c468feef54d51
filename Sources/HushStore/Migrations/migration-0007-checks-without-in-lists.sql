-- Migration 7: the same CHECK constraints, with comparisons joined by OR instead of IN lists.
-- SQLite builds a temporary B-tree for each IN list every time a statement that checks it runs:
-- three of them made one insert into history cost about nine times what the insert itself did
-- (an import spent 40% of its time there). SQLite cannot change a CHECK constraint in place, so
-- each table is rebuilt under the same name, rows kept, and its indexes made again.
CREATE TABLE cases_next (
    case_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity = 'low' OR severity = 'medium' OR severity = 'high' OR severity = 'critical'),
    status TEXT NOT NULL CHECK (status = 'open' OR status = 'pending' OR status = 'closed'),
    opened_at INTEGER NOT NULL,
    closed_at INTEGER,
    resolution TEXT CHECK (resolution = 'positive' OR resolution = 'neutral' OR resolution = 'negative'),
    updated_at INTEGER NOT NULL
) STRICT;
INSERT INTO cases_next SELECT case_id, customer_id, severity, status, opened_at, closed_at, resolution, updated_at FROM cases;
DROP TABLE cases;
ALTER TABLE cases_next RENAME TO cases;
CREATE INDEX cases_customer ON cases (customer_id);

CREATE TABLE suppressions_next (
    id TEXT PRIMARY KEY,
    customer_id TEXT,
    address TEXT,
    address_kind TEXT CHECK (address_kind = 'email' OR address_kind = 'phone'),
    kind TEXT NOT NULL CHECK (kind = 'do_not_contact' OR kind = 'opt_out' OR kind = 'objection'),
    channels TEXT,
    purposes TEXT,
    source TEXT,
    confirmed INTEGER NOT NULL CHECK (confirmed = 0 OR confirmed = 1),
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    CHECK ((customer_id IS NULL) <> (address IS NULL)),
    CHECK ((address IS NULL) = (address_kind IS NULL))
) STRICT;
INSERT INTO suppressions_next SELECT id, customer_id, address, address_kind, kind, channels, purposes, source, confirmed, expires_at, created_at
    FROM suppressions;
DROP TABLE suppressions;
ALTER TABLE suppressions_next RENAME TO suppressions;
CREATE INDEX suppressions_customer ON suppressions (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX suppressions_address ON suppressions (address) WHERE address IS NOT NULL;
-- The same subject, kind, channels and purposes is the same suppression (POST is idempotent).
CREATE UNIQUE INDEX suppressions_identity ON suppressions (
    ifnull(customer_id, ''), ifnull(address, ''), kind, ifnull(channels, '*'), ifnull(purposes, '*'));

CREATE TABLE history_next (
    seq INTEGER PRIMARY KEY,
    record_kind TEXT NOT NULL CHECK (record_kind = 'profile' OR record_kind = 'case' OR record_kind = 'suppression'
                                     OR record_kind = 'hold' OR record_kind = 'erasure'),
    record_id TEXT NOT NULL,
    customer_id TEXT,
    address TEXT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    via TEXT NOT NULL CHECK (via = 'api' OR via = 'import' OR via = 'cli' OR via = 'retention'),
    operation TEXT NOT NULL CHECK (operation = 'create' OR operation = 'update' OR operation = 'delete' OR operation = 'erase'),
    before TEXT,
    after TEXT,
    CHECK ((operation = 'erase') = (record_kind = 'erasure')),
    CHECK ((before IS NULL) = (operation = 'create' OR operation = 'erase')),
    CHECK ((after IS NULL) = (operation = 'delete' OR operation = 'erase'))
) STRICT;
INSERT INTO history_next SELECT seq, record_kind, record_id, customer_id, address, at, actor, via, operation, before, after FROM history;
DROP TABLE history;
ALTER TABLE history_next RENAME TO history;
CREATE INDEX history_record ON history (record_kind, record_id, seq);
CREATE INDEX history_customer ON history (customer_id, seq) WHERE customer_id IS NOT NULL;
CREATE INDEX history_address ON history (address, seq) WHERE address IS NOT NULL;
