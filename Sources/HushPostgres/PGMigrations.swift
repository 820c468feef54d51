import Foundation

/// The PostgreSQL schema, as numbered migrations (`Migrations/pg-NNNN-name.sql`) applied in order,
/// each in its own transaction with the version it reaches (`hush_schema`). Nodes starting at
/// once take a transaction-scoped advisory lock first, so one applies and the others find it
/// done. A database whose version is newer than the last migration here is refused.
public enum PGMigrations {
    static let all: [String] = [
        PackageResources.pg_0001_facts_sql,
        PackageResources.pg_0002_nodes_sql,
        PackageResources.pg_0003_log_erasures_sql,
        PackageResources.pg_0004_retention_indexes_sql,
    ].map { String(decoding: $0, as: UTF8.self) }

    /// The schema version this hush writes.
    public static var latest: Int { all.count }

    /// An arbitrary key for `pg_advisory_xact_lock`: "hush" in ASCII.
    static let lockKey = "1752397672"

    /// Applies what the database lacks; returns the versions before and after.
    public static func apply(to db: PGConnection) throws(PGError) -> (before: Int, after: Int) {
        // Under the lock too: two nodes creating the table at once collide in the catalog.
        try db.execute("BEGIN")
        do throws(PGError) {
            try db.query("SELECT pg_advisory_xact_lock(\(lockKey))")
            try db.execute("CREATE TABLE IF NOT EXISTS hush_schema (version integer NOT NULL)")
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        var before: Int?
        for (index, sql) in all.enumerated() {
            try db.execute("BEGIN")
            do throws(PGError) {
                try db.query("SELECT pg_advisory_xact_lock(\(lockKey))")
                let current = try version(db)
                if before == nil { before = current }
                guard current <= all.count else {
                    throw PGError("the PostgreSQL schema is at version \(current), newer than this hush knows (\(all.count)); refusing to use it")
                }
                if current <= index {
                    try db.execute(sql)
                    try db.execute("DELETE FROM hush_schema")
                    try db.query("INSERT INTO hush_schema (version) VALUES ($1)", [String(index + 1)])
                }
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
        if all.isEmpty { before = try version(db) }
        let after = try version(db)
        guard after <= all.count else {
            throw PGError("the PostgreSQL schema is at version \(after), newer than this hush knows (\(all.count)); refusing to use it")
        }
        return (before ?? after, after)
    }

    static func version(_ db: PGConnection) throws(PGError) -> Int {
        Int(try db.query("SELECT coalesce(max(version), 0) FROM hush_schema").rows.first?.first??.description ?? "0") ?? 0
    }
}
