/// Opening checks on the database file, run at start (after the server bound its port, so that
/// a start-up that cannot bind creates no file) so that a wrong path or a read-only directory
/// stops hush with a clear message, not at the first write.
public enum DatabaseFile {
    /// Creates the file if missing, opens it as the writer does (WAL and the other pragmas) and
    /// checks that a write transaction can start.
    public static func prepare(path: String) throws(StoreError) {
        let database = try Database(path: path, mode: .readWrite)
        do {
            try database.exec("BEGIN IMMEDIATE")
            try database.exec("COMMIT")
        } catch {
            throw StoreError(kind: error.kind, message: "cannot use database \(path): \(error.message)", code: error.code)
        }
    }
}
