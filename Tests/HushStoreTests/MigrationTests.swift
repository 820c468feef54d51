import Foundation
import Synchronization
import Testing
@testable import HushStore

/// Migration 7 rewrites the CHECK constraints of cases, suppressions and history without IN
/// lists: every row kept, every index back, and the same values still refused.
struct CheckConstraintMigrationTests {
    /// A database at version 6, with a row in each rebuilt table.
    static func version6() throws -> String {
        let path = try makeStorePath()
        let db = try Database(path: path, mode: .readWrite)
        for (i, sql) in Migrations.all.prefix(6).enumerated() {
            try db.exec(sql)
            try db.exec("PRAGMA user_version = \(i + 1)")
        }
        try db.exec("""
            INSERT INTO cases VALUES ('k-1', 'c-1', 'high', 'closed', 1, 2, 'negative', 3);
            INSERT INTO suppressions VALUES ('s-1', NULL, '+15550100', 'phone', 'do_not_contact', NULL, NULL, 'registry', 1, NULL, 4);
            INSERT INTO history (seq, record_kind, record_id, customer_id, address, at, actor, via, operation, before, after)
                VALUES (41, 'suppression', 's-1', NULL, '+15550100', 5, 'ops', 'retention', 'delete', '{}', NULL);
            """)
        return path
    }

    static func rows(_ db: Database, _ sql: String) throws -> [String] {
        var rows: [String] = []
        try db.prepare(sql).query([]) { row in rows.append((0..<3).map { row.text(Int32($0)) ?? "null" }.joined(separator: "|")) }
        return rows
    }

    @Test func version6_MigratesTo7_KeepingRowsAndIndexes_WithoutAnyINList() throws {
        let path = try Self.version6()
        let db = try Database(path: path, mode: .readWrite)
        var indexesBefore: [String] = []
        try db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").query([]) { indexesBefore.append($0.text(0)!) }
        try Migrations.apply(to: db)
        #expect(try Migrations.userVersion(db) == Migrations.all.count)
        #expect(try Self.rows(db, "SELECT case_id, severity, resolution FROM cases") == ["k-1|high|negative"])
        #expect(try Self.rows(db, "SELECT id, address_kind, kind FROM suppressions") == ["s-1|phone|do_not_contact"])
        #expect(try Self.rows(db, "SELECT seq, via, operation FROM history") == ["41|retention|delete"])
        var indexesAfter: [String] = []
        try db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").query([]) { indexesAfter.append($0.text(0)!) }
        // Every index back, and migration 8's.
        #expect(indexesAfter == (indexesBefore + ["holds_ends", "suppressions_expires"]).sorted())
        var withIN: [String] = []
        try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '% IN (%'").query([]) { withIN.append($0.text(0)!) }
        #expect(withIN.isEmpty)
        // The next history row follows the kept sequence.
        try db.exec("INSERT INTO history (record_kind, record_id, at, actor, via, operation, after) VALUES ('hold', 'h-1', 6, 'ops', 'api', 'create', '{}')")
        #expect(try Self.rows(db, "SELECT max(seq), count(*), 0 FROM history") == ["42|2|0"])
    }

    @Test(arguments: [
        "INSERT INTO cases VALUES ('k-2', 'c-1', 'urgent', 'open', 1, NULL, NULL, 1)",
        "INSERT INTO cases VALUES ('k-2', 'c-1', 'low', 'reopened', 1, NULL, NULL, 1)",
        "INSERT INTO cases VALUES ('k-2', 'c-1', 'low', 'open', 1, NULL, 'great', 1)",
        "INSERT INTO suppressions VALUES ('s-2', NULL, 'a@b', 'fax', 'opt_out', NULL, NULL, NULL, 1, NULL, 1)",
        "INSERT INTO suppressions VALUES ('s-2', 'c-1', NULL, NULL, 'unsubscribe', NULL, NULL, NULL, 1, NULL, 1)",
        "INSERT INTO suppressions VALUES ('s-2', 'c-1', NULL, NULL, 'opt_out', NULL, NULL, NULL, 2, NULL, 1)",
        "INSERT INTO history (record_kind, record_id, at, actor, via, operation, after) VALUES ('profiles', 'p', 1, 'a', 'api', 'create', '{}')",
        "INSERT INTO history (record_kind, record_id, at, actor, via, operation, after) VALUES ('profile', 'p', 1, 'a', 'ftp', 'create', '{}')",
        "INSERT INTO history (record_kind, record_id, at, actor, via, operation, after) VALUES ('profile', 'p', 1, 'a', 'api', 'upsert', '{}')",
        "INSERT INTO history (record_kind, record_id, at, actor, via, operation, before, after) VALUES ('profile', 'p', 1, 'a', 'api', 'create', '{}', '{}')",
        "INSERT INTO history (record_kind, record_id, at, actor, via, operation) VALUES ('profile', 'p', 1, 'a', 'api', 'update')",
    ])
    func afterMigration7_TheSameValuesAreRefused(_ insert: String) throws {
        let path = try makeStorePath()
        let db = try Database(path: path, mode: .readWrite)
        try Migrations.apply(to: db)
        #expect(throws: StoreError.self) { try db.exec(insert) }
    }
}

struct RecordIDTests {
    @Test func newIDs_Are32HexDigits_TimeOrderedByTheMillisecond_AndDistinct() {
        let earlier = Date(timeIntervalSince1970: 1_800_000_000.123)
        let later = earlier.addingTimeInterval(0.001)
        let a = StoreRows.newID(now: earlier), b = StoreRows.newID(now: later)
        for id in [a, b] {
            #expect(id.utf8.count == 32)
            #expect(id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        }
        #expect(a.prefix(12) == String(1_800_000_000_123, radix: 16).leftPadded(to: 12))
        #expect(a < b)
        let many = Set((0..<10_000).map { _ in StoreRows.newID(now: earlier) })
        #expect(many.count == 10_000)
    }

    /// The random part comes from a pool shared by every thread, refilled every 409 ids: ids
    /// made at once on several threads, across many refills, are still all distinct, and every
    /// one of the 20 random hex places takes many values.
    @Test func newIDs_MadeOnSeveralThreadsAtOnce_AreDistinct() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let perThread = 4_000, threads = 4
        let made = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            let ids = (0..<perThread).map { _ in StoreRows.newID(now: now) }
            made.withLock { $0 += ids }
        }
        let ids = made.withLock { $0 }
        #expect(ids.count == perThread * threads)
        #expect(Set(ids).count == ids.count)
        for place in 12..<32 {
            let digits = Set(ids.prefix(1_000).map { Array($0.utf8)[place] })
            #expect(digits.count >= 12, "hex place \(place) took \(digits.count) values in 1,000 ids")
        }
    }

    @Test func inKeyOrder_SortsByKeyBytes_KeepingTheFileOrderOfEqualKeys() {
        let rows = [("c2", 1), ("a", 2), ("c10", 3), ("a", 4), ("B", 5), ("a", 6)]
        #expect(StoreRows.inKeyOrder(rows, key: \.0).map(\.1) == [5, 2, 4, 6, 3, 1])
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
