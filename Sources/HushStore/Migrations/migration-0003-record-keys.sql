-- Migration 3: the records (customer_facts of migration 2, now customer_records) keyed by a keyed hash of the customer id (`RecordKey`), whose two
-- 64-bit halves are made here from SQLite's randomness; the rows are rebuilt at start
-- (the missing `facts_lookback_ms` asks for it).
DROP TABLE customer_facts;
CREATE TABLE customer_records (
    key INTEGER PRIMARY KEY,
    entries BLOB NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('record_key_0', random()), ('record_key_1', random());
DELETE FROM meta WHERE key = 'facts_lookback_ms';
