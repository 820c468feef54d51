import CSQLite

/// Facts about the SQLite library hush is linked against.
public enum SQLiteLibrary {
    /// The version of the linked libsqlite3, for example `3.40.1`.
    public static var version: String { String(cString: sqlite3_libversion()) }
}
