import CSQLite
import Foundation
import Testing
import HushCore
@testable import HushStore

func makeStorePath() throws -> String {
    let directory = URL(fileURLWithPath: storeTestsDirectory).appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent("hush.db").path
}

/// Where this process's tests make their stores: one directory, removed when the process
/// exits, so that test runs do not pile databases up in the temporary directory.
let storeTestsDirectory: String = {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("hush-store-tests-\(getpid())").path
    atexit { try? FileManager.default.removeItem(atPath: storeTestsDirectory) }
    return path
}()

/// A stand-in for the API's JSON: the record's description.
@Sendable func describeRecord(_ record: HistoryRecord) -> String { String(describing: record) }

extension Actor {
    /// The writer of the store's tests.
    static let test = Actor(name: "test-key", via: .api)
}

/// A stand-in for the HMAC the API computes: 32 deterministic bytes per subject.
@Sendable func fakeHash(_ subject: Subject) -> [UInt8] {
    let text: String = switch subject {
    case .customer(let id): "c:" + id
    case .address(let address): "a:" + address.value
    }
    var state: UInt64 = 0xcbf29ce484222325
    var out: [UInt8] = []
    for round in 0..<4 {
        for b in text.utf8 { state = (state ^ UInt64(b)) &* 0x100000001b3 }
        state = (state ^ UInt64(round)) &* 0x100000001b3
        withUnsafeBytes(of: state.bigEndian) { out.append(contentsOf: $0) }
    }
    return out
}

func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

/// The writer's clock in these tests: the same "now" the tests decide at.
let testClock: @Sendable () -> Date = { date("2026-11-24T10:00:00Z") }

/// Every text value in every table, for the erasure audit.
func allText(in path: String) throws -> [String] {
    let db = try Database(path: path, mode: .readOnly)
    var tables: [String] = []
    try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").query([]) { row in tables.append(row.text(0)!) }
    var values: [String] = []
    for table in tables {
        let statement = try db.prepare("SELECT * FROM \"\(table)\"")
        try statement.query([]) { row in
            for column in 0..<sqlite3_column_count(row.statement) {
                // Blobs (the facts records) are read as bytes: they hold NULs, and e-mails.
                if sqlite3_column_type(row.statement, column) == SQLITE_BLOB {
                    values.append(String(decoding: row.blob(column), as: UTF8.self))
                } else if let text = row.text(column) {
                    values.append(text)
                }
            }
        }
    }
    return values
}

@Suite struct StoreTests {
    let now = date("2026-11-24T10:00:00Z")

    @Test func migrations_RunFromEmpty_AndAgainAsANoOp() throws {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        store.close()
        let db = try Database(path: path, mode: .readWrite)
        #expect(try Migrations.userVersion(db) == Migrations.all.count)
        var tables: [String] = []
        try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").query([]) { tables.append($0.text(0)!) }
        #expect(tables == ["cases", "contacts", "customer_records", "history", "holds", "interactions", "meta", "profiles", "suppressions", "tombstones"])
        var mode = ""
        try db.prepare("PRAGMA journal_mode").query([]) { mode = $0.text(0)! }
        #expect(mode == "wal")
        let again = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        again.close()
    }

    @Test func aDatabaseFromANewerHush_IsRefused() throws {
        let path = try makeStorePath()
        try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord).close()
        try Database(path: path, mode: .readWrite).exec("PRAGMA user_version = 99")
        #expect { try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord) } throws: { ($0 as? StoreError)?.kind == .unavailable && "\($0)".contains("newer") }
    }

    @Test func aFileThatIsNotADatabase_IsUnavailable_NotACrash() throws {
        let path = try makeStorePath()
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: path))
        #expect { try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord) } throws: { ($0 as? StoreError)?.kind == .unavailable }
    }

    @Test func writes_AreReadBackAsFacts_AndDecidedOn() throws {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let opened = date("2026-11-20T09:12:00Z")
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.upsertProfile(Profile(customerID: "c-1", region: "US-CA", timeZone: TimeZone(identifier: "America/Los_Angeles"),
                                        email: "jo@example.com", phone: "+14155550100"), now: now)
            _ = try w.upsertCase(ServiceCase(id: "8812", customerID: "c-1", severity: .high, status: .open, openedAt: opened, updatedAt: opened))
            _ = try w.addSuppression(Suppression(id: "", subject: .address(.email("jo@example.com")), kind: .optOut, channels: ["email"]), now: now)
            _ = try w.createHold(Hold(id: "wildfire-ca", title: "California wildfire", reason: "no grilling", regions: ["US-CA"],
                                      categories: ["grilling"], startsAt: date("2026-11-01T00:00:00Z")), now: now, limit: 1000)
            try w.recordContact(customerID: "c-1", Contact(channel: "sms", purpose: .marketing, at: date("2026-11-23T10:00:00Z")), campaignID: "bf")
            try w.recordContact(customerID: "c-1", Contact(channel: "sms", purpose: .marketing, at: date("2026-11-10T10:00:00Z")), campaignID: nil)
            try w.recordInteraction(customerID: "c-1", Interaction(type: "complaint", score: -5, at: date("2026-11-23T10:00:00Z")))
        }
        #expect(store.holds.map(\.id) == ["wildfire-ca"], "the hold cache is refreshed after the commit")
        let reader = try store.makeSQLiteReader()
        let facts = try reader.facts(customerID: "c-1", address: nil, channel: "email", at: now, lookback: Policy.standard.longestWindow,
                                     holds: store.holds, tombstoneHash: fakeHash)
        #expect(facts.profile?.region == "US-CA")
        #expect(facts.profile?.timeZone?.identifier == "America/Los_Angeles")
        #expect(facts.cases.map(\.id) == ["8812"])
        #expect(facts.suppressions.count == 1, "found through the profile's e-mail")
        #expect(facts.contacts.count == 1, "the contact 14 days ago is outside the lookback")
        #expect(facts.interactions.map(\.score) == [-5])
        #expect(!facts.customerErased)
        let decision = decide(DecisionRequest(customerID: "c-1", channel: "email", categories: ["grilling"]), facts: facts, policy: .standard, now: now)
        #expect(decision.reasons.map(\.code) == [.optedOut, .openCase, .environmentalHold])
    }

    /// A long write, waited for with a call every interval meanwhile (a node keeps its
    /// replication connection alive so): the calls come on the waiting thread while the work
    /// runs, the result comes back, and an error thrown by the work reaches the caller.
    @Test func aLongWrite_CallsTheWaiterMeanwhile_AndReturnsItsResultOrError() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let caller = Thread.current
        var calls = 0, onCaller = true
        let result = try store.writeSQLiteAndWait(every: 0.02, whileWaiting: { calls += 1; onCaller = onCaller && Thread.current == caller }) { _ throws(StoreError) in
            usleep(300_000)
            return 42
        }
        #expect(result == 42)
        #expect(calls >= 1)
        #expect(onCaller)
        #expect(throws: StoreError.self) {
            try store.writeSQLiteAndWait(every: 0.02) { _ throws(StoreError) -> Int in
                usleep(50_000)
                throw StoreError(kind: .internalError, message: "refused")
            }
        }
    }

    @Test func caseUpdates_OlderThanTheStoredOne_AreRefusedWithTheCurrentCase() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let t0 = date("2026-11-20T00:00:00Z"), t1 = date("2026-11-21T00:00:00Z")
        let open = ServiceCase(id: "1", customerID: "c", severity: .high, status: .open, openedAt: t0, updatedAt: t0)
        var closed = open
        closed.status = .closed; closed.closedAt = t1; closed.resolution = .positive; closed.updatedAt = t1
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.upsertCase(open) } == .created)
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.upsertCase(closed) } == .replaced)
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.upsertCase(open) } == .stale(current: closed))
        #expect(try store.writeSQLiteAndWait { w throws(StoreError) in try w.readCase("1") }?.status == .closed)
    }

    @Test func suppressions_AreIdempotentOnTheirIdentity() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let s = Suppression(id: "", subject: .customer("c"), kind: .optOut, channels: ["sms", "email"], source: "a")
        let first = try store.writeAndWait(as: .test) { w throws(StoreError) in try w.addSuppression(s, now: now) }
        var reordered = s
        reordered.channels = ["email", "sms"]
        reordered.source = "b"
        let second = try store.writeAndWait(as: .test) { w throws(StoreError) in try w.addSuppression(reordered, now: now) }
        #expect(first.created && !second.created)
        #expect(first.suppression.id == second.suppression.id && first.suppression.id.count == 32)
        var broader = s
        broader.channels = nil
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.addSuppression(broader, now: now) }.created)
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.deleteSuppression(first.suppression.id) })
        #expect(try !store.writeAndWait(as: .test) { w throws(StoreError) in try w.deleteSuppression(first.suppression.id) })
    }

    @Test func aFailingJob_LeavesTheOthersInItsBatchWritten() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let group = DispatchGroup()
        let results = ResultBox()
        for i in 0..<20 {
            group.enter()
            store.write(as: .test, { w throws(StoreError) in
                if i == 7 { _ = try w.addSuppression(Suppression(id: "", subject: .customer("c"), kind: .optOut, channels: []), now: now) }
                try w.recordContact(customerID: "c-\(i)", Contact(channel: "email", purpose: .marketing, at: now), campaignID: nil)
            }, completion: { result in
                results.set(i, result)
                group.leave()
            })
        }
        #expect(group.wait(timeout: .now() + 10) == .success)
        #expect(results.failures == [7])
        let reader = try store.makeSQLiteReader()
        for i in 0..<20 {
            let facts = try reader.facts(customerID: "c-\(i)", address: nil, channel: "email", at: now, lookback: 86_400, holds: [], tombstoneHash: fakeHash)
            #expect(facts.contacts.count == (i == 7 ? 0 : 1), "job \(i)")
        }
    }

    @Test func erasure_LeavesNoRowWithTheCustomersIDOrAddress_ButKeepsThemSuppressed() throws {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let id = "c-erase-me", email = "erase.me@example.com", phone = "+447700900123"
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.upsertProfile(Profile(customerID: id, region: "GB", email: email, phone: phone), now: now)
            _ = try w.upsertCase(ServiceCase(id: "k1", customerID: id, severity: .low, status: .open, openedAt: now, updatedAt: now))
            _ = try w.upsertCase(ServiceCase(id: "k2", customerID: id, severity: .high, status: .closed, openedAt: now, closedAt: now, updatedAt: now))
            _ = try w.addSuppression(Suppression(id: "", subject: .customer(id), kind: .objection), now: now)
            _ = try w.addSuppression(Suppression(id: "", subject: .address(.email(email)), kind: .doNotContact), now: now)
            for _ in 0..<5 { try w.recordContact(customerID: id, Contact(channel: "email", purpose: .marketing, at: now), campaignID: "x") }
            for _ in 0..<3 { try w.recordInteraction(customerID: id, Interaction(type: "purchase", score: 2, at: now)) }
            try w.upsertProfile(Profile(customerID: "someone-else", email: "other@example.com"), now: now)
        }
        let removed = try store.writeAndWait(as: .test) { w throws(StoreError) in try w.erase(customerID: id, tombstoneHash: fakeHash) }
        var expected = ErasureCounts()
        (expected.profile, expected.cases, expected.suppressions, expected.contacts, expected.interactions) = (1, 2, 2, 5, 3)
        expected.addresses = [.email(email), .phone(phone)]
        #expect(removed == expected)
        let text = try allText(in: path)
        for secret in [id, email, phone] { #expect(!text.contains { $0.contains(secret) }, "\(secret) is still stored") }
        #expect(text.contains("someone-else"), "other customers are untouched")
        // Idempotent.
        #expect(try store.writeAndWait(as: .test) { w throws(StoreError) in try w.erase(customerID: id, tombstoneHash: fakeHash) } == .init())
        // Still suppressed, by id and by address, also when a later sync brings them back.
        try store.writeAndWait(as: .test) { w throws(StoreError) in try w.upsertProfile(Profile(customerID: id, email: email), now: now) }
        let reader = try store.makeSQLiteReader()
        let facts = try reader.facts(customerID: id, address: nil, channel: "email", at: now, lookback: 86_400, holds: [], tombstoneHash: fakeHash)
        #expect(facts.customerErased && facts.erasedAddresses == [.email(email)])
        let byPhone = try reader.facts(customerID: nil, address: .phone(phone), channel: "sms", at: now, lookback: 86_400, holds: [], tombstoneHash: fakeHash)
        #expect(byPhone.erasedAddresses == [.phone(phone)])
        #expect(decide(DecisionRequest(address: .phone(phone), channel: "sms", purpose: .transactional), facts: byPhone, policy: .standard, now: now).reasons.map(\.code) == [.erased])
    }

    @Test func tombstones_SurviveARestart_AndAFailedErasurePublishesNone() throws {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        try store.writeAndWait(as: .test) { w throws(StoreError) in try w.upsertProfile(Profile(customerID: "gone", email: "gone@example.com"), now: now) }
        _ = try store.writeAndWait(as: .test) { w throws(StoreError) in try w.erase(customerID: "gone", tombstoneHash: fakeHash) }
        // An erasure whose job fails afterwards is rolled back, tombstones included.
        #expect(throws: StoreError.self) {
            try store.writeAndWait(as: .test) { w throws(StoreError) in
                _ = try w.erase(customerID: "kept", tombstoneHash: fakeHash)
                _ = try w.addSuppression(Suppression(id: "", subject: .customer("kept"), kind: .optOut, channels: []), now: now)
            }
        }
        store.close()
        let reopened = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { reopened.close() }
        let reader = try reopened.makeSQLiteReader()
        let gone = try reader.facts(customerID: "gone", address: .email("gone@example.com"), channel: "email", at: now, lookback: 60, holds: [], tombstoneHash: fakeHash)
        #expect(gone.customerErased && gone.erasedAddresses == [.email("gone@example.com")])
        let kept = try reader.facts(customerID: "kept", address: nil, channel: "email", at: now, lookback: 60, holds: [], tombstoneHash: fakeHash)
        #expect(!kept.customerErased)
        #expect(reopened.tombstones.count == 2)
    }

    @Test func aFullWriterQueue_RefusesWritesAtOnce_AndRecovers() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, maxQueuedWrites: 3, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let release = DispatchSemaphore(value: 0), started = DispatchSemaphore(value: 0)
        let results = ResultBox()
        let group = DispatchGroup()
        group.enter()
        store.write(as: .test, { _ throws(StoreError) in started.signal(); release.wait() }, completion: { _ in group.leave() })
        started.wait() // the writer is busy with the first job; the next three wait
        for i in 0..<4 {
            group.enter()
            store.write(as: .test, { w throws(StoreError) in
                try w.recordContact(customerID: "q-\(i)", Contact(channel: "email", purpose: .marketing, at: now), campaignID: nil)
            }, completion: { result in results.set(i, result); group.leave() })
        }
        #expect(results.failures == [3], "the fourth waiting write is refused before the writer frees up")
        release.signal()
        #expect(group.wait(timeout: .now() + 10) == .success)
        #expect(results.failures == [3])
        // The three queued writes committed, the refused one did not, and the writer takes writes again.
        #expect(try store.writeSQLiteAndWait { w throws(StoreError) in try w.prune(before: now) }.contacts == 3)
    }

    @Test func concurrentReserves_NeverExceedACap() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        let reserved = Counter()
        let group = DispatchGroup()
        for _ in 0..<40 {
            group.enter()
            DispatchQueue.global().async {
                let request = DecisionRequest(customerID: "c-cap", channel: "email", at: self.now)
                store.write(as: .test, { w throws(StoreError) in
                    // The decision function is the caller's: the store only gathers, calls it, and records.
                    try w.reserve(request, now: self.now, lookback: Policy.standard.longestWindow, campaignID: nil, tombstoneHash: fakeHash) { facts in
                        decide(request, facts: facts, policy: .standard, now: self.now)
                    }.reserved
                }, completion: { result in
                    if case .success(true) = result { reserved.increment() }
                    group.leave()
                })
            }
        }
        #expect(group.wait(timeout: .now() + 20) == .success)
        #expect(reserved.value == 3, "the e-mail cap is 3 per 7 days")
    }

    @Test func prune_DropsContactsAndInteractionsOlderThanTheCutoff() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.recordContact(customerID: "c", Contact(channel: "email", purpose: .marketing, at: date("2026-10-01T00:00:00Z")), campaignID: nil)
            try w.recordContact(customerID: "c", Contact(channel: "email", purpose: .marketing, at: date("2026-11-23T00:00:00Z")), campaignID: nil)
            try w.recordInteraction(customerID: "c", Interaction(type: "complaint", score: -5, at: date("2026-10-01T00:00:00Z")))
        }
        let pruned = try store.writeSQLiteAndWait { w throws(StoreError) in try w.prune(before: date("2026-11-17T00:00:00Z")) }
        #expect(pruned.contacts == 1 && pruned.interactions == 1)
    }

    @Test func writingThroughAReadOnlyConnection_IsUnavailable_NotAConflict() throws {
        let path = try makeStorePath()
        try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord).close()
        let db = try Database(path: path, mode: .readOnly)
        #expect { try db.exec("INSERT INTO tombstones (hash) VALUES (zeroblob(32))") } throws: {
            guard let error = $0 as? StoreError else { return false }
            return error.kind == .unavailable && error.code & 0xFF == SQLITE_READONLY
        }
    }

    @Test func constraintViolations_AreConflicts() throws {
        let path = try makeStorePath()
        try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord).close()
        let db = try Database(path: path, mode: .readWrite)
        #expect { try db.exec("INSERT INTO tombstones (hash) VALUES (zeroblob(3))") } throws: { ($0 as? StoreError)?.kind == .conflict }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var failed: Set<Int> = []
    func set(_ i: Int, _ result: Result<Void, StoreError>) {
        lock.lock(); defer { lock.unlock() }
        if case .failure = result { failed.insert(i) }
    }
    var failures: [Int] { lock.lock(); defer { lock.unlock() }; return failed.sorted() }
}
