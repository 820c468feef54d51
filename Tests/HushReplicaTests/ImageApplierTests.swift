import Foundation
import Testing
import HushCore
import HushTestSupport
import HushPostgres
@testable import HushStore
@testable import HushReplica

/// A node's SQLite image kept from PostgreSQL's stream: the rows, the records a decision reads,
/// the holds and the position, transaction by transaction; anything unknown refused.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (apt-get install postgresql)"))
struct ImageApplierTests {
    static func image() throws -> (SQLiteStore, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-image-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("image.db").path
        let store = try SQLiteStore(path: path, tombstoneHash: { _ in [UInt8](repeating: 0, count: 32) }, renderHistory: { "\($0)" })
        return (store, path)
    }

    /// Whether `condition` holds within `seconds`, asked every 50 ms.
    static func eventually(seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<Int(seconds * 20) {
            if try condition() { return true }
            usleep(50_000)
        }
        return false
    }

    @Test func theImage_FollowsThePrimary_CommitByCommit_AndDecisionsReadIt() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let db = try PGConnection(cluster.url())
        _ = try PGMigrations.apply(to: db)
        let stream = try PGReplicationStream(cluster.url())
        let slot = try stream.createSlot("node_a")
        let (store, _) = try Self.image()
        defer { store.close() }
        let applier = ImageApplier(store: store)
        let now = Int64(Date().timeIntervalSince1970 * 1000)

        try db.execute("""
            BEGIN;
            INSERT INTO profiles VALUES ('c-1', 'US-CA', 'America/Los_Angeles', 'someone@example.com', NULL, \(now));
            INSERT INTO suppressions (id, customer_id, kind, channels, confirmed, created_at) VALUES ('s-1', 'c-1', 'opt_out', 'sms', true, \(now));
            INSERT INTO suppressions (id, address, address_kind, kind, confirmed, created_at)
                VALUES ('s-2', 'someone@example.com', 'email', 'do_not_contact', false, \(now));
            INSERT INTO contacts (customer_id, channel, purpose, at) VALUES ('c-1', 'email', 'marketing', \(now - 1000));
            INSERT INTO holds (id, title, reason, regions, starts_at, updated_at) VALUES ('fire', 'Fire', '', 'US-CA', \(now - 60000), \(now));
            INSERT INTO tombstones VALUES (decode(repeat('ab', 32), 'hex'));
            COMMIT
            """)
        try db.execute("BEGIN; DELETE FROM suppressions WHERE id = 's-1'; UPDATE profiles SET region = 'US-OR' WHERE customer_id = 'c-1'; COMMIT")

        try stream.start(slot: slot.name, at: slot.consistentPoint, publication: "hush")
        var applied: [LSN] = []
        let deadline = Date().addingTimeInterval(20)
        while applied.count < 2, Date() < deadline {
            if case .message(_, let message) = try stream.next(timeout: 1), let done = try applier.apply(message) {
                applied.append(done.end)
                try stream.acknowledge(done.end)
            }
        }
        #expect(applied.count == 2)
        #expect(applier.position == applied.last)

        let reader = try store.makeSQLiteReader()
        let facts = try reader.withFacts(customerID: "c-1", address: nil, channel: .email, at: Date(), lookback: 7 * 86_400,
                                         holds: store.holds, tombstoneHash: { _ in [] }) { $0 }
        #expect(facts.profile?.region == "US-OR")
        #expect(facts.suppressions.map(\.id) == ["s-2"], "s-1 deleted; s-2 found through the profile's address")
        #expect(facts.suppressions.first?.confirmed == false)
        #expect(facts.contacts.count == 1)
        #expect(store.holds.map(\.id) == ["fire"] && store.holds.first?.regions == ["US-CA"])
        // The tombstone is in the image's table and, once committed, in the set decisions check.
        #expect(store.tombstones.contains([UInt8](repeating: 0xAB, count: 32)))
    }

    @Test func whatTheImageDoesNotKnow_IsRefused_AndNothingOfTheTransactionIsWritten() throws {
        let (store, _) = try Self.image()
        defer { store.close() }
        let applier = ImageApplier(store: store)
        #expect { try applier.apply(.relation(id: 1, namespace: "public", name: "secrets", columns: [])) } throws: {
            ($0 as? PGError)?.message == "the stream names a relation the image does not keep: public.secrets"
        }
        #expect { try applier.apply(.relation(id: 2, namespace: "public", name: "profiles", columns: [.init(name: "customer_id", typeOID: 25, isKey: true)])) } throws: {
            ($0 as? PGError)?.message == "the stream's profiles has no column region"
        }
        let columns = ["id", "customer_id", "channel", "purpose", "at", "campaign_id"].map { LogicalMessage.Column(name: $0, typeOID: 25, isKey: $0 == "id") }
        try applier.apply(.relation(id: 3, namespace: "public", name: "contacts", columns: columns))
        try applier.apply(.begin(finalLSN: LSN(10), commitTime: Date(), xid: 1))
        try applier.apply(.insert(relation: 3, new: [.text("1"), .text("c-1"), .text("email"), .text("marketing"), .text("1700000000000"), .null]))
        try applier.apply(.insert(relation: 3, new: [.text("2"), .text("c-1"), .text("email"), .text("marketing"), .text("yesterday"), .null]))
        #expect { try applier.apply(.commit(commitLSN: LSN(10), endLSN: LSN(11), commitTime: Date())) } throws: {
            ($0 as? PGError)?.message.contains("replicated column at is not an integer") == true
        }
        // The good row of the refused transaction is not in the image either, nor its position.
        #expect(applier.position == nil)
        let reader = try store.makeSQLiteReader()
        let facts = try reader.withFacts(customerID: "c-1", address: nil, channel: .email, at: Date(timeIntervalSince1970: 1_700_000_100), lookback: 86_400,
                                         holds: [], tombstoneHash: { _ in [] }) { $0 }
        #expect(facts.contacts.isEmpty)
        #expect { try applier.apply(.truncate(relations: [3], cascade: false, restartIdentity: false)) } throws: { _ in true }
    }

    /// A transaction of more rows than the applier holds in memory goes to a file beside the
    /// image as it streams in, and is applied as one held in memory is: inserts, an update that
    /// changes a row's key, a delete, in order. The file goes once the transaction is applied,
    /// when the stream begins again without its commit, and when the image is cleared.
    @Test func aLargeTransaction_IsKeptInAFileBesideTheImage_AndAppliedAsOneInMemory() throws {
        let (spilling, spillingPath) = try Self.image()
        let (held, _) = try Self.image()
        defer { spilling.close(); held.close() }
        let appliers = [ImageApplier(store: spilling, spillRows: 3), ImageApplier(store: held)]
        func spillFiles() throws -> [String] {
            let url = URL(fileURLWithPath: spillingPath)
            return try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
                .filter { $0.hasPrefix(url.lastPathComponent + ".import-") }
        }
        let columns = ReplicatedTable.profiles.sourceColumns.map { LogicalMessage.Column(name: $0, typeOID: 25, isKey: $0 == "customer_id") }
        func profile(_ id: String, _ region: String?, email: String? = nil) -> [LogicalMessage.Value] {
            [.text(id), region.map { .text($0) } ?? .null, .null, email.map { .text($0) } ?? .null, .null, .text("1700000000000")]
        }
        var messages: [LogicalMessage] = [.relation(id: 7, namespace: "public", name: "profiles", columns: columns),
                                          .begin(finalLSN: LSN(100), commitTime: Date(), xid: 9)]
        messages += (0..<10).map { LogicalMessage.insert(relation: 7, new: profile("c-\($0)", "R\($0)", email: "c\($0)@example.com")) }
        messages += [.update(relation: 7, old: profile("c-4", "R4"), new: profile("c-40", "R40")),
                     .update(relation: 7, old: nil, new: profile("c-5", nil)),
                     .delete(relation: 7, old: profile("c-3", nil))]
        for applier in appliers {
            for message in messages { #expect(try applier.take(message) == false) }
        }
        #expect(try spillFiles().count == 1, "the rows past the third are in a file")
        for applier in appliers {
            #expect(try applier.take(.commit(commitLSN: LSN(100), endLSN: LSN(101), commitTime: Date())))
            #expect(try applier.flush().map(\.end) == [LSN(101)])
        }
        #expect(try spillFiles().isEmpty)
        func profiles(_ store: SQLiteStore) throws -> [String] {
            try store.writeSQLiteAndWait { w throws(StoreError) in
                var all: [String] = []
                try w.database.prepare("SELECT customer_id, ifnull(region, '-'), ifnull(email, '-') FROM profiles ORDER BY customer_id").query([]) { row in
                    all.append("\(row.text(0) ?? "") \(row.text(1) ?? "") \(row.text(2) ?? "")")
                }
                return all
            }
        }
        let expected = ["c-0 R0 c0@example.com", "c-1 R1 c1@example.com", "c-2 R2 c2@example.com", "c-40 R40 -", "c-5 - -",
                        "c-6 R6 c6@example.com", "c-7 R7 c7@example.com", "c-8 R8 c8@example.com", "c-9 R9 c9@example.com"]
        #expect(try profiles(spilling) == expected)
        #expect(try profiles(held) == expected)
        #expect(appliers[0].position == LSN(101))

        // A transaction whose commit never comes: its file goes when the stream begins again,
        // and when the image is cleared.
        let spiller = appliers[0]
        _ = try spiller.take(.begin(finalLSN: LSN(200), commitTime: Date(), xid: 10))
        for i in 0..<5 { _ = try spiller.take(.insert(relation: 7, new: profile("d-\(i)", "R"))) }
        #expect(try spillFiles().count == 1)
        _ = try spiller.take(.begin(finalLSN: LSN(200), commitTime: Date(), xid: 10))
        #expect(try spillFiles().isEmpty)
        for i in 0..<5 { _ = try spiller.take(.insert(relation: 7, new: profile("d-\(i)", "R"))) }
        #expect(try spillFiles().count == 1)
        try spiller.clear()
        #expect(try spillFiles().isEmpty)
    }

    /// An insert's record is made from the row's own values; an update first rebuilds the
    /// record of whom the row was about before it changed. Both when the rows are held and
    /// when they pass through a spill file.
    @Test func records_FollowSuppressions_InsertedByIDOrAddress_AndMovedFromOneCustomerToAnother() throws {
        for spillRows in [1, 20_000] {
            let (store, _) = try Self.image()
            defer { store.close() }
            let applier = ImageApplier(store: store, spillRows: spillRows)
            let profileColumns = ReplicatedTable.profiles.sourceColumns.map { LogicalMessage.Column(name: $0, typeOID: 25, isKey: $0 == "customer_id") }
            let suppressionColumns = ReplicatedTable.suppressions.sourceColumns.map { LogicalMessage.Column(name: $0, typeOID: 25, isKey: $0 == "id") }
            func text(_ value: String?) -> LogicalMessage.Value { value.map { .text($0) } ?? .null }
            func suppression(_ id: String, customer: String?, email: String?) -> [LogicalMessage.Value] {
                [.text(id), text(customer), text(email), text(email == nil ? nil : "email"), .text("opt_out"), .text("sms"), .null,
                 .null, .text("t"), .null, .text("1700000000000")]
            }
            func commit(_ lsn: UInt64, _ rows: [LogicalMessage]) throws {
                for message in [.begin(finalLSN: LSN(lsn), commitTime: Date(), xid: UInt32(lsn))] + rows { _ = try applier.take(message) }
                #expect(try applier.take(.commit(commitLSN: LSN(lsn), endLSN: LSN(lsn + 1), commitTime: Date())))
                #expect(try applier.flush().map(\.end) == [LSN(lsn + 1)])
            }
            func suppressionIDs(_ customer: String) throws -> [String] {
                try store.makeSQLiteReader().withFacts(customerID: customer, address: nil, channel: .sms, at: Date(), lookback: 86_400,
                                                       holds: [], tombstoneHash: { _ in [] }) { $0.suppressions.map(\.id).sorted() }
            }
            try commit(100, [
                .relation(id: 1, namespace: "public", name: "profiles", columns: profileColumns),
                .relation(id: 2, namespace: "public", name: "suppressions", columns: suppressionColumns),
                .insert(relation: 1, new: [.text("c-1"), .null, .null, .null, .null, .text("1700000000000")]),
                .insert(relation: 1, new: [.text("c-2"), .null, .null, .text("two@example.com"), .null, .text("1700000000000")]),
                .insert(relation: 1, new: [.text("c-3"), .null, .null, .null, .null, .text("1700000000000")]),
                .insert(relation: 2, new: suppression("s-1", customer: "c-1", email: nil)),
                .insert(relation: 2, new: suppression("s-2", customer: nil, email: "two@example.com")),
            ])
            #expect(try suppressionIDs("c-1") == ["s-1"], "spillRows \(spillRows)")
            #expect(try suppressionIDs("c-2") == ["s-2"], "found through the profile's address; spillRows \(spillRows)")
            #expect(try suppressionIDs("c-3") == [])

            try commit(200, [.update(relation: 2, old: nil, new: suppression("s-1", customer: "c-3", email: nil))])
            #expect(try suppressionIDs("c-1") == [], "the record of whom s-1 was about is rebuilt; spillRows \(spillRows)")
            #expect(try suppressionIDs("c-3") == ["s-1"], "spillRows \(spillRows)")
        }
    }

    @Test func aNewNode_LoadsTheSlotsSnapshotInBatches_ThenTheStreamBringsWhatCameAfter_EachRowOnce() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let db = try PGConnection(cluster.url())
        _ = try PGMigrations.apply(to: db)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try db.query("INSERT INTO profiles SELECT 'c-' || i, 'US-CA', NULL, NULL, NULL, $1 FROM generate_series(1, 12000) i", [String(now)])
        try db.query("INSERT INTO contacts (customer_id, channel, purpose, at) SELECT 'c-' || i, 'sms', 'marketing', $1 FROM generate_series(1, 3000) i", [String(now - 5000)])
        let stream = try PGReplicationStream(cluster.url())
        let slot = try stream.createSlot("node_b")
        // After the slot: only the stream may bring these.
        try db.query("INSERT INTO profiles VALUES ('c-late', 'US-OR', NULL, NULL, NULL, $1)", [String(now)])
        try db.execute("DELETE FROM contacts WHERE customer_id = 'c-1'")

        let (store, path) = try Self.image()
        defer { store.close() }
        // Batches of 5,000: the profiles take three.
        let loaded = try ImageSnapshot.load(into: store, from: try PGConnection(cluster.url()), slot: slot, batchRows: 5_000)
        #expect(loaded[.profiles] == 12_000 && loaded[.contacts] == 3_000)
        let applier = ImageApplier(store: store)
        #expect(applier.position == slot.consistentPoint)

        try stream.start(slot: slot.name, at: slot.consistentPoint, publication: "hush")
        var commits = 0
        let deadline = Date().addingTimeInterval(20)
        while commits < 2, Date() < deadline {
            if case .message(_, let message) = try stream.next(timeout: 1), let done = try applier.apply(message) {
                commits += 1
                try stream.acknowledge(done.end)
            }
        }
        #expect(commits == 2)
        let image = try Database(path: path, mode: .readOnly)
        func count(_ sql: String) throws -> Int64 {
            var n: Int64 = -1
            try image.prepare(sql).query([]) { n = $0.integer(0) ?? -1 }
            return n
        }
        #expect(try count("SELECT count(*) FROM profiles") == 12_001)
        #expect(try count("SELECT count(*) FROM contacts") == 2_999)
        #expect(try count("SELECT count(*) FROM contacts WHERE customer_id = 'c-1'") == 0)
        #expect(try count("SELECT count(DISTINCT rowid) FROM contacts") == 2_999)
        let reader = try store.makeSQLiteReader()
        let late = try reader.withFacts(customerID: "c-late", address: nil, channel: .sms, at: Date(), lookback: 86_400, holds: [], tombstoneHash: { _ in [] }) { $0 }
        #expect(late.profile?.region == "US-OR")
        let second = try reader.withFacts(customerID: "c-2", address: nil, channel: .sms, at: Date(), lookback: 86_400, holds: [], tombstoneHash: { _ in [] }) { $0 }
        #expect(second.contacts.count == 1, "the snapshot's contact is in the customer's record")
    }

    @Test func theFollower_LoadsThenStreams_ReconnectsWhenItsWalsenderIsKilled_AndResumesFromTheImagesPosition() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let db = try PGConnection(cluster.url())
        _ = try PGMigrations.apply(to: db)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try db.query("INSERT INTO profiles VALUES ('c-0', 'US-CA', NULL, NULL, NULL, $1)", [String(now)])
        let (store, path) = try Self.image()
        defer { store.close() }
        func profiles() throws -> Int64 {
            var n: Int64 = -1
            let image = try Database(path: path, mode: .readOnly)
            try image.prepare("SELECT count(*) FROM profiles").query([]) { n = $0.integer(0) ?? -1 }
            return n
        }
        func waitForProfiles(_ count: Int64) throws -> Bool { try Self.eventually { try profiles() == count } }

        let follower = try ImageFollower(store: store, conninfo: cluster.url(), slot: "node_c")
        follower.start()
        #expect(try waitForProfiles(1), "the snapshot's row")
        try db.query("INSERT INTO profiles VALUES ('c-1', 'US-CA', NULL, NULL, NULL, $1)", [String(now)])
        #expect(try waitForProfiles(2), "a streamed row")
        #expect(follower.status.failure == nil && follower.status.applied != nil)

        // The walsender dies: the follower notes why, reconnects, and goes on.
        #expect(try db.query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'node_c' AND active_pid IS NOT NULL").rows
                == [["t"]])
        try db.query("INSERT INTO profiles VALUES ('c-2', 'US-CA', NULL, NULL, NULL, $1)", [String(now)])
        #expect(try waitForProfiles(3), "after the reconnection")
        follower.stop()

        // A new follower on the same image resumes the slot from the image's position: no second snapshot.
        try db.query("INSERT INTO profiles VALUES ('c-3', 'US-CA', NULL, NULL, NULL, $1)", [String(now)])
        let resumed = try ImageFollower(store: store, conninfo: cluster.url(), slot: "node_c")
        resumed.start()
        #expect(try waitForProfiles(4))
        resumed.stop()
        #expect(try profiles() == 4)
    }

    /// hush never truncates a table, but an operator may: the stream then names none of the rows
    /// removed, so the node loads a new image from a new snapshot rather than stop following.
    @Test func aTruncatedTable_MakesTheNodeLoadANewImage_ThenFollowAsBefore() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        let db = try PGConnection(cluster.url())
        _ = try PGMigrations.apply(to: db)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let (store, path) = try Self.image()
        defer { store.close() }
        func imageRows() throws -> [String] {
            var rows: [String] = []
            let image = try Database(path: path, mode: .readOnly)
            try image.prepare("SELECT customer_id FROM profiles UNION ALL SELECT id FROM suppressions ORDER BY 1").query([]) { rows.append($0.text(0) ?? "") }
            return rows
        }
        func waitFor(_ rows: [String]) throws -> Bool { try Self.eventually(seconds: 15) { try imageRows() == rows } }
        let follower = try ImageFollower(store: store, conninfo: cluster.url(), slot: "node_t")
        follower.start()
        defer { follower.stop() }
        try db.query("INSERT INTO profiles VALUES ('c-1', 'US-CA', NULL, NULL, NULL, $1)", [String(now)])
        try db.query("INSERT INTO suppressions (id, customer_id, kind, channels, confirmed, created_at) VALUES ('s-1', 'c-1', 'opt_out', 'sms', true, $1)", [String(now)])
        #expect(try waitFor(["c-1", "s-1"]))
        // The snapshot is counted just after its rows are committed to the image.
        #expect(try Self.eventually(seconds: 15) { follower.status.snapshots == 1 }, "the first snapshot")

        try db.execute("TRUNCATE suppressions")
        try db.query("INSERT INTO suppressions (id, customer_id, kind, channels, confirmed, created_at) VALUES ('s-2', 'c-1', 'opt_out', 'email', true, $1)", [String(now)])
        #expect(try waitFor(["c-1", "s-2"]), "s-1 is gone from the image, s-2 is in it")
        // The new image's rows can be read a moment before the follower counts its snapshot.
        #expect(try Self.eventually(seconds: 15) { follower.status.snapshots == 2 }, "a second snapshot")
        // And the node follows the stream again.
        try db.query("INSERT INTO profiles VALUES ('c-2', 'US-OR', NULL, NULL, NULL, $1)", [String(now)])
        #expect(try waitFor(["c-1", "c-2", "s-2"]))
        let facts = try store.makeSQLiteReader().withFacts(customerID: "c-1", address: nil, channel: .email, at: Date(), lookback: 86_400,
                                                           holds: [], tombstoneHash: { _ in [] }) { $0 }
        #expect(facts.suppressions.map(\.id) == ["s-2"], "the record decisions read was rebuilt too")
    }
}
