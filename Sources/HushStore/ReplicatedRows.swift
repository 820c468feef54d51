import Foundation
import HushCore

/// Rows that come from the system of record (PostgreSQL) into a node's SQLite image, as text
/// in the columns both schemas share. The tables and columns are fixed here, so that a row
/// naming any other is refused rather than spliced into SQL; values are checked against their
/// column's kind (an integer, a boolean, 32 bytes of hash) before anything is written.
public enum ReplicatedTable: String, CaseIterable, Sendable {
    case profiles, cases, suppressions, holds, contacts, interactions, tombstones, history

    enum Kind { case text, integer, boolean, hash }

    /// The columns, in order, with their kind; the key columns first.
    var columns: [(name: String, kind: Kind)] { Self.columnsOf[self]! }

    /// `columns` of every table, made once (a snapshot reads them for every row).
    private static let columnsOf = Dictionary(uniqueKeysWithValues: allCases.map { ($0, $0.makeColumns()) })

    /// The statement that writes a whole row of the table.
    var insertSQL: String {
        let names = columns.map(\.name).joined(separator: ", ")
        let slots = (1...columns.count).map { "?\($0)" }.joined(separator: ", ")
        return "INSERT OR REPLACE INTO \(rawValue) (\(names)) VALUES (\(slots))"
    }

    private func makeColumns() -> [(name: String, kind: Kind)] {
        switch self {
        case .profiles: [("customer_id", .text), ("region", .text), ("timezone", .text), ("email", .text), ("phone", .text), ("updated_at", .integer)]
        case .cases: [("case_id", .text), ("customer_id", .text), ("severity", .text), ("status", .text), ("opened_at", .integer),
                      ("closed_at", .integer), ("resolution", .text), ("updated_at", .integer)]
        case .suppressions: [("id", .text), ("customer_id", .text), ("address", .text), ("address_kind", .text), ("kind", .text),
                             ("channels", .text), ("purposes", .text), ("source", .text), ("confirmed", .boolean), ("expires_at", .integer),
                             ("created_at", .integer)]
        case .holds: [("id", .text), ("title", .text), ("reason", .text), ("regions", .text), ("channels", .text), ("purposes", .text),
                      ("categories", .text), ("starts_at", .integer), ("ends_at", .integer), ("updated_at", .integer)]
        // PostgreSQL's identity is SQLite's rowid.
        case .contacts: [("rowid", .integer), ("customer_id", .text), ("channel", .text), ("purpose", .text), ("at", .integer), ("campaign_id", .text)]
        case .interactions: [("rowid", .integer), ("customer_id", .text), ("type", .text), ("score", .integer), ("at", .integer)]
        case .tombstones: [("hash", .hash)]
        case .history: [("seq", .integer), ("record_kind", .text), ("record_id", .text), ("customer_id", .text), ("address", .text),
                        ("at", .integer), ("actor", .text), ("via", .text), ("operation", .text), ("before", .text), ("after", .text)]
        }
    }

    /// Where `name` is among `columns`, for the tables that have it: read once per table.
    func position(of name: String) -> Int? { Self.positions[self]![name] }

    private static let positions = Dictionary(uniqueKeysWithValues: allCases.map { table in
        (table, Dictionary(uniqueKeysWithValues: table.columns.enumerated().map { ($1.name, $0) }))
    })

    /// Whether the key column is text (the others' keys are integers).
    public var keyIsText: Bool { columns[0].kind == .text }

    /// The name PostgreSQL gives the first column where it differs (`id` for `rowid`).
    public var sourceColumns: [String] { columns.map { $0.name == "rowid" ? "id" : $0.name } }
}

extension SQLiteTransaction {
    /// `sql`, prepared on the first use in this connection.
    private func statement(_ sql: String) throws(StoreError) -> Statement {
        if let known = replicatedStatements[sql] { return known }
        let made = try database.prepare(sql)
        replicatedStatements[sql] = made
        return made
    }

    /// Writes a replicated row (`values` in the order of `sourceColumns`, nil for NULL) or, with
    /// `values` nil, deletes the row whose key is `key`; marks the customers whose records it
    /// changes, and the holds or tombstones it changes, as the API's writes do. `loading`: the
    /// image is being filled from a snapshot, so the row cannot replace one about another
    /// customer, and the records are rebuilt once at the end (`touchEveryCustomer`). `inserted`:
    /// the row is new on the primary (the stream's insert), so no earlier version of it names a
    /// customer whose record must change.
    public func applyReplicated(_ table: ReplicatedTable, values: [String?]?, key: String, loading: Bool = false,
                                inserted: Bool = false) throws(StoreError) {
        let columns = table.columns
        let keyColumn = columns[0]
        // Who the row is about, before it changes: a delete names only its key.
        if !loading, !inserted { try touchReplicated(table, key: key) }
        guard let values else {
            try statement("DELETE FROM \(table.rawValue) WHERE \(keyColumn.name) = ?1").run([try Self.bind(key, keyColumn.kind, keyColumn.name)])
            if table == .holds { holdsChanged = true }
            return
        }
        guard values.count == columns.count else {
            throw StoreError(kind: .internalError, message: "a replicated \(table.rawValue) row has \(values.count) columns, not \(columns.count)")
        }
        var bound: [SQLValue] = []
        for (value, column) in zip(values, columns) {
            bound.append(try value.map { text throws(StoreError) in try Self.bind(text, column.kind, column.name) } ?? .null)
        }
        let insert: Statement
        if let known = replicatedInserts[table] {
            insert = known
        } else {
            insert = try database.prepare(table.insertSQL)
            replicatedInserts[table] = insert
        }
        try insert.run(bound)
        if !loading { try touchReplicated(table, values: values, key: key) }
        switch table {
        case .holds: holdsChanged = true
        case .tombstones:
            if case .blob(let hash) = bound[0] { pendingTombstones.append(hash) }
            // An erasure: once committed, the WAL that still holds the erased rows' old pages is
            // checkpointed and truncated, as after an erasure through this store's own API.
            erased = true
        default: break
        }
    }

    /// Marks the customer (or the customers whose profile carries the address) a row is about.
    private func touchReplicated(_ table: ReplicatedTable, key: String) throws(StoreError) {
        switch table {
        case .profiles: touched.insert(key)
        case .cases, .contacts, .interactions:
            let keyName = table.columns[0].name
            try statement("SELECT customer_id FROM \(table.rawValue) WHERE \(keyName) = ?1")
                .query([try Self.bind(key, table.columns[0].kind, keyName)]) { row in if let id = row.text(0) { touched.insert(id) } }
        case .suppressions:
            var subject: Subject?
            try statement("SELECT customer_id, address, address_kind FROM suppressions WHERE id = ?1").query([.text(key)]) { row in
                if let id = row.text(0) { subject = .customer(id) } else if let address = row.text(1) {
                    subject = .address(row.text(2) == "phone" ? .phone(address) : .email(address))
                }
            }
            if let subject { try touch(subject) }
        case .holds, .tombstones, .history: break
        }
    }

    private static let customerColumn = Dictionary(uniqueKeysWithValues: ReplicatedTable.allCases.compactMap { table in
        table.position(of: "customer_id").map { (table, $0) }
    })
    private static let addressColumn = ReplicatedTable.suppressions.position(of: "address")!
    private static let addressKindColumn = ReplicatedTable.suppressions.position(of: "address_kind")!

    /// Marks whom a row is about from the row's own values, as `touchReplicated(_:key:)` would
    /// find them once it is written, without reading it back.
    private func touchReplicated(_ table: ReplicatedTable, values: [String?], key: String) throws(StoreError) {
        switch table {
        case .profiles: touched.insert(key)
        case .cases, .contacts, .interactions:
            if let id = values[Self.customerColumn[table]!] { touched.insert(id) }
        case .suppressions:
            if let id = values[Self.customerColumn[table]!] {
                try touch(.customer(id))
            } else if let address = values[Self.addressColumn] {
                try touch(.address(values[Self.addressKindColumn] == "phone" ? .phone(address) : .email(address)))
            }
        case .holds, .tombstones, .history: break
        }
    }

    /// A text value from the stream as its column's SQLite value; refused when it is not one.
    static func bind(_ text: String, _ kind: ReplicatedTable.Kind, _ column: String) throws(StoreError) -> SQLValue {
        switch kind {
        case .text: return .text(text)
        case .integer:
            guard let value = Int64(text) else { throw StoreError(kind: .internalError, message: "replicated column \(column) is not an integer") }
            return .integer(value)
        case .boolean:
            guard text == "t" || text == "f" else { throw StoreError(kind: .internalError, message: "replicated column \(column) is not a boolean") }
            return .integer(text == "t" ? 1 : 0)
        case .hash:
            // bytea in hex: \x and 64 digits.
            guard text.hasPrefix("\\x"), let bytes = Hex.decode(String(text.dropFirst(2))), bytes.count == 32 else {
                throw StoreError(kind: .internalError, message: "replicated column \(column) is not a 32-byte hash")
            }
            return .blob(bytes)
        }
    }
}

extension SQLiteTransaction {
    static let replicatedPositionKey = "replicated_lsn"

    /// Runs `body` with this connection's page cache at `kib` KiB, then at what it was. A large
    /// replicated transaction writes pages all over the image's records; past a small cache they
    /// are written to the WAL and read back from it again and again (an import of 1,000,000
    /// suppressions over PostgreSQL: 88 s with SQLite's default 2,000 KiB, 74 s with 64 MiB).
    public func withPageCache<T>(kib: Int, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        var was: Int64 = -2000
        try database.prepare("PRAGMA cache_size").query([]) { row in was = row.integer(0) ?? was }
        try database.exec("PRAGMA cache_size=-\(max(16, kib))")
        defer { try? database.exec("PRAGMA cache_size=\(was)") }
        return try body()
    }

    /// Records, with the rows of the same transaction, how far the image has applied the stream.
    public func setReplicatedPosition(_ position: UInt64) throws(StoreError) {
        try database.prepare("INSERT INTO meta (key, value) VALUES ('\(Self.replicatedPositionKey)', ?1) ON CONFLICT (key) DO UPDATE SET value = ?1")
            .run([.integer(Int64(bitPattern: position))])
    }

    /// Marks every customer the tables name for a record rebuild at the end of this job: after a
    /// snapshot was loaded with `loading`, each record built once from all its rows.
    public func touchEveryCustomer() throws(StoreError) {
        try database.prepare("""
            SELECT customer_id FROM profiles UNION SELECT customer_id FROM cases
            UNION SELECT customer_id FROM suppressions WHERE customer_id IS NOT NULL
            UNION SELECT customer_id FROM contacts UNION SELECT customer_id FROM interactions
            """).query([]) { row in if let id = row.text(0) { touched.insert(id) } }
    }

    /// Deletes every replicated row, every customer's record and the image's position: an image
    /// about to load a new snapshot. Tombstones stay (they are never removed, and the snapshot
    /// brings them again).
    public func clearReplicated() throws(StoreError) {
        for table in ReplicatedTable.allCases where table != .tombstones { try database.exec("DELETE FROM \(table.rawValue)") }
        try database.exec("DELETE FROM customer_records")
        try database.exec("DELETE FROM meta WHERE key = '\(Self.replicatedPositionKey)'")
        holdsChanged = true
    }

    static let loadingIndexesKey = "image_indexes_dropped"

    /// The indexes this schema gives the replicated tables, read from a database migrated in memory.
    static func replicatedIndexes() throws(StoreError) -> [(name: String, sql: String)] {
        let scratch = try Database(path: ":memory:", mode: .readWrite)
        try Migrations.apply(to: scratch)
        let tables = ReplicatedTable.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        var indexes: [(name: String, sql: String)] = []
        try scratch.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (\(tables)) ORDER BY name")
            .query([]) { row in if let name = row.text(0), let sql = row.text(1) { indexes.append((name, sql)) } }
        return indexes
    }

    /// Drops the indexes of the replicated tables before a snapshot fills them, so that rows go
    /// in without a B-tree insert per index (each batch's commit rewrote nearly every page of
    /// the indexes on random keys), and each index is built once, sorted, by
    /// `restoreIndexesAfterLoading`. A mark in `meta`, in the same transaction, says they are
    /// gone, so that a load a crash cut short gets them back (at the next load's end, or when
    /// the store opens). The node answers no decision while it loads.
    public func dropIndexesForLoading() throws(StoreError) {
        for index in try Self.replicatedIndexes() { try database.exec("DROP INDEX IF EXISTS \(index.name)") }
        try database.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('\(Self.loadingIndexesKey)', 1)")
    }

    /// Builds again the indexes `dropIndexesForLoading` dropped; nothing when none were.
    public func restoreIndexesAfterLoading() throws(StoreError) {
        var dropped = false
        try database.prepare("SELECT 1 FROM meta WHERE key = '\(Self.loadingIndexesKey)'").query([]) { _ in dropped = true }
        guard dropped else { return }
        // IF NOT EXISTS: a restore a crash cut short, after some of them, is done again whole.
        for index in try Self.replicatedIndexes() {
            let unique = index.sql.hasPrefix("CREATE UNIQUE INDEX ")
            let rest = index.sql.dropFirst(unique ? "CREATE UNIQUE INDEX ".count : "CREATE INDEX ".count)
            try database.exec((unique ? "CREATE UNIQUE INDEX IF NOT EXISTS " : "CREATE INDEX IF NOT EXISTS ") + rest)
        }
        try database.exec("DELETE FROM meta WHERE key = '\(Self.loadingIndexesKey)'")
    }

    /// How far the image has applied the stream; nil before its first transaction.
    public func replicatedPosition() throws(StoreError) -> UInt64? {
        var position: UInt64?
        try database.prepare("SELECT value FROM meta WHERE key = '\(Self.replicatedPositionKey)'").query([]) { row in
            position = row.integer(0).map { UInt64(bitPattern: $0) }
        }
        return position
    }
}
