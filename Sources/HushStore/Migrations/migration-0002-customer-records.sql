-- Migration 2: one record per customer with everything a decision needs (FactsRecord), rebuilt by
-- the writer from the tables above in the transaction that changes them, so a decision
-- is one lookup. Profiles are found by address when an address suppression changes.
CREATE TABLE customer_facts (
    customer_id TEXT PRIMARY KEY,
    facts BLOB NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX profiles_email ON profiles (email) WHERE email IS NOT NULL;
CREATE INDEX profiles_phone ON profiles (phone) WHERE phone IS NOT NULL;
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
