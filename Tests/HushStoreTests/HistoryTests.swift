import Foundation
import Testing
import HushCore
@testable import HushStore

/// The history of changes: written by the store in the transaction of each change, under the
/// job's actor, and erased with the customer.
@Suite struct HistoryTests {
    let now = date("2026-11-24T10:00:00Z")

    func open() throws -> (SQLiteStore, SQLiteReader, String) {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        return (store, try store.makeSQLiteReader(), path)
    }

    @Test func aSuppressionsChanges_AreKeptInOrder_WithActorAndBothRecords_AfterItsDeletion() throws {
        let (store, reader, _) = try open()
        defer { store.close() }
        let ops = Actor(name: "ops-console", via: .api)
        let added = try store.writeAndWait(as: ops) { w throws(StoreError) in
            try w.addSuppression(Suppression(id: "", subject: .customer("c-1"), kind: .optOut, channels: ["sms"]), now: now).suppression
        }
        // The same identity again is the stored suppression, unchanged, with nothing in its history.
        let again = try store.writeAndWait(as: ops) { w throws(StoreError) in
            try w.addSuppression(Suppression(id: "", subject: .customer("c-1"), kind: .optOut, channels: ["sms"], source: "another"), now: now)
        }
        #expect(!again.created && again.suppression == added)
        var changed = added
        changed.confirmed = false
        #expect(try store.writeAndWait(as: Actor(name: "crm-sync", via: .import)) { w throws(StoreError) in try w.updateSuppression(changed) })
        #expect(try store.writeAndWait(as: ops) { w throws(StoreError) in try w.deleteSuppression(added.id) })
        reader.endSnapshot()

        let history = try reader.history(of: .suppression, id: added.id, after: 0, limit: 10)
        #expect(history.map(\.operation) == [.create, .update, .delete])
        #expect(history.map(\.actor) == ["ops-console", "crm-sync", "ops-console"])
        #expect(history.map(\.via) == [.api, .import, .api])
        #expect(history.allSatisfy { $0.kind == .suppression && $0.recordID == added.id && $0.at == now })
        #expect(history[0].before == nil && history[0].after == describeRecord(.suppression(added)))
        #expect(history[1].before == describeRecord(.suppression(added)) && history[1].after == describeRecord(.suppression(changed)))
        #expect(history[2].before == describeRecord(.suppression(changed)) && history[2].after == nil)
        #expect(history[0].seq < history[1].seq && history[1].seq < history[2].seq)
        // Paged: after the first change, the two others.
        #expect(try reader.history(of: .suppression, id: added.id, after: history[0].seq, limit: 10).map(\.operation) == [.update, .delete])
    }

    @Test func aWriteThatChangesNothing_OrIsStale_OrFails_RecordsNothing() throws {
        let (store, reader, _) = try open()
        defer { store.close() }
        let open = ServiceCase(id: "k-1", customerID: "c-1", severity: .high, status: .open, openedAt: now, updatedAt: now)
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.upsertCase(open) } == .created)
        // The same case again, and an older one: neither is a change.
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.importCases([open]) } == (imported: 0, unchanged: 1))
        var older = open
        older.updatedAt = now.addingTimeInterval(-60)
        older.status = .closed
        older.closedAt = now.addingTimeInterval(-60)
        older.resolution = .positive
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.upsertCase(older) } == .stale(current: open))
        // A job that changes the case and then fails leaves neither the change nor its history.
        var closed = open
        closed.status = .closed
        closed.closedAt = now
        closed.updatedAt = now.addingTimeInterval(1)
        #expect(throws: StoreError.self) {
            try store.writeAndWait(as: .test) { w throws(StoreError) in
                _ = try w.upsertCase(closed)
                throw StoreError(kind: .conflict, message: "the job fails after its change")
            }
        }
        // A profile stored twice alike is one change.
        let profile = Profile(customerID: "c-1", region: "GB-LND", email: "c1@example.com")
        try store.writeAndWait(as: .test) { w throws(StoreError) in try w.upsertProfile(profile, now: now) }
        try store.writeAndWait(as: .test) { w throws(StoreError) in try w.upsertProfile(profile, now: now) }
        reader.endSnapshot()
        #expect(try reader.history(of: .case, id: "k-1", after: 0, limit: 10).map(\.operation) == [.create])
        #expect(try reader.history(of: .profile, id: "c-1", after: 0, limit: 10).map(\.operation) == [.create])
    }

    @Test func aChange_WithoutAnActor_IsRefused_AndNothingIsWritten() throws {
        let (store, reader, _) = try open()
        defer { store.close() }
        #expect { try store.writeSQLiteAndWait { w throws(StoreError) in try w.createHold(Hold(id: "storm", title: "Storm", startsAt: now), now: now, limit: 10) } }
            throws: { ($0 as? StoreError)?.kind == .internalError }
        reader.endSnapshot()
        #expect(store.holds.isEmpty)
        #expect(try reader.history(of: .hold, id: "storm", after: 0, limit: 10).isEmpty)
    }

    @Test func anErasure_DeletesTheCustomersHistory_KeepsOthers_AndLeavesOnlyWhoErasedAndWhen() throws {
        let (store, reader, path) = try open()
        defer { store.close() }
        let email = "erase.me@example.com", phone = "+447700900123"
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.upsertProfile(Profile(customerID: "c-gone", region: "GB-LND", email: "old.address@example.com"), now: now)
            // A later address, so that the profile's history holds both.
            try w.upsertProfile(Profile(customerID: "c-gone", region: "GB-LND", email: email, phone: phone), now: now)
            _ = try w.upsertCase(ServiceCase(id: "k-gone", customerID: "c-gone", severity: .low, status: .open, openedAt: now, updatedAt: now))
            _ = try w.addSuppression(Suppression(id: "", subject: .customer("c-gone"), kind: .optOut), now: now)
            _ = try w.addSuppression(Suppression(id: "", subject: .address(.email(email)), kind: .doNotContact), now: now)
            _ = try w.addSuppression(Suppression(id: "", subject: .address(.phone(phone)), kind: .optOut), now: now)
            _ = try w.createHold(Hold(id: "storm", title: "Storm", startsAt: self.now), now: self.now, limit: 10)
            try w.upsertProfile(Profile(customerID: "c-stays", email: "stays@example.com"), now: now)
        }
        // A suppression of the customer's, deleted before the erasure: its history goes too.
        let deleted = try store.writeAndWait(as: .test) { w throws(StoreError) in
            let s = try w.addSuppression(Suppression(id: "", subject: .customer("c-gone"), kind: .objection), now: now).suppression
            _ = try w.deleteSuppression(s.id)
            return s.id
        }
        let eraser = Actor(name: "dpo-key", via: .api)
        _ = try store.writeAndWait(as: eraser) { w throws(StoreError) in try w.erase(customerID: "c-gone", tombstoneHash: fakeHash) }
        // Again: nothing left to remove, nothing recorded.
        _ = try store.writeAndWait(as: eraser) { w throws(StoreError) in try w.erase(customerID: "c-gone", tombstoneHash: fakeHash) }
        reader.endSnapshot()

        #expect(try reader.history(of: .profile, id: "c-gone", after: 0, limit: 10).isEmpty)
        #expect(try reader.history(of: .case, id: "k-gone", after: 0, limit: 10).isEmpty)
        #expect(try reader.history(of: .suppression, id: deleted, after: 0, limit: 10).isEmpty)
        #expect(try reader.history(ofCustomer: "c-gone", addresses: [email, phone], limit: 100).isEmpty)
        #expect(try reader.history(of: .hold, id: "storm", after: 0, limit: 10).count == 1)
        #expect(try reader.history(ofCustomer: "c-stays", addresses: [], limit: 10).count == 1)
        let erasure = try #require(try reader.erasure(tombstone: fakeHash(.customer("c-gone"))))
        #expect(erasure.actor == "dpo-key" && erasure.operation == .erase && erasure.at == now)
        #expect(erasure.before == nil && erasure.after == nil)
        #expect(erasure.recordID == Hex.encode(fakeHash(.customer("c-gone"))))
        var erasures = 0
        let db = try Database(path: path, mode: .readOnly)
        try db.prepare("SELECT count(*) FROM history WHERE record_kind = 'erasure'").query([]) {
            erasures = Int($0.integer(0)!)
        }
        #expect(erasures == 1)
        let text = try allText(in: path).joined(separator: "\n")
        for secret in ["c-gone", email, phone, "k-gone", "old.address@example.com"] { #expect(!text.contains(secret), "\(secret) is still in the database") }
    }
}
