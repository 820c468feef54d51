-- PostgreSQL migration 1: the system of record when hush runs as several nodes. The same facts
-- and the same encodings as the SQLite store (times in milliseconds since 1970, lists joined by
-- U+001F), so that a node's SQLite image takes rows from the stream as they are. Every table
-- has a primary key: logical replication names updated and deleted rows by it.
CREATE TABLE profiles (
    customer_id text PRIMARY KEY,
    region text,
    timezone text,
    email text,
    phone text,
    updated_at bigint NOT NULL
);
CREATE INDEX profiles_email ON profiles (email) WHERE email IS NOT NULL;
CREATE INDEX profiles_phone ON profiles (phone) WHERE phone IS NOT NULL;

CREATE TABLE cases (
    case_id text PRIMARY KEY,
    customer_id text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status text NOT NULL CHECK (status IN ('open', 'pending', 'closed')),
    opened_at bigint NOT NULL,
    closed_at bigint,
    resolution text CHECK (resolution IN ('positive', 'neutral', 'negative')),
    updated_at bigint NOT NULL
);
CREATE INDEX cases_customer ON cases (customer_id);

CREATE TABLE suppressions (
    id text PRIMARY KEY,
    customer_id text,
    address text,
    address_kind text CHECK (address_kind IN ('email', 'phone')),
    kind text NOT NULL CHECK (kind IN ('do_not_contact', 'opt_out', 'objection')),
    channels text,
    purposes text,
    source text,
    confirmed boolean NOT NULL,
    expires_at bigint,
    created_at bigint NOT NULL,
    CHECK ((customer_id IS NULL) <> (address IS NULL)),
    CHECK ((address IS NULL) = (address_kind IS NULL))
);
CREATE INDEX suppressions_customer ON suppressions (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX suppressions_address ON suppressions (address) WHERE address IS NOT NULL;
CREATE UNIQUE INDEX suppressions_identity ON suppressions (
    coalesce(customer_id, ''), coalesce(address, ''), kind, coalesce(channels, '*'), coalesce(purposes, '*'));

CREATE TABLE holds (
    id text PRIMARY KEY,
    title text NOT NULL,
    reason text NOT NULL,
    regions text,
    channels text,
    purposes text,
    categories text,
    starts_at bigint NOT NULL,
    ends_at bigint,
    updated_at bigint NOT NULL
);

-- Contacts and interactions get a key of their own for replication (SQLite's rowid serves there).
CREATE TABLE contacts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id text NOT NULL,
    channel text NOT NULL,
    purpose text NOT NULL,
    at bigint NOT NULL,
    campaign_id text
);
CREATE INDEX contacts_customer_at ON contacts (customer_id, at);
CREATE INDEX contacts_at ON contacts (at);

CREATE TABLE interactions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id text NOT NULL,
    type text NOT NULL,
    score integer NOT NULL,
    at bigint NOT NULL
);
CREATE INDEX interactions_customer_at ON interactions (customer_id, at);
CREATE INDEX interactions_at ON interactions (at);

-- HMAC-SHA256 of an erased customer id or address, and nothing else.
CREATE TABLE tombstones (
    hash bytea PRIMARY KEY CHECK (length(hash) = 32)
);

CREATE TABLE history (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_kind text NOT NULL CHECK (record_kind IN ('profile', 'case', 'suppression', 'hold', 'erasure')),
    record_id text NOT NULL,
    customer_id text,
    address text,
    at bigint NOT NULL,
    actor text NOT NULL,
    via text NOT NULL CHECK (via IN ('api', 'import', 'cli', 'retention')),
    operation text NOT NULL CHECK (operation IN ('create', 'update', 'delete', 'erase')),
    before text,
    after text,
    CHECK ((operation = 'erase') = (record_kind = 'erasure')),
    CHECK ((before IS NULL) = (operation IN ('create', 'erase'))),
    CHECK ((after IS NULL) = (operation IN ('delete', 'erase')))
);
CREATE INDEX history_record ON history (record_kind, record_id, seq);
CREATE INDEX history_customer ON history (customer_id, seq) WHERE customer_id IS NOT NULL;
CREATE INDEX history_address ON history (address, seq) WHERE address IS NOT NULL;

-- What every node's image follows.
CREATE PUBLICATION hush FOR TABLE profiles, cases, suppressions, holds, contacts, interactions, tombstones, history;
