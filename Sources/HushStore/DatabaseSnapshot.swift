import Foundation
import HushCore

/// The whole database read from one snapshot, for `hush export`: suppressions (in the order of
/// their identity: subject, kind, scope, so that two databases with the same suppressions export
/// the same text whatever ids they gave them), cases or holds (by id), streamed one by one. A read-only connection in one read transaction (WAL), so
/// a serving hush goes on writing and the export holds every write committed before it began
/// and none after. Used on the thread that opened it.
public final class DatabaseSnapshot {
    private let database: Database

    /// Refuses a file that does not exist (a typo should not export nothing) and a schema other
    /// than this hush's (`hush migrate` brings an older one up).
    public init(path: String) throws(StoreError) {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError(kind: .unavailable, message: "no database at \(path)") }
        database = try Database(path: path, mode: .readOnly)
        let version = try Migrations.userVersion(database)
        guard version == Migrations.all.count else {
            throw StoreError(kind: .unavailable, message: version > Migrations.all.count
                ? "database \(path) has schema version \(version), newer than this hush knows (\(Migrations.all.count))"
                : "database \(path) has schema version \(version); run hush migrate first")
        }
        try database.exec("BEGIN")
    }

    deinit { try? database.exec("COMMIT") }

    public func suppressions(_ each: (Suppression) -> Void) throws(StoreError) {
        try database.prepare("SELECT \(StoreRows.suppressionColumns) FROM suppressions ORDER BY ifnull(customer_id, ''), ifnull(address, ''), kind, ifnull(channels, '*'), ifnull(purposes, '*')").query([]) { row throws(StoreError) in
            each(try StoreRows.suppression(row))
        }
    }

    public func cases(_ each: (ServiceCase) -> Void) throws(StoreError) {
        try database.prepare("SELECT \(StoreRows.caseColumns) FROM cases ORDER BY case_id").query([]) { row throws(StoreError) in
            guard let serviceCase = StoreRows.serviceCase(row) else { throw StoreError(kind: .internalError, message: "a case row holds an unknown severity or status") }
            each(serviceCase)
        }
    }

    public func holds(_ each: (Hold) -> Void) throws(StoreError) {
        try database.prepare("SELECT \(StoreRows.holdColumns) FROM holds ORDER BY id").query([]) { row in
            each(StoreRows.hold(row))
        }
    }
}

extension DatabaseSnapshot {
    /// A reader for decisions on this file with no writer behind it (`hush decide`): the
    /// tombstones and holds as committed now, loaded once. Changes nothing.
    public static func decisionReader(path: String) throws(StoreError) -> (reader: SQLiteReader, holds: [Hold], erasures: Int) {
        let snapshot = try DatabaseSnapshot(path: path)
        var hashes: [[UInt8]] = [], holds: [Hold] = []
        try snapshot.database.prepare("SELECT hash FROM tombstones").query([]) { row in hashes.append(row.blob(0)) }
        try snapshot.holds { holds.append($0) }
        let tombstones = TombstoneSet()
        tombstones.insert(hashes)
        let reader = try SQLiteReader(database: Database(path: path, mode: .readOnly), tombstones: tombstones, commits: CommitCounter(),
                                      recordKeyBits: RecordKey.standardBits)
        return (reader, holds, hashes.count)
    }
}
