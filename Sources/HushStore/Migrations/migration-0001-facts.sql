-- Migration 1: the facts, one table each.
CREATE TABLE profiles (
    customer_id TEXT PRIMARY KEY,
    region TEXT,
    timezone TEXT,
    email TEXT,
    phone TEXT,
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE cases (
    case_id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status TEXT NOT NULL CHECK (status IN ('open', 'pending', 'closed')),
    opened_at INTEGER NOT NULL,
    closed_at INTEGER,
    resolution TEXT CHECK (resolution IN ('positive', 'neutral', 'negative')),
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX cases_customer ON cases (customer_id);

CREATE TABLE suppressions (
    id TEXT PRIMARY KEY,
    customer_id TEXT,
    address TEXT,
    address_kind TEXT CHECK (address_kind IN ('email', 'phone')),
    kind TEXT NOT NULL CHECK (kind IN ('do_not_contact', 'opt_out', 'objection')),
    channels TEXT,
    purposes TEXT,
    source TEXT,
    confirmed INTEGER NOT NULL CHECK (confirmed IN (0, 1)),
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    CHECK ((customer_id IS NULL) <> (address IS NULL)),
    CHECK ((address IS NULL) = (address_kind IS NULL))
) STRICT;
CREATE INDEX suppressions_customer ON suppressions (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX suppressions_address ON suppressions (address) WHERE address IS NOT NULL;
-- The same subject, kind, channels and purposes is the same suppression (POST is idempotent).
CREATE UNIQUE INDEX suppressions_identity ON suppressions (
    ifnull(customer_id, ''), ifnull(address, ''), kind, ifnull(channels, '*'), ifnull(purposes, '*'));

CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    reason TEXT NOT NULL,
    regions TEXT,
    channels TEXT,
    purposes TEXT,
    categories TEXT,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE contacts (
    customer_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    purpose TEXT NOT NULL,
    at INTEGER NOT NULL,
    campaign_id TEXT
) STRICT;
CREATE INDEX contacts_customer_at ON contacts (customer_id, at);
CREATE INDEX contacts_at ON contacts (at);

CREATE TABLE interactions (
    customer_id TEXT NOT NULL,
    type TEXT NOT NULL,
    score INTEGER NOT NULL,
    at INTEGER NOT NULL
) STRICT;
CREATE INDEX interactions_customer_at ON interactions (customer_id, at);
CREATE INDEX interactions_at ON interactions (at);

-- HMAC-SHA256 of an erased customer id or address, and nothing else.
CREATE TABLE tombstones (
    hash BLOB PRIMARY KEY CHECK (length(hash) = 32)
) STRICT, WITHOUT ROWID;
