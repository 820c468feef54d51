import Foundation
import Testing
import HushCore
@testable import HushStore

@Suite struct RecordKeyTests {
    let now = date("2026-11-24T10:00:00Z")

    func sip(_ message: [UInt8]) -> UInt64 {
        // The reference key: bytes 00 … 0f, read little-endian.
        message.withUnsafeBytes { SipHash.hash24($0, k0: 0x0706_0504_0302_0100, k1: 0x0f0e_0d0c_0b0a_0908) }
    }

    /// The test vectors of the SipHash paper and its reference implementation: messages
    /// 00, 00 01, …, under the key 00 … 0f; every tail length and a whole block are covered.
    @Test func sipHash24_MatchesTheReferenceVectors() {
        #expect(sip([]) == 0x726f_db47_dd0e_0e31)
        #expect(sip([0]) == 0x74f8_39c5_93dc_67fd)
        #expect(sip(Array(0..<8)) == 0x93f5_f579_9a93_2462)
        #expect(sip(Array(0..<15)) == 0xa129_ca61_49be_45e5)
    }

    @Test func theKey_IsANonNegativeRowidOfTheBitsKept_AndDependsOnTheSecret() {
        let a = RecordKey(k0: 1, k1: 2), b = RecordKey(k0: 1, k1: 3)
        #expect(a("C0000001") >= 0 && a("C0000001") < 1 << RecordKey.standardBits)
        #expect(a("C0000001") == a("C0000001"))
        #expect(a("C0000001") != b("C0000001"))
        #expect(a("C0000001") != a("C0000002"))
        let narrow = RecordKey(k0: 1, k1: 2, bits: 2)
        #expect(Set((0..<100).map { narrow("c-\($0)") }) == [0, 1, 2, 3])
    }

    func find(_ row: [UInt8]?, _ id: String) -> String {
        guard let row else { return "no row" }
        return row.withUnsafeBytes { bytes in
            switch RecordRow.find(bytes, customerID: id) {
            case .found(let record): String(decoding: record, as: UTF8.self)
            case .absent: "absent"
            case .malformed: "malformed"
            }
        }
    }

    @Test func aRow_KeepsEachIdsEntry_ThroughSetsAndRemovals() {
        var row = RecordRow.replacing(nil, customerID: "c-1", record: Array("one".utf8))
        row = RecordRow.replacing(row, customerID: "c-12", record: Array("twelve".utf8))
        #expect(RecordRow.entries(row!) == 2)
        #expect(find(row, "c-1") == "one")
        #expect(find(row, "c-12") == "twelve")
        #expect(find(row, "c-") == "absent", "a prefix of an id is not the id")
        row = RecordRow.replacing(row, customerID: "c-1", record: Array("uno".utf8))
        #expect(RecordRow.entries(row!) == 2)
        #expect(find(row, "c-1") == "uno")
        row = RecordRow.replacing(row, customerID: "c-12", record: nil)
        #expect(find(row, "c-12") == "absent")
        #expect(find(row, "c-1") == "uno")
        #expect(RecordRow.replacing(row, customerID: "c-1", record: nil) == nil, "no entry left: no row")
        #expect(RecordRow.replacing(nil, customerID: "c-1", record: nil) == nil)
    }

    @Test func aRowThatDoesNotParse_IsMalformed_AndIsReplacedWhole() {
        for bad: [UInt8] in [[0x05, 0x63], [0x01, 0x63, 0x09, 0x00], [0x01, 0x63], [0xFF]] {
            #expect(find(bad, "c") == "malformed")
            #expect(RecordRow.entries(bad) == nil)
            let fixed = RecordRow.replacing(bad, customerID: "c", record: [0x41])
            #expect(find(fixed, "c") == "A")
            #expect(RecordRow.entries(fixed!) == 1)
        }
    }

    /// With two bits of key, 40 customers share four rows: each still sees only its own facts,
    /// through writes, a removed record and an erasure.
    @Test func customersSharingRows_EachSeeTheirOwnFacts() throws {
        let store = try SQLiteStore(path: try makeStorePath(), lookback: 7 * 86_400, clock: testClock, maxQueuedWrites: 100,
                              tombstoneHash: fakeHash, recordKeyBits: 2, renderHistory: describeRecord)
        defer { store.close() }
        let ids = (0..<40).map { "c-\($0)" }
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            for (i, id) in ids.enumerated() {
                try w.upsertProfile(Profile(customerID: id, region: i.isMultiple(of: 2) ? "US-CA" : "DE-BE"), now: now)
                if i.isMultiple(of: 3) { _ = try w.addSuppression(Suppression(id: "", subject: .customer(id), kind: .objection), now: now) }
            }
        }
        let reader = try store.makeSQLiteReader()
        func facts(_ id: String) throws -> Facts {
            try reader.facts(customerID: id, address: nil, channel: "email", at: now, lookback: 7 * 86_400, holds: [], tombstoneHash: fakeHash)
        }
        for (i, id) in ids.enumerated() {
            let f = try facts(id)
            #expect(f.profile?.customerID == id)
            #expect(f.profile?.region == (i.isMultiple(of: 2) ? "US-CA" : "DE-BE"))
            #expect(f.suppressions.count == (i.isMultiple(of: 3) ? 1 : 0))
        }
        #expect(try facts("c-40").profile == nil)
        try store.writeAndWait(as: .test) { w throws(StoreError) in _ = try w.erase(customerID: "c-3", tombstoneHash: fakeHash) }
        reader.endSnapshot()
        #expect(try facts("c-3").profile == nil)
        #expect(try facts("c-3").customerErased)
        for id in ids where id != "c-3" {
            #expect(try facts(id).profile?.customerID == id)
            #expect(try !facts(id).customerErased)
        }
    }

    /// An import of new customers, with two bits of key: their records join rows that stored
    /// customers hold, and one another's, and nobody's record is lost.
    @Test func anImport_JoinsTheRowsOthersHold() throws {
        let store = try SQLiteStore(path: try makeStorePath(), lookback: 7 * 86_400, clock: testClock, maxQueuedWrites: 100,
                                    tombstoneHash: fakeHash, recordKeyBits: 2, renderHistory: describeRecord)
        defer { store.close() }
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            for i in 0..<8 { try w.upsertProfile(Profile(customerID: "c-\(i)", region: "US-CA"), now: now) }
        }
        let imported = (8..<40).map { Suppression(id: "", subject: .customer("c-\($0)"), kind: .optOut, channels: ["email"]) }
        let counts = try store.writeAndWait(as: .test) { w throws(StoreError) in try w.importSuppressions(imported, now: now) }
        #expect(counts.imported == 32)
        let reader = try store.makeSQLiteReader()
        for i in 0..<40 {
            let f = try reader.facts(customerID: "c-\(i)", address: nil, channel: "email", at: now, lookback: 7 * 86_400, holds: [], tombstoneHash: fakeHash)
            #expect(f.profile?.region == (i < 8 ? "US-CA" : nil), "c-\(i)")
            #expect(f.suppressions.map(\.subject) == (i < 8 ? [] : [.customer("c-\(i)")]), "c-\(i)")
        }
        #expect(try reader.pointLookup(customerID: "c-39"))
    }

    /// A database made before `customer_records` is migrated and its records built from the
    /// tables at the first start.
    @Test func aVersion2Database_GetsItsRecordsRebuiltUnderAKey() throws {
        let path = try makeStorePath()
        do {
            let db = try Database(path: path, mode: .readWrite)
            for (i, sql) in Migrations.all.prefix(2).enumerated() {
                try db.exec(sql)
                try db.exec("PRAGMA user_version = \(i + 1)")
            }
            try db.exec("INSERT INTO profiles (customer_id, region, updated_at) VALUES ('c-1', 'US-CA', 0)")
            try db.exec("INSERT INTO customer_facts (customer_id, facts) VALUES ('c-1', x'02')")
            try db.exec("INSERT INTO meta (key, value) VALUES ('facts_lookback_ms', 1)")
        }
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let reader = try store.makeSQLiteReader()
        #expect(try reader.pointLookup(customerID: "c-1"))
        #expect(try reader.facts(customerID: "c-1", address: nil, channel: "email", at: now, lookback: 86_400, holds: [],
                                 tombstoneHash: fakeHash).profile?.region == "US-CA")
        let db = try Database(path: path, mode: .readOnly)
        var keys = 0
        try db.prepare("SELECT count(*) FROM meta WHERE key LIKE 'record_key_%'").query([]) { keys = Int($0.integer(0)!) }
        #expect(keys == 2)
    }

    /// Migration 4 renames the meta key the records were built under, keeping its value: a
    /// database from before it starts without rebuilding every record.
    @Test func aVersion3Database_KeepsItsRecords_UnderTheRenamedKey() throws {
        let path = try makeStorePath()
        try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord).close()
        func meta(_ db: Database) throws -> [String: Int64] {
            var values: [String: Int64] = [:]
            try db.prepare("SELECT key, value FROM meta WHERE key NOT LIKE 'record_key_%'").query([]) { values[$0.text(0)!] = $0.integer(1)! }
            return values
        }
        let built: Int64
        do {
            let db = try Database(path: path, mode: .readWrite)
            let current = try meta(db)
            built = try #require(current["records_built_for"])
            #expect(current.count == 1)
            // Back to version 3, as an older hush left it.
            try db.exec("UPDATE meta SET key = 'facts_lookback_ms' WHERE key = 'records_built_for'")
            try db.exec("DROP TABLE history")
            try db.exec("DROP INDEX suppressions_expires")
            try db.exec("DROP INDEX holds_ends")
            try db.exec("PRAGMA user_version = 3")
            // A row that a rebuild of every record would delete.
            try db.exec("INSERT INTO customer_records (key, entries) VALUES (424242, x'00')")
        }
        try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord).close()
        let db = try Database(path: path, mode: .readOnly)
        #expect(try meta(db) == ["records_built_for": built])
        #expect(try Migrations.userVersion(db) == Migrations.all.count)
        var kept = 0
        try db.prepare("SELECT count(*) FROM customer_records WHERE key = 424242").query([]) { kept = Int($0.integer(0)!) }
        #expect(kept == 1, "the records were not rebuilt")
    }
}
