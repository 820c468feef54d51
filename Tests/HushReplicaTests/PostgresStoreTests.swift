import Foundation
import Synchronization
import Testing
import HushCore
import HushTestSupport
import HushPostgres
import HushStore
@testable import HushReplica

/// Two nodes on one PostgreSQL primary, each with its own image: writes through either are
/// acknowledged once committed and applied on that node, seen on the other once it reached the
/// write's token, reservations across nodes respect a cap, erasure reaches both images, and a
/// node cut off from the primary turns stale.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (apt-get install postgresql)"))
struct PostgresStoreTests {
    static let hash: @Sendable (Subject) -> [UInt8] = { subject in
        let text = switch subject { case .customer(let id): "c:" + id; case .address(let a): "a:" + a.value }
        var bytes = Array(text.utf8.prefix(32))
        bytes += [UInt8](repeating: 0, count: 32 - bytes.count)
        return bytes
    }

    static func node(_ cluster: PostgresCluster, _ name: String, maxLag: Double = 1) throws -> PostgresStore {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-node-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var options = PostgresStore.Options(url: cluster.url(), slot: name)
        options.maxLag = maxLag
        return try PostgresStore(options: options, imagePath: directory.appendingPathComponent("image.db").path, lookback: 7 * 86_400,
                                 tombstoneHash: hash, renderHistory: render)
    }

    /// The history's rendering in these tests: the kind and id, a suppression's source, a
    /// profile's region, a case's status and update time.
    static let render: HistoryRenderer = { record in
        if case .suppression(let s) = record { return "suppression \(s.id) \(s.source ?? "")" }
        if case .profile(let p) = record { return "profile \(p.customerID) \(p.region ?? "")" }
        if case .serviceCase(let c) = record { return "case \(c.id) \(c.status.rawValue) \(c.updatedAt.timeIntervalSince1970)" }
        return "\(record.kind.rawValue) \(record.id)"
    }

    static func ready(_ store: PostgresStore, within seconds: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if store.staleness(now: Date()) == nil { return true }
            usleep(20_000)
        }
        return false
    }

    /// A write through `store`, with its token.
    static func write<T: Sendable>(_ store: PostgresStore, _ job: @escaping @Sendable (any StoreTransaction) throws(StoreError) -> T)
        throws -> (T, ConsistencyToken?) {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<(Result<T, StoreError>, ConsistencyToken?)?>(nil)
        store.write(as: Actor(name: "test", via: .api), job, committed: { result, token in
            outcome.withLock { $0 = (result, token) }
            done.signal()
        })
        done.wait()
        let (result, token) = outcome.withLock { $0 }!
        return (try result.get(), token)
    }

    /// `whenCurrent`, waited for: whether the node reached `token` within `timeout`.
    static func wait(_ store: PostgresStore, through token: ConsistencyToken, timeout: Double) -> Bool {
        let reached = DispatchSemaphore(value: 0)
        let result = Mutex(false)
        store.whenCurrent(through: token, timeout: timeout) { ok in
            result.withLock { $0 = ok }
            reached.signal()
        }
        reached.wait()
        return result.withLock { $0 }
    }

    static func facts(_ store: PostgresStore, _ customerID: String, channel: Channel = .email) throws -> Facts {
        try store.makeReader().facts(customerID: customerID, address: nil, channel: channel, at: Date(), lookback: 7 * 86_400,
                                     holds: store.holds, tombstoneHash: hash)
    }

    @Test func aWrite_IsSeenOnItsNodeWhenAcknowledged_AndOnTheOtherOnceItReachedTheToken() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let a = try Self.node(cluster, "node_a"), b = try Self.node(cluster, "node_b")
        defer { a.close(); b.close() }
        #expect(Self.ready(a) && Self.ready(b))

        let optOut = Suppression(id: "", subject: .customer("c-1"), kind: .optOut, channels: [.sms])
        let (added, token) = try Self.write(a) { w throws(StoreError) in try w.addSuppression(optOut, now: Date()) }
        #expect(added.created)
        let written = try #require(token)
        // On the node that took it: at once.
        #expect(try Self.facts(a, "c-1").suppressions.map(\.id) == [added.suppression.id])
        #expect(a.isCurrent(through: written))
        // On the other: once it reached the token.
        #expect(Self.wait(b, through: written, timeout: 5))
        #expect(try Self.facts(b, "c-1").suppressions.map(\.id) == [added.suppression.id])

        // The same identity through the other node is the stored one, not a second row.
        let (again, _) = try Self.write(b) { w throws(StoreError) in try w.addSuppression(optOut, now: Date()) }
        #expect(!again.created && again.suppression.id == added.suppression.id)
        // The history names the change, once, on the primary and in both images.
        let db = try PGConnection(cluster.url())
        #expect(try db.query("SELECT operation, actor FROM history WHERE record_id = $1", [added.suppression.id]).rows == [["create", "test"]])
        #expect(try b.makeReader().history(of: .suppression, id: added.suppression.id, after: 0, limit: 10).map(\.operation) == [.create])

        // A token the primary has not reached yet is not current, and a wait for it times out.
        let ahead = ConsistencyToken(written.value + 1 << 40)
        #expect(!b.isCurrent(through: ahead))
        #expect(!Self.wait(b, through: ahead, timeout: 0.2))
    }

    @Test func profilesImportedThroughOneNode_AreOnTheOther_AndTheSameRowsAgainAreUnchanged() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let a = try Self.node(cluster, "node_a"), b = try Self.node(cluster, "node_b")
        defer { a.close(); b.close() }
        #expect(Self.ready(a) && Self.ready(b))
        let rows = (0..<300).map { Profile(customerID: "p-\($0)", region: "FR", email: "p\($0)@example.com") }
        let (first, token) = try Self.write(a) { w throws(StoreError) in try w.importProfiles(rows, now: Date()) }
        #expect(first.imported == 300 && first.unchanged == 0)
        #expect(Self.wait(b, through: try #require(token), timeout: 5))
        #expect(try Self.facts(b, "p-299").profile == rows[299])
        var edited = rows
        edited[42].region = "DE"
        let changed = edited
        let (second, _) = try Self.write(b) { w throws(StoreError) in try w.importProfiles(changed, now: Date()) }
        #expect(second.imported == 1 && second.unchanged == 299)
        let db = try PGConnection(cluster.url())
        #expect(try db.query("SELECT region FROM profiles WHERE customer_id = 'p-42'").rows == [["DE"]])
        #expect(try db.query("SELECT count(*) FROM history WHERE record_kind = 'profile' AND operation = 'create'").rows == [["300"]])
    }

    /// Suppressions for the set-based import: 2,000 customers and 500 phone numbers, one of
    /// them stored already as it is, one stored with another source, and two identities twice
    /// in the file (once changed, once the same).
    static func suppressionImport() -> (stored: [Suppression], rows: [Suppression]) {
        func row(_ subject: Subject, _ source: String, channels: Set<Channel>? = [.email, .sms]) -> Suppression {
            Suppression(id: "", subject: subject, kind: .optOut, channels: channels, source: source)
        }
        let stored = [row(.customer("s-0"), "list"), row(.customer("s-1"), "old list")]
        var rows = (0..<2000).map { row(.customer("s-\($0)"), "list") }
        rows += (0..<500).map { row(.address(.phone("+4477009\(String(format: "%05d", $0))")), "registry", channels: nil) }
        rows.insert(row(.customer("s-5"), "second"), at: 1500)
        rows.insert(row(.customer("s-6"), "list"), at: 1700)
        return (stored, rows)
    }

    /// A SQLite store in a directory of its own, whose imports go row by row: what the
    /// set-based imports on PostgreSQL are checked against.
    static func rowByRowStore() throws -> SQLiteStore {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-rows-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try SQLiteStore(path: directory.appendingPathComponent("rows.db").path, lookback: 7 * 86_400, tombstoneHash: hash,
                               renderHistory: render)
    }

    @Test func suppressionsImportedOnPostgreSQL_MergeAsTheRowByRowImportDoes_AndReachTheOtherNode() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let a = try Self.node(cluster, "node_a"), b = try Self.node(cluster, "node_b")
        defer { a.close(); b.close() }
        #expect(Self.ready(a) && Self.ready(b))
        let (stored, rows) = Self.suppressionImport()
        _ = try Self.write(a) { w throws(StoreError) in for s in stored { _ = try w.addSuppression(s, now: Date()) } }
        let (counts, token) = try Self.write(a) { w throws(StoreError) in try w.importSuppressions(.array(rows), now: Date()) }

        // The same rows through the SQLite store's row-by-row import.
        let sqlite = try Self.rowByRowStore()
        defer { sqlite.close() }
        _ = try sqlite.writeAndWait(as: Actor(name: "test", via: .api)) { w throws(StoreError) in for s in stored { _ = try w.addSuppression(s, now: Date()) } }
        let rowByRow = try sqlite.writeAndWait(as: Actor(name: "test", via: .import)) { w throws(StoreError) in try w.importSuppressions(.array(rows), now: Date()) }
        #expect(counts == rowByRow)
        #expect(counts == (imported: 2500, unchanged: 2), "s-0 as stored, and s-6 again the same")

        let db = try PGConnection(cluster.url())
        #expect(try db.query("SELECT count(*) FROM suppressions").rows == [["2500"]])
        #expect(try db.query("SELECT customer_id, source FROM suppressions WHERE customer_id IN ('s-1', 's-5') ORDER BY 1").rows
                == [["s-1", "list"], ["s-5", "second"]])
        // One entry a record created or changed: the two stored first, 2,498 by the import (all
        // but s-0 and s-1), and s-1's update.
        #expect(try db.query("SELECT operation, count(*) FROM history WHERE record_kind = 'suppression' GROUP BY 1 ORDER BY 1").rows
                == [["create", "2500"], ["update", "1"]])
        let s1 = try #require(try db.query("SELECT id FROM suppressions WHERE customer_id = 's-1'").rows.first?.first ?? nil)
        #expect(try a.makeReader().history(of: .suppression, id: s1, after: 0, limit: 10).map(\.operation) == [.create, .update])

        #expect(Self.wait(b, through: try #require(token), timeout: 10))
        #expect(try Self.facts(b, "s-1999").suppressions.map(\.source) == ["list"])
        #expect(try Self.facts(b, "s-5").suppressions.map(\.source) == ["second"])

        // A row the scope rules refuse fails the whole import, and nothing of it is written.
        var refused = rows.map { row in var copy = row; copy.source = "again"; return copy }
        refused[2400].channels = []
        let bad = refused
        #expect { try Self.write(a) { w throws(StoreError) in try w.importSuppressions(.array(bad), now: Date()) } } throws: {
            ($0 as? StoreError)?.kind == .conflict
        }
        #expect(try db.query("SELECT count(*) FROM suppressions WHERE source = 'again'").rows == [["0"]])
    }

    @Test func profilesImportedOnPostgreSQL_CountAsTheRowByRowImportDoes_AndStoreTheLastRowOfEachCustomer() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let a = try Self.node(cluster, "node_a"), b = try Self.node(cluster, "node_b")
        defer { a.close(); b.close() }
        #expect(Self.ready(a) && Self.ready(b))
        func profile(_ i: Int, _ region: String = "FR") -> Profile {
            Profile(customerID: "p-\(i)", region: region, timeZone: i % 3 == 0 ? TimeZone(identifier: "Europe/Paris") : nil,
                    email: "p\(i)@example.com", phone: i % 2 == 0 ? "+3361000\(String(format: "%04d", i))" : nil)
        }
        // Stored first: p-0 as the file has it, p-1 with another region.
        let stored = [profile(0), profile(1, "GB")]
        var rows = (0..<2000).map { profile($0) }
        rows.insert(profile(5, "DE"), at: 1500)   // p-5 again, changed
        rows.insert(profile(6), at: 1700)         // p-6 again, the same
        let file = rows
        _ = try Self.write(a) { w throws(StoreError) in for p in stored { _ = try w.upsertProfile(p, now: Date()) } }
        let (counts, token) = try Self.write(a) { w throws(StoreError) in try w.importProfiles(.array(file), now: Date()) }

        // The same rows through the SQLite store's row-by-row import.
        let sqlite = try Self.rowByRowStore()
        defer { sqlite.close() }
        _ = try sqlite.writeAndWait(as: Actor(name: "test", via: .api)) { w throws(StoreError) in for p in stored { _ = try w.upsertProfile(p, now: Date()) } }
        let rowByRow = try sqlite.writeAndWait(as: Actor(name: "test", via: .import)) { w throws(StoreError) in try w.importProfiles(.array(file), now: Date()) }
        #expect(counts == rowByRow)
        #expect(counts == (imported: 2000, unchanged: 2), "p-0 as stored, and p-6 again the same")

        let db = try PGConnection(cluster.url())
        #expect(try db.query("SELECT count(*) FROM profiles").rows == [["2000"]])
        #expect(try db.query("SELECT customer_id, region FROM profiles WHERE customer_id IN ('p-1', 'p-5', 'p-6') ORDER BY 1").rows
                == [["p-1", "FR"], ["p-5", "DE"], ["p-6", "FR"]])
        // One entry a customer created or changed: the two stored first, 1,998 by the import (all
        // but p-0 and p-1; p-5 once, as it ends), and p-1's update.
        let history = try db.query("SELECT operation, count(*) FROM history WHERE record_kind = 'profile' GROUP BY 1 ORDER BY 1").rows
        #expect(history == [["create", "2000"], ["update", "1"]], "\(history)")

        #expect(Self.wait(b, through: try #require(token), timeout: 10))
        #expect(try Self.facts(b, "p-1999").profile == profile(1999))
        #expect(try Self.facts(b, "p-5").profile == profile(5, "DE"))
        #expect(try Self.facts(b, "p-1").profile == profile(1))
        #expect(try Self.facts(b, "p-3").profile?.timeZone?.identifier == "Europe/Paris")
    }

    @Test func casesImportedOnPostgreSQL_CountAsTheRowByRowImportDoes_OlderRowsLeftOut() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let a = try Self.node(cluster, "node_a"), b = try Self.node(cluster, "node_b")
        defer { a.close(); b.close() }
        #expect(Self.ready(a) && Self.ready(b))
        let t = Date(timeIntervalSince1970: 1_795_000_000)
        func serviceCase(_ i: Int, _ status: CaseStatus = .open, updated: TimeInterval = 0) -> ServiceCase {
            ServiceCase(id: "k-\(i)", customerID: "c-\(i)", severity: i % 2 == 0 ? .high : .low, status: status, openedAt: t.addingTimeInterval(-86_400),
                        closedAt: status == .closed ? t : nil, resolution: status == .closed ? .neutral : nil, updatedAt: t.addingTimeInterval(updated))
        }
        // Stored first: k-0 as the file has it, k-1 newer than the file's row, k-2 older.
        let stored = [serviceCase(0), serviceCase(1, .pending, updated: 60), serviceCase(2, .pending, updated: -60)]
        var rows = (0..<2000).map { serviceCase($0) }
        rows.insert(serviceCase(5, .closed, updated: 10), at: 1500)     // k-5 again, newer: replaces
        rows.insert(serviceCase(6), at: 1600)                           // k-6 again, the same
        rows.insert(serviceCase(7, .pending, updated: -10), at: 1700)   // k-7 again, older: left out
        rows += [serviceCase(8, .closed, updated: 20), serviceCase(8, .pending, updated: 15), serviceCase(8, .closed, updated: 20)]
        let file = rows
        _ = try Self.write(a) { w throws(StoreError) in for c in stored { _ = try w.upsertCase(c) } }
        let (counts, token) = try Self.write(a) { w throws(StoreError) in try w.importCases(.array(file)) }

        // The same rows through the SQLite store's row-by-row import.
        let sqlite = try Self.rowByRowStore()
        defer { sqlite.close() }
        _ = try sqlite.writeAndWait(as: Actor(name: "test", via: .api)) { w throws(StoreError) in for c in stored { _ = try w.upsertCase(c) } }
        let rowByRow = try sqlite.writeAndWait(as: Actor(name: "test", via: .import)) { w throws(StoreError) in try w.importCases(.array(file)) }
        #expect(counts == rowByRow)
        // Unchanged: k-0 (as stored), k-1 (older than stored), k-6's second, k-7's second (older),
        // k-8's second (older) and third (the same as the first).
        #expect(counts == (imported: 2000, unchanged: 6))

        let db = try PGConnection(cluster.url())
        #expect(try db.query("SELECT count(*) FROM cases").rows == [["2000"]])
        let states = try db.query("SELECT case_id, status FROM cases WHERE case_id IN ('k-1', 'k-2', 'k-5', 'k-7', 'k-8') ORDER BY 1").rows
        #expect(states == [["k-1", "pending"], ["k-2", "open"], ["k-5", "closed"], ["k-7", "open"], ["k-8", "closed"]], "\(states)")
        // One entry a case created or changed: the three stored first, 1,997 by the import (all but
        // k-0, k-1 and k-2), and k-2's update.
        let history = try db.query("SELECT operation, count(*) FROM history WHERE record_kind = 'case' GROUP BY 1 ORDER BY 1").rows
        #expect(history == [["create", "2000"], ["update", "1"]], "\(history)")

        #expect(Self.wait(b, through: try #require(token), timeout: 10))
        #expect(try Self.facts(b, "c-5").cases == [serviceCase(5, .closed, updated: 10)])
        #expect(try Self.facts(b, "c-1").cases == [serviceCase(1, .pending, updated: 60)])
    }

    @Test func reservationsFromTwoNodes_AtOnce_RecordAtMostTheCap() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let a = try Self.node(cluster, "node_a"), b = try Self.node(cluster, "node_b")
        defer { a.close(); b.close() }
        #expect(Self.ready(a) && Self.ready(b))
        let request = DecisionRequest(customerID: "c-cap", channel: .sms, purpose: .marketing)
        let reserved = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let node = i % 2 == 0 ? a : b
            let outcome = try? Self.write(node) { w throws(StoreError) in
                // A cap of 3: the decision allows while fewer than 3 contacts are in the window.
                try w.reserve(request, now: Date(), lookback: 7 * 86_400, campaignID: nil, tombstoneHash: Self.hash) { facts in
                    facts.contacts.count < 3 ? Decision(reasons: [], evaluatedAt: Date()) : Decision.unavailable(at: Date(), detail: "cap")
                }
            }
            if outcome?.0.reserved == true { reserved.add(1, ordering: .relaxed) }
        }
        let count = reserved.load(ordering: .relaxed)
        #expect(count == 3)
        let db = try PGConnection(cluster.url())
        #expect(try db.query("SELECT count(*) FROM contacts WHERE customer_id = 'c-cap'").rows == [["3"]])
    }

    @Test func anErasure_ThroughOneNode_LeavesNeitherImageWithTheCustomer_AndBothWithTheTombstone() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let a = try Self.node(cluster, "node_a"), b = try Self.node(cluster, "node_b")
        defer { a.close(); b.close() }
        #expect(Self.ready(a) && Self.ready(b))
        _ = try Self.write(a) { w throws(StoreError) in
            try w.upsertProfile(Profile(customerID: "c-gone", region: "US-CA", email: "gone@example.com"), now: Date())
            try w.recordInteraction(customerID: "c-gone", Interaction(type: "complaint", score: -5, at: Date()))
            _ = try w.addSuppression(Suppression(id: "", subject: .address(.email("gone@example.com")), kind: .doNotContact), now: Date())
        }
        let (removed, token) = try Self.write(b) { w throws(StoreError) in try w.erase(customerID: "c-gone", tombstoneHash: Self.hash) }
        #expect(removed.profile == 1 && removed.suppressions == 1 && removed.interactions == 1)
        #expect(Self.wait(a, through: try #require(token), timeout: 5))
        for node in [a, b] {
            let facts = try Self.facts(node, "c-gone")
            #expect(facts.profile == nil && facts.suppressions.isEmpty && facts.interactions.isEmpty)
            #expect(facts.customerErased, "the tombstone reached the image")
        }
        let db = try PGConnection(cluster.url())
        #expect(try db.query("SELECT count(*) FROM history WHERE customer_id = 'c-gone' OR address = 'gone@example.com'").rows == [["0"]])
        #expect(try db.query("SELECT operation FROM history WHERE record_kind = 'erasure'").rows == [["erase"]])
    }

    @Test func aNodeCutOffFromThePrimary_TurnsStale_AndIsCurrentAgainOnceItIsBack() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let a = try Self.node(cluster, "node_a", maxLag: 0.5)
        defer { a.close() }
        #expect(Self.ready(a))
        try cluster.stop(mode: "immediate")
        let deadline = Date().addingTimeInterval(10)
        var stale: String?
        while stale == nil, Date() < deadline {
            usleep(50_000)
            stale = a.staleness(now: Date())
        }
        #expect(stale?.contains("behind the primary") == true)
        // A write while the primary is gone fails (after the failover wait), and says why.
        try cluster.start()
        #expect(Self.ready(a), "current again once the primary is back")
        let (_, token) = try Self.write(a) { w throws(StoreError) in try w.recordContact(customerID: "c-1", Contact(channel: .email, purpose: .marketing, at: Date()), campaignID: nil) }
        #expect(token != nil)
    }

    @Test func retention_PrunesThePrimary_OnceWhateverTheNodes_AndTheHistoryNamesIt() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let db = try PGConnection(cluster.url())
        _ = try PGMigrations.apply(to: db)
        let now = Date(), day: Int64 = 86_400_000, nowMillis = Int64(now.timeIntervalSince1970 * 1000)
        // Two old contacts, one recent; a suppression expired 100 days ago, one expired yesterday.
        for at in [nowMillis - 30 * day, nowMillis - 20 * day, nowMillis - day] {
            try db.query("INSERT INTO contacts (customer_id, channel, purpose, at) VALUES ('c-1', 'email', 'marketing', $1)", [String(at)])
        }
        try db.query("INSERT INTO suppressions (id, customer_id, kind, confirmed, expires_at, created_at) VALUES ('s-old', 'c-1', 'opt_out', true, $1, $1)",
                     [String(nowMillis - 100 * day)])
        try db.query("INSERT INTO suppressions (id, customer_id, kind, confirmed, expires_at, created_at) VALUES ('s-new', 'c-1', 'objection', true, $1, $1)",
                     [String(nowMillis - day)])
        func node(_ slot: String) throws -> PostgresStore {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-node-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try PostgresStore(options: .init(url: cluster.url(), slot: slot), imagePath: directory.appendingPathComponent("image.db").path,
                                     lookback: 7 * 86_400, clock: { now }, tombstoneHash: Self.hash, renderHistory: { "\($0.kind.rawValue) \($0.id)" },
                                     retention: RetentionPolicy(expiredDays: 90))
        }
        let a = try node("node_a"), b = try node("node_b")
        defer { a.close(); b.close() }
        #expect(Self.ready(a) && Self.ready(b))
        let pruned = waitUntil(seconds: 10) { a.pruned.contacts + b.pruned.contacts == 2 && a.pruned.suppressions + b.pruned.suppressions == 1 }
        #expect(pruned, "\(a.pruned) \(b.pruned)")
        #expect(try db.query("SELECT count(*) FROM contacts").rows == [["1"]])
        #expect(try db.query("SELECT id FROM suppressions").rows == [["s-new"]])
        #expect(try db.query("SELECT actor, via, operation FROM history WHERE record_id = 's-old'").rows == [["retention", "retention", "delete"]])
    }
}
