import CHushVFS
import CSQLite
import Foundation
import HushCore

/// One SQLite connection, used by one thread only (not Sendable). Opening sets the pragmas hush
/// relies on; statements are prepared once and kept.
final class Database {
    let handle: OpaquePointer
    let path: String
    #if DEBUG
    private let owner = pthread_self()
    #endif

    enum Mode {
        case readWrite, readOnly
        /// A file of passing rows (an import's stage): no journal and no syncs, since a crash
        /// loses nothing that was acknowledged, and no secure delete, since the file is removed whole.
        case scratch
    }

    /// Process-wide SQLite settings, applied once before the first connection opens: the VFS
    /// that maps a database whole (`CHushVFS`), nil when it could not be registered.
    private static let mappingVFS: String? = {
        _ = hush_sqlite_disable_memstatus()
        return hush_vfs_register() == SQLITE_OK ? HUSH_VFS_NAME : nil
    }()

    init(path: String, mode: Mode) throws(StoreError) {
        var handle: OpaquePointer?
        let flags = (mode == .readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        // Read first whatever the mode: it also makes the process-wide settings.
        let mapping = Self.mappingVFS
        // A stage is written once and read once, in order: it is not mapped.
        let vfs = mode == .scratch ? nil : mapping
        let rc = sqlite3_open_v2(path, &handle, flags, vfs)
        guard rc == SQLITE_OK, let handle else {
            sqlite3_close_v2(handle)
            throw StoreError(kind: .unavailable, message: "cannot open database \(path): \(String(cString: sqlite3_errstr(rc)))", code: rc)
        }
        self.handle = handle
        self.path = path
        // Extended codes tell SQLITE_IOERR_WRITE from SQLITE_FULL and so on.
        sqlite3_extended_result_codes(handle, 1)
        // Wait for the writer's brief locks instead of failing at once.
        sqlite3_busy_timeout(handle, 5_000)
        // The first statements are where a file that is not a database, or cannot be written,
        // shows itself: name the file, since the caller may be starting up.
        do {
            if mode == .scratch {
                try exec("PRAGMA journal_mode=OFF")
                try exec("PRAGMA synchronous=OFF")
                return
            }
            if mode == .readWrite {
                // WAL: readers never wait for the writer, and the writer never waits for readers.
                try exec("PRAGMA journal_mode=WAL")
                // FULL: a commit is on disk before it returns, so an acknowledged write survives power loss.
                try exec("PRAGMA synchronous=FULL")
            }
            // Map the file: a lookup then reads B-tree pages straight from memory instead of a
            // pread per page (the anchors measured +75 % on point lookups). Bounded by the file size.
            try exec("PRAGMA mmap_size=\(Self.mmapBytes)")
            // Erasure must not leave the erased rows' bytes in free pages.
            try exec("PRAGMA secure_delete=ON")
            try exec("PRAGMA foreign_keys=ON")
        } catch {
            throw StoreError(kind: error.kind, message: "cannot use database \(path): \(error.message)", code: error.code)
        }
    }

    deinit { sqlite3_close_v2(handle) }

    /// The most of the file each connection maps: all of it, up to 1 TiB. The mapping is
    /// address space and the kernel's page cache, not the process's own memory (it shows as
    /// RssFile). Through SQLite's own VFS the cap is its compile-time `SQLITE_MAX_MMAP_SIZE`
    /// (2 GiB in Debian's libsqlite3), past which pages are read with `pread` into the
    /// connection's page cache; `CHushVFS` has no cap (README, "Decisions at size").
    static let mmapBytes: Int64 = 1 << 40

    /// Bytes of this connection's main file that are read from the mapping; nil when the file
    /// is not mapped by `CHushVFS`.
    var mappedBytes: Int64? {
        let bytes = hush_vfs_mapped_bytes(handle)
        return bytes >= 0 ? bytes : nil
    }

    /// How many times `CHushVFS` has measured this connection's main file; nil when it does
    /// not map it.
    var fileMeasures: Int64? {
        let count = hush_vfs_measures(handle)
        return count >= 0 ? count : nil
    }

    func checkThread() {
        #if DEBUG
        precondition(pthread_equal(owner, pthread_self()) != 0, "a Database used off its own thread")
        #endif
    }

    /// Runs SQL without results (one or more statements).
    func exec(_ sql: String) throws(StoreError) {
        checkThread()
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(error)
            throw StoreError.from(code: sqlite3_extended_errcode(handle), message: message, sql: sql)
        }
    }

    func prepare(_ sql: String) throws(StoreError) -> Statement {
        try Statement(database: self, sql: sql)
    }

    var changes: Int { Int(sqlite3_changes(handle)) }

    func error(_ rc: Int32, sql: String) -> StoreError {
        StoreError.from(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }
}

/// A prepared statement, kept for the connection's life (`SQLITE_PREPARE_PERSISTENT`: the
/// SQLite docs say it is for statements "retained for a long time and probably reused many
/// times"). Bind with `?` only.
final class Statement {
    let statement: OpaquePointer
    let sql: String
    unowned let database: Database
    private let parameterCount: Int
    /// The bytes of the text parameters bound last, which SQLite reads in place
    /// (`SQLITE_STATIC`, a nil destructor) instead of copying each into memory of its own: they stay as they are
    /// until the next bind, which comes after the statement was reset.
    private var texts: UnsafeMutablePointer<UInt8>
    private var textCapacity = 256

    init(database: Database, sql: String) throws(StoreError) {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw database.error(rc, sql: sql) }
        self.statement = statement
        self.sql = sql
        self.database = database
        parameterCount = Int(sqlite3_bind_parameter_count(statement))
        texts = .allocate(capacity: textCapacity)
    }

    deinit {
        sqlite3_finalize(statement)
        texts.deallocate()
    }

    /// Binds `values` to `?1…`, runs `body` over the rows, and resets the statement afterwards.
    func query(_ values: [SQLValue], _ body: (Row) throws(StoreError) -> Void) throws(StoreError) {
        database.checkThread()
        // Every parameter is bound on each use, so clearing bindings afterwards would be wasted work;
        // reset releases the read lock and readies the statement.
        defer { sqlite3_reset(statement) }
        try bind(values)
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw database.error(rc, sql: sql) }
            try body(Row(statement: statement))
        }
    }

    /// Runs a query for at most one row (a lookup by a unique key) and hands it to `body`;
    /// false when there is none. Stops at that row: stepping on to learn that no second row
    /// follows would cost a B-tree step per lookup.
    @discardableResult
    func queryFirst(_ values: [SQLValue], _ body: (Row) throws(StoreError) -> Void) throws(StoreError) -> Bool {
        database.checkThread()
        defer { sqlite3_reset(statement) }
        try bind(values)
        let rc = sqlite3_step(statement)
        if rc == SQLITE_DONE { return false }
        guard rc == SQLITE_ROW else { throw database.error(rc, sql: sql) }
        try body(Row(statement: statement))
        return true
    }

    /// Binds `integer` to `?1`, steps to the first row and hands it to `body` with `state`;
    /// false when there is none: `queryFirst` for a lookup by one key, without a parameter array,
    /// and with the result written into the caller's value rather than a captured one (which a
    /// large struct would be copied out of).
    @discardableResult
    func first<State>(integer: Int64, state: inout State, _ body: (Row, inout State) -> Void) throws(StoreError) -> Bool {
        database.checkThread()
        defer { sqlite3_reset(statement) }
        let bound = sqlite3_bind_int64(statement, 1, integer)
        guard bound == SQLITE_OK else { throw database.error(bound, sql: sql) }
        let rc = sqlite3_step(statement)
        if rc == SQLITE_ROW { body(Row(statement: statement), &state) }
        guard rc == SQLITE_ROW || rc == SQLITE_DONE else { throw database.error(rc, sql: sql) }
        return rc == SQLITE_ROW
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    @discardableResult
    func run(_ values: [SQLValue]) throws(StoreError) -> Int {
        try query(values) { _ throws(StoreError) in }
        return database.changes
    }

    private func bind(_ values: [SQLValue]) throws(StoreError) {
        var needed = 0
        for case .text(let v) in values { needed += v.utf8.count }
        if needed > textCapacity || values.count < parameterCount {
            // No parameter may point into the buffer about to be freed, and a parameter not
            // given is NULL (not what the last use bound).
            sqlite3_clear_bindings(statement)
        }
        if needed > textCapacity {
            texts.deallocate()
            textCapacity = max(needed, textCapacity * 2)
            texts = .allocate(capacity: textCapacity)
        }
        var offset = 0
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32 = switch value {
            case .null: sqlite3_bind_null(statement, index)
            case .integer(let v): sqlite3_bind_int64(statement, index, v)
            case .text(let v):
                // From the string's UTF-8 storage with its length (passing a String where C wants a
                // pointer would build a NUL-terminated copy first), into the statement's buffer.
                v.withUTF8Bytes { bytes in
                    let start = texts + offset
                    if let base = bytes.baseAddress { start.update(from: base, count: bytes.count) }
                    offset += bytes.count
                    // Never a NULL pointer, which would bind NULL rather than ''.
                    return sqlite3_bind_text(statement, index, UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
                }
            case .blob(let v): v.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), SQLITE_TRANSIENT) }
            }
            guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
        }
    }
}

/// SQLITE_TRANSIENT: SQLite copies the bytes before the bind returns.
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

enum SQLValue {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    static func optional(_ text: String?) -> SQLValue { text.map { .text($0) } ?? .null }
    static func optional(_ value: Int64?) -> SQLValue { value.map { .integer($0) } ?? .null }
}

/// The current row of a stepping statement.
struct Row {
    let statement: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String? {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL, let bytes = sqlite3_column_text(statement, column) else { return nil }
        return String(cString: bytes)
    }

    /// The blob in `column`, valid only inside `body`.
    func withBlob<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let count = Int(sqlite3_column_bytes(statement, column))
        return body(UnsafeRawBufferPointer(start: sqlite3_column_blob(statement, column), count: count))
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    func integer(_ column: Int32) -> Int64? {
        sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, column)
    }
}
