-- Migration 5: the history of every change to profiles, cases, suppressions and holds, written
-- in the transaction of the change. One row per change: which record (`record_kind`,
-- `record_id`), when (`at`, milliseconds), who (`actor`: an API key's name, or `anonymous`
-- when no keys are configured) and how (`via`), what was done, and the record before and
-- after as the API renders it (JSON text; NULL where there was none).
--
-- `customer_id` and `address` name whom the record is about (a hold is about no one), so that
-- an erasure deletes the customer's history with the customer. The erasure itself leaves one
-- row: record_kind 'erasure', record_id the hex tombstone hash of the id, no record text.
CREATE TABLE history (
    seq INTEGER PRIMARY KEY,
    record_kind TEXT NOT NULL CHECK (record_kind IN ('profile', 'case', 'suppression', 'hold', 'erasure')),
    record_id TEXT NOT NULL,
    customer_id TEXT,
    address TEXT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    via TEXT NOT NULL CHECK (via IN ('api', 'import', 'cli')),
    operation TEXT NOT NULL CHECK (operation IN ('create', 'update', 'delete', 'erase')),
    before TEXT,
    after TEXT,
    CHECK ((operation = 'erase') = (record_kind = 'erasure')),
    CHECK ((before IS NULL) = (operation IN ('create', 'erase'))),
    CHECK ((after IS NULL) = (operation IN ('delete', 'erase')))
) STRICT;
CREATE INDEX history_record ON history (record_kind, record_id, seq);
CREATE INDEX history_customer ON history (customer_id, seq) WHERE customer_id IS NOT NULL;
CREATE INDEX history_address ON history (address, seq) WHERE address IS NOT NULL;
