import Foundation
import Testing
import HushCore
@testable import HushStore

/// A reader's lookups share a read snapshot for speed; these pin what that may never cost:
/// a write acknowledged before a lookup is seen by it, and an ended snapshot holds nothing back.
@Suite struct SnapshotTests {
    let now = date("2026-11-24T10:00:00Z")

    func facts(_ reader: SQLiteReader, _ store: SQLiteStore, _ customerID: String) throws -> Facts {
        try reader.facts(customerID: customerID, address: nil, channel: "email", at: now, lookback: Policy.standard.longestWindow,
                         holds: store.holds, tombstoneHash: fakeHash)
    }

    @Test func aLookupAfterAnAcknowledgedWrite_SeesIt_ThoughTheSnapshotWasNotEnded() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let reader = try store.makeSQLiteReader()
        #expect(try facts(reader, store, "c-1").suppressions.isEmpty)
        for (round, kind) in zip(1..., [SuppressionKind.optOut, .doNotContact, .objection]) {
            try store.writeAndWait(as: .test) { w throws(StoreError) in
                _ = try w.addSuppression(Suppression(id: "", subject: .customer("c-1"), kind: kind), now: now)
            }
            #expect(try facts(reader, store, "c-1").suppressions.count == round, "round \(round)")
        }
        reader.endSnapshot()
        #expect(try facts(reader, store, "c-1").suppressions.count == 3)
    }

    @Test func anOpenSnapshot_HoldsBackACheckpoint_AndAnEndedOneDoesNot() throws {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let reader = try store.makeSQLiteReader()
        _ = try facts(reader, store, "c-1")
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.upsertProfile(Profile(customerID: "c-1", region: "US-CA", email: "jo@example.com"), now: now)
        }
        let other = try Database(path: path, mode: .readWrite)
        try other.exec("PRAGMA busy_timeout = 0")
        func checkpointIsBusy() throws -> Bool {
            var busy = true
            try other.prepare("PRAGMA wal_checkpoint(TRUNCATE)").query([]) { row in busy = row.integer(0) == 1 }
            return busy
        }
        #expect(try checkpointIsBusy(), "the reader still reads from before the write")
        reader.endSnapshot()
        #expect(try !checkpointIsBusy())
        #expect(try facts(reader, store, "c-1").profile?.region == "US-CA")
    }

    @Test func aSnapshotEndsByItselfAfterItsLimit() throws {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let reader = try store.makeSQLiteReader()
        #expect(try !reader.pointLookup(customerID: "c-1"))
        // A write behind the writer's back (it moves no commit count): only the limit ends the snapshot.
        let other = try Database(path: path, mode: .readWrite)
        try other.exec("INSERT INTO customer_records (key, entries) VALUES (\(reader.recordKey("c-1")), x'03632D310100')")
        for _ in 2..<SQLiteReader.snapshotLimit { #expect(try !reader.pointLookup(customerID: "c-1")) }
        #expect(try !reader.pointLookup(customerID: "c-1"), "the last lookup of the first snapshot")
        #expect(try reader.pointLookup(customerID: "c-1"), "past the limit a new snapshot begins")
    }

    /// Short ids (stored inline in the String) and long ones (on the heap), alternating, each
    /// find their own record and never the previous id's.
    @Test func shortAndLongIds_FindTheirOwnRecords() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let long = "customer-" + String(repeating: "x", count: 110)
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.upsertProfile(Profile(customerID: "c-1", region: "US-CA"), now: now)
            try w.upsertProfile(Profile(customerID: long, region: "DE-BE"), now: now)
        }
        let reader = try store.makeSQLiteReader()
        for _ in 0..<3 {
            #expect(try facts(reader, store, long).profile?.region == "DE-BE")
            #expect(try facts(reader, store, "c-1").profile?.region == "US-CA")
            #expect(try facts(reader, store, "c-2").profile == nil)
            #expect(try facts(reader, store, long + "y").profile == nil)
            #expect(try reader.pointLookup(customerID: long))
            #expect(try !reader.pointLookup(customerID: String(long.dropLast())))
        }
    }
}
