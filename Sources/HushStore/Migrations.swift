/// The schema, as numbered migrations (`Migrations/migration-NNNN-name.sql`) applied in order at start, each in its own transaction
/// that also sets `PRAGMA user_version`. A shipped migration is never edited; a database whose
/// version is newer than the last migration here is refused (it was written by a newer hush).
///
/// Times are INTEGER milliseconds since 1970 (UTC). Lists (channels, purposes, regions,
/// categories) are TEXT with the values joined by U+001F, which no identifier may hold;
/// NULL means "omitted", which the decision reads as "all" or the kind's default.
enum Migrations {
    /// The files of `Migrations/` (`migration-0001-facts.sql`, …), embedded in the binary, in order.
    static let all: [String] = [
        PackageResources.migration_0001_facts_sql,
        PackageResources.migration_0002_customer_records_sql,
        PackageResources.migration_0003_record_keys_sql,
        PackageResources.migration_0004_records_built_for_sql,
        PackageResources.migration_0005_history_sql,
        PackageResources.migration_0006_history_retention_sql,
        PackageResources.migration_0007_checks_without_in_lists_sql,
        PackageResources.migration_0008_retention_indexes_sql,
    ].map { String(decoding: $0, as: UTF8.self) }

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
