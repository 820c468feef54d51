/// The schema, as numbered migrations applied in order at start, each in its own transaction
/// that also sets `PRAGMA user_version`. A shipped migration is never edited; a database whose
/// version is newer than the last migration here is refused (it was written by a newer hush).
///
/// Times are INTEGER milliseconds since 1970 (UTC). Lists (channels, purposes, regions,
/// categories) are TEXT with the values joined by U+001F, which no identifier may hold;
/// NULL means "omitted", which the decision reads as "all" or the kind's default.
enum Migrations {
    static let all: [String] = [
        // 1: the facts
        """
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
        """,
        // 2: one record per customer with everything a decision needs (FactsRecord), rebuilt by
        // the writer from the tables above in the transaction that changes them, so a decision
        // is one lookup. Profiles are found by address when an address suppression changes.
        """
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
        """,
        // 3: the records keyed by a keyed hash of the customer id (`RecordKey`), whose two
        // 64-bit halves are made here from SQLite's randomness; the rows are rebuilt at start
        // (the missing `facts_lookback_ms` asks for it).
        """
        DROP TABLE customer_facts;
        CREATE TABLE customer_records (
            key INTEGER PRIMARY KEY,
            entries BLOB NOT NULL
        ) STRICT;
        INSERT INTO meta (key, value) VALUES ('record_key_0', random()), ('record_key_1', random());
        DELETE FROM meta WHERE key = 'facts_lookback_ms';
        """,
    ]

    /// Applies what `database` lacks. Throws `.unavailable` for a database from a newer hush.
    static func apply(to database: Database) throws(StoreError) {
        let current = try userVersion(database)
        guard current <= all.count else {
            throw StoreError(kind: .unavailable, message: "database \(database.path) has schema version \(current), newer than this hush knows (\(all.count)); refusing to use it")
        }
        for (index, sql) in all.enumerated().dropFirst(current) {
            try database.exec("BEGIN IMMEDIATE")
            do {
                try database.exec(sql)
                try database.exec("PRAGMA user_version = \(index + 1)")
                try database.exec("COMMIT")
            } catch {
                try? database.exec("ROLLBACK")
                throw error
            }
        }
    }

    static func userVersion(_ database: Database) throws(StoreError) -> Int {
        var version = 0
        try database.prepare("PRAGMA user_version").query([]) { row in version = Int(row.integer(0) ?? 0) }
        return version
    }
}
