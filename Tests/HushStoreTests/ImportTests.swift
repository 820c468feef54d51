import Foundation
import Testing
import HushCore
@testable import HushStore

@Suite struct ImportTests {
    let now = date("2026-11-24T10:00:00Z")

    func rows(_ count: Int) -> [Suppression] {
        (0..<count).map { Suppression(id: "", subject: .customer("c-\($0)"), kind: .optOut, channels: ["email"], source: "dnc-list") }
    }

    @Test func anImport_IsAllOrNothing() throws {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        var bad = rows(1000)
        bad[500].channels = [] // refused by the scope rules
        #expect { try store.writeAndWait(as: .test) { w throws(StoreError) in try w.importSuppressions(bad, now: now) } } throws: {
            ($0 as? StoreError)?.kind == .conflict
        }
        let reader = try store.makeSQLiteReader()
        for i in [0, 499, 999] {
            let facts = try reader.facts(customerID: "c-\(i)", address: nil, channel: "email", at: now, lookback: 60, holds: [], tombstoneHash: fakeHash)
            #expect(facts.suppressions.isEmpty, "row \(i) was written by a failed import")
        }
    }

    @Test func anImport_CountsImportedAndUnchanged() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let first = try store.writeAndWait(as: .test) { w throws(StoreError) in try w.importSuppressions(rows(100), now: now) }
        #expect(first.imported == 100 && first.unchanged == 0)
        var again = rows(100)
        again[3].confirmed = false
        let second = try store.writeAndWait(as: .test) { w throws(StoreError) in try w.importSuppressions(again, now: now) }
        #expect(second.imported == 1 && second.unchanged == 99)
        let reader = try store.makeSQLiteReader()
        let facts = try reader.facts(customerID: "c-3", address: nil, channel: "email", at: now, lookback: 60, holds: [], tombstoneHash: fakeHash)
        #expect(facts.suppressions.map(\.confirmed) == [false])
    }

    @Test func caseImports_KeepTheUpdatedAtGuard() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let t0 = date("2026-11-20T00:00:00Z"), t1 = date("2026-11-21T00:00:00Z")
        let closed = ServiceCase(id: "k", customerID: "c", severity: .high, status: .closed, openedAt: t0, closedAt: t1, resolution: .positive, updatedAt: t1)
        let olderOpen = ServiceCase(id: "k", customerID: "c", severity: .high, status: .open, openedAt: t0, updatedAt: t0)
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.importCases([closed]) } == (1, 0))
        let second = try store.writeAndWait(as: .test) { w throws(StoreError) in try w.importCases([closed, olderOpen]) }
        #expect(second.imported == 0 && second.unchanged == 2)
        #expect(try store.writeSQLiteAndWait { w throws(StoreError) in try w.readCase("k") }?.status == .closed)
    }

    @Test func updates_ReplaceMutableFields_AndRefreshTheHoldCache() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let added = try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.addSuppression(Suppression(id: "", subject: .customer("c"), kind: .optOut, channels: ["email"], confirmed: false), now: now)
        }
        var confirmed = added.suppression
        confirmed.confirmed = true
        confirmed.expiresAt = date("2027-01-01T00:00:00Z")
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.updateSuppression(confirmed) })
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.readSuppression(added.suppression.id) } == confirmed)
        var missing = confirmed
        missing.id = "nope"
        #expect(try !store.writeAndWait(as: .test) { w throws(StoreError) in try w.updateSuppression(missing) })

        let hold = Hold(id: "storm", title: "Storm", startsAt: date("2026-11-01T00:00:00Z"))
        _ = try store.writeAndWait(as: .test) { w throws(StoreError) in try w.createHold(hold, now: now, limit: 1000) }
        var ended = hold
        ended.endsAt = now
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.updateHold(ended, now: now) })
        #expect(store.holds == [ended])
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.createHold(hold, now: now, limit: 1000) } == .exists(current: ended))
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.deleteHold("storm") })
        #expect(store.holds.isEmpty)
    }
}

@Suite struct HoldLimitTests {
    @Test func holds_AreBounded_AndAFullStoreTakesOneAfterADeletion() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let now = date("2026-11-24T10:00:00Z")
        func hold(_ id: String) -> Hold { Hold(id: id, title: id, startsAt: now) }
        let results = try store.writeSQLiteAndWait(as: .test) { w throws(StoreError) in
            [try w.createHold(hold("a"), now: now, limit: 2), try w.createHold(hold("b"), now: now, limit: 2),
             try w.createHold(hold("c"), now: now, limit: 2)]
        }
        #expect(results == [.created, .created, .full(limit: 2)])
        #expect(store.holds.map(\.id) == ["a", "b"], "nothing was written for the third")
        let after = try store.writeSQLiteAndWait(as: .test) { w throws(StoreError) in
            _ = try w.deleteHold("a")
            return try w.createHold(hold("c"), now: now, limit: 2)
        }
        #expect(after == .created)
    }
}
