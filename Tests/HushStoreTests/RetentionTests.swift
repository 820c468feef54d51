import Foundation
import Synchronization
import Testing
import HushCore
@testable import HushStore

/// Retention: what ages out goes, in bounded jobs, with its history kept, and a store under a
/// steady load of reserves stops growing.
@Suite struct RetentionTests {
    /// A clock the test moves.
    final class Clock: Sendable {
        private let now: Mutex<Date>
        init(_ start: Date) { now = Mutex(start) }
        func advance(_ seconds: TimeInterval) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
        var current: Date { now.withLock { $0 } }
    }

    /// A prune finds what expired through an index, not by reading the whole table: at ten
    /// million customers the scan of two million suppressions ran once per thousand contacts
    /// aged out, on the writer.
    @Test func aPrune_FindsExpiredSuppressionsAndEndedHolds_ThroughAnIndex() throws {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, lookback: 7 * 86_400, tombstoneHash: fakeHash, renderHistory: describeRecord)
        store.close()
        let db = try Database(path: path, mode: .readOnly)
        let expected = [(SQLiteTransaction.expiredSuppressionsSQL, "SEARCH suppressions USING INDEX suppressions_expires (expires_at>? AND expires_at<?)"),
                        (SQLiteTransaction.endedHoldsSQL, "SEARCH holds USING INDEX holds_ends (ends_at>? AND ends_at<?)")]
        for (sql, search) in expected {
            var plan: [String] = []
            try db.prepare("EXPLAIN QUERY PLAN " + sql).query([.integer(0), .integer(10)]) { plan.append($0.text(3) ?? "") }
            // One search, and no temporary B-tree for the ORDER BY: the index gives the order.
            #expect(plan == [search], "\(sql)")
        }
    }

    @Test func aPrune_RemovesOnlyWhatAgedOut_AtMostItsLimitOfEachKind_AndTheHistoryKeepsTheRemovals() throws {
        let path = try makeStorePath()
        let now = date("2026-11-24T10:00:00Z")
        let store = try SQLiteStore(path: path, lookback: 7 * 86_400, clock: { now }, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let ops = Actor(name: "ops", via: .api)
        let window = now.addingTimeInterval(-7 * 86_400)
        try store.writeAndWait(as: ops) { w throws(StoreError) in
            for i in 0..<5 {
                try w.recordContact(customerID: "c-\(i)", Contact(channel: "email", purpose: .marketing, at: window.addingTimeInterval(-Double(i) - 1)), campaignID: nil)
            }
            // At the edge of the window: no decision counts it any more.
            try w.recordContact(customerID: "c-edge", Contact(channel: "email", purpose: .marketing, at: window), campaignID: nil)
            try w.recordContact(customerID: "c-new", Contact(channel: "email", purpose: .marketing, at: window.addingTimeInterval(1)), campaignID: nil)
            try w.recordInteraction(customerID: "c-1", Interaction(type: "complaint", score: -5, at: window.addingTimeInterval(-60)))
            try w.recordInteraction(customerID: "c-1", Interaction(type: "complaint", score: -5, at: now))
        }
        let expiredLongAgo = try store.writeAndWait(as: ops) { w throws(StoreError) in
            try w.addSuppression(Suppression(id: "", subject: .customer("c-1"), kind: .optOut, expiresAt: now.addingTimeInterval(-31 * 86_400)), now: now).suppression
        }
        let expiredLately = try store.writeAndWait(as: ops) { w throws(StoreError) in
            try w.addSuppression(Suppression(id: "", subject: .customer("c-1"), kind: .doNotContact, expiresAt: now.addingTimeInterval(-29 * 86_400)), now: now).suppression
        }
        try store.writeAndWait(as: ops) { w throws(StoreError) in
            _ = try w.createHold(Hold(id: "old-storm", title: "Storm", startsAt: now.addingTimeInterval(-60 * 86_400), endsAt: now.addingTimeInterval(-40 * 86_400)), now: now, limit: 10)
            _ = try w.createHold(Hold(id: "fire", title: "Fire", startsAt: now.addingTimeInterval(-60 * 86_400), endsAt: nil), now: now, limit: 10)
        }

        let retention = Actor(name: "retention", via: .retention)
        let first = try store.writeSQLiteAndWait(as: retention) { w throws(StoreError) in try w.prune(now: now, expiredAfter: 30 * 86_400, limit: 4) }
        #expect(first == PruneCounts(contacts: 4, interactions: 1, suppressions: 1, holds: 1))
        let second = try store.writeSQLiteAndWait(as: retention) { w throws(StoreError) in try w.prune(now: now, expiredAfter: 30 * 86_400, limit: 4) }
        #expect(second == PruneCounts(contacts: 2))
        let third = try store.writeSQLiteAndWait(as: retention) { w throws(StoreError) in try w.prune(now: now, expiredAfter: 30 * 86_400, limit: 4) }
        #expect(third == PruneCounts())

        let reader = try store.makeSQLiteReader()
        #expect(try reader.history(of: .suppression, id: expiredLongAgo.id, after: 0, limit: 10).map { "\($0.operation) \($0.actor) \($0.via)" }
                == ["create ops api", "delete retention retention"])
        #expect(try reader.history(of: .hold, id: "old-storm", after: 0, limit: 10).last.map { "\($0.operation) \($0.actor)" } == "delete retention")
        let db = try Database(path: path, mode: .readOnly)
        func count(_ sql: String) throws -> Int64 {
            var n: Int64 = -1
            try db.prepare(sql).query([]) { n = $0.integer(0) ?? -1 }
            return n
        }
        #expect(try count("SELECT count(*) FROM contacts") == 1)
        #expect(try count("SELECT count(*) FROM interactions") == 1)
        #expect(try count("SELECT count(*) FROM suppressions WHERE id = '\(expiredLately.id)'") == 1)
        #expect(try count("SELECT count(*) FROM holds") == 1)
        #expect(store.holds.map(\.id) == ["fire"])
    }

    @Test func theSchedule_PrunesAtStart_AndAgainWhileAJobFillsItsLimit() throws {
        let path = try makeStorePath()
        let now = date("2026-11-24T10:00:00Z")
        let seed = try SQLiteStore(path: path, lookback: 86_400, clock: { now }, tombstoneHash: fakeHash, renderHistory: describeRecord)
        try seed.writeAndWait(as: Actor(name: "t", via: .api)) { w throws(StoreError) in
            for i in 0..<2_500 {
                try w.recordContact(customerID: "c-\(i % 50)", Contact(channel: "sms", purpose: .marketing, at: now.addingTimeInterval(-2 * 86_400)), campaignID: nil)
            }
        }
        seed.close()
        let store = try SQLiteStore(path: path, lookback: 86_400, clock: { now }, tombstoneHash: fakeHash, renderHistory: describeRecord,
                                    retention: RetentionPolicy(expiredDays: 30, interval: 3600, rowsPerJob: 1000))
        defer { store.close() }
        // Three jobs at start (1,000, 1,000 and 500), without waiting for the hour.
        var waited = 0
        while store.pruned.contacts < 2_500, waited < 500 { usleep(10_000); waited += 1 }
        #expect(store.pruned == PruneCounts(contacts: 2_500))
    }

    @Test func underASteadyLoadOfReserves_TheFileStopsGrowing() throws {
        let path = try makeStorePath()
        let clock = Clock(date("2026-11-24T10:00:00Z"))
        let store = try SQLiteStore(path: path, lookback: 86_400, clock: { clock.current }, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let actor = Actor(name: "sender", via: .api)
        // The file and its write-ahead log (which SQLite checkpoints back every 1,000 pages).
        func size() -> Int {
            [path, path + "-wal"].reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        }
        // Sends every hour for three days: 500 customers, 1,000 contacts an hour, each hour's
        // prune removing what left the 24-hour window. After two days the file holds a day of
        // contacts; through the third it may not grow (without pruning it grows by half).
        var sizes: [Int] = []
        for hour in 0..<72 {
            let at = clock.current
            try store.writeAndWait(as: actor) { w throws(StoreError) in
                for i in 0..<1_000 {
                    try w.recordContact(customerID: "c-\(i % 500)", Contact(channel: "email", purpose: .marketing, at: at), campaignID: "hour-\(hour)")
                }
            }
            _ = try store.writeSQLiteAndWait(as: Actor(name: "retention", via: .retention)) { w throws(StoreError) in
                var total = PruneCounts()
                repeat {
                    let step = try w.prune(now: clock.current, expiredAfter: 30 * 86_400, limit: 1000)
                    total = PruneCounts(contacts: total.contacts + step.contacts)
                    if step.contacts < 1000 { break }
                } while true
                return total
            }
            sizes.append(size())
            clock.advance(3600)
        }
        let afterTwoDays = sizes[47], atTheEnd = sizes[71]
        #expect(afterTwoDays > 0)
        #expect(atTheEnd <= afterTwoDays + afterTwoDays / 20, "sizes by hour: \(sizes)")
        var rows: Int64 = 0
        let db = try Database(path: path, mode: .readOnly)
        try db.prepare("SELECT count(*) FROM contacts").query([]) { rows = $0.integer(0) ?? -1 }
        #expect(rows == 24 * 1_000)
    }
}
