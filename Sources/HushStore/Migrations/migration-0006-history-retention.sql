-- Migration 6: retention removes expired suppressions and ended holds, and the history records
-- each removal with `via` 'retention'. SQLite cannot change a CHECK constraint in place, so the
-- table is rebuilt under the same name, rows and sequence numbers kept, and its indexes made
-- again.
CREATE TABLE history_next (
    seq INTEGER PRIMARY KEY,
    record_kind TEXT NOT NULL CHECK (record_kind IN ('profile', 'case', 'suppression', 'hold', 'erasure')),
    record_id TEXT NOT NULL,
    customer_id TEXT,
    address TEXT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    via TEXT NOT NULL CHECK (via IN ('api', 'import', 'cli', 'retention')),
    operation TEXT NOT NULL CHECK (operation IN ('create', 'update', 'delete', 'erase')),
    before TEXT,
    after TEXT,
    CHECK ((operation = 'erase') = (record_kind = 'erasure')),
    CHECK ((before IS NULL) = (operation IN ('create', 'erase'))),
    CHECK ((after IS NULL) = (operation IN ('delete', 'erase')))
) STRICT;
INSERT INTO history_next SELECT seq, record_kind, record_id, customer_id, address, at, actor, via, operation, before, after FROM history;
DROP TABLE history;
ALTER TABLE history_next RENAME TO history;
CREATE INDEX history_record ON history (record_kind, record_id, seq);
CREATE INDEX history_customer ON history (customer_id, seq) WHERE customer_id IS NOT NULL;
CREATE INDEX history_address ON history (address, seq) WHERE address IS NOT NULL;
