import CSQLite

/// Opening checks on the database file, run before the server binds so that a wrong path or
/// a read-only directory stops hush at start with a clear message, not at the first write.
public enum DatabaseFile {
    /// Creates the file if missing, switches it to WAL (so readers never wait on the writer)
    /// and checks that it can be written.
    public static func prepare(path: String) throws(StoreError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        defer { sqlite3_close_v2(handle) }
        guard rc == SQLITE_OK, let db = handle else {
            throw StoreError(kind: .unavailable, message: "cannot open database \(path): \(String(cString: sqlite3_errstr(rc)))", code: rc)
        }
        for sql in ["PRAGMA journal_mode=WAL", "BEGIN IMMEDIATE", "COMMIT"] {
            let step = sqlite3_exec(db, sql, nil, nil, nil)
            guard step == SQLITE_OK else {
                throw StoreError(kind: .unavailable, message: "cannot use database \(path): \(String(cString: sqlite3_errmsg(db)))", code: step)
            }
        }
    }
}
