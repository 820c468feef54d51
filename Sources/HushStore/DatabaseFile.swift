import Foundation
#if canImport(Glibc)
import Glibc
#endif

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

    /// The schema version this hush writes: its last migration.
    public static var schemaVersion: Int { Migrations.all.count }

    /// Applies the migrations the database at `path` lacks (creating it if missing), each in its
    /// own transaction; returns the schema versions before and after. Refuses a database from a
    /// newer hush.
    public static func migrate(path: String) throws(StoreError) -> (before: Int, after: Int) {
        let database = try Database(path: path, mode: .readWrite)
        let before = try Migrations.userVersion(database)
        try Migrations.apply(to: database)
        return (before, try Migrations.userVersion(database))
    }

    /// An online, consistent copy of the database at `path` in `destination`: SQLite's
    /// `VACUUM INTO` from one read snapshot (a running hush goes on writing; the copy holds every
    /// transaction committed before it began and none after), written under a temporary name,
    /// checked with `PRAGMA integrity_check`, then renamed into place. Refuses a destination that
    /// exists and a database from a newer hush. Returns the copy's size and schema version.
    public static func backup(path: String, to destination: String) throws(StoreError) -> (bytes: Int, schemaVersion: Int) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(kind: .unavailable, message: "no database at \(path)")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(kind: .conflict, message: "\(destination) exists; a backup never overwrites a file")
        }
        let temporary = destination + ".tmp-\(getpid())"
        defer { unlink(temporary) }
        let version: Int
        do {
            let source = try Database(path: path, mode: .readOnly)
            version = try Migrations.userVersion(source)
            guard version <= schemaVersion else {
                throw StoreError(kind: .unavailable, message: "database \(path) has schema version \(version), newer than this hush knows (\(schemaVersion))")
            }
            _ = try source.prepare("VACUUM INTO ?").run([.text(temporary)])
        }
        do {
            let copy = try Database(path: temporary, mode: .readOnly)
            var verdict: [String] = []
            try copy.prepare("PRAGMA integrity_check").query([]) { row in verdict.append(row.text(0) ?? "") }
            guard verdict == ["ok"] else {
                throw StoreError(kind: .unavailable, message: "the copy failed its integrity check: \(verdict.prefix(3).joined(separator: "; "))")
            }
        }
        let fd = open(temporary, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(temporary, destination) == 0 else {
            throw StoreError(kind: .unavailable, message: "cannot move the copy to \(destination): \(String(cString: strerror(errno)))")
        }
        let directory = (destination as NSString).deletingLastPathComponent
        let dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dirFD >= 0 { fsync(dirFD); close(dirFD) }
        let size = (try? FileManager.default.attributesOfItem(atPath: destination)[.size] as? Int) ?? 0
        return (size, version)
    }
}
