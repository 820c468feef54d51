import Foundation
import Testing
import HushTestSupport
@testable import HushPostgres

/// pgoutput messages decoded from bytes (the stream is outside input: anything malformed is
/// refused), and a real slot streamed from a cluster with `wal_level=logical`.
@Suite struct LogicalMessageTests {
    func decode(_ bytes: [UInt8]) throws -> LogicalMessage { try bytes.withUnsafeBytes { try LogicalMessage.decode($0) } }
    func be(_ value: UInt64, _ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * (size - 1 - $0))) } }
    func text(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    @Test func messages_DecodeField_ByField() throws {
        let begin = [UInt8(ascii: "B")] + be(0x1_0000_0020, 8) + be(1_000_000, 8) + be(77, 4)
        #expect(try decode(begin) == .begin(finalLSN: LSN(0x1_0000_0020), commitTime: Date(timeIntervalSince1970: 946_684_801), xid: 77))
        let relation = [UInt8(ascii: "R")] + be(16_384, 4) + text("public") + text("suppressions") + [UInt8(ascii: "d")] + be(2, 2)
            + [1] + text("id") + be(25, 4) + be(UInt64(UInt32.max), 4) + [0] + text("note") + be(25, 4) + be(UInt64(UInt32.max), 4)
        #expect(try decode(relation) == .relation(id: 16_384, namespace: "public", name: "suppressions",
                                                  columns: [.init(name: "id", typeOID: 25, isKey: true), .init(name: "note", typeOID: 25, isKey: false)]))
        let insert = [UInt8(ascii: "I")] + be(16_384, 4) + [UInt8(ascii: "N")] + be(3, 2)
            + [UInt8(ascii: "t")] + be(3, 4) + Array("c-1".utf8) + [UInt8(ascii: "n")] + [UInt8(ascii: "u")]
        #expect(try decode(insert) == .insert(relation: 16_384, new: [.text("c-1"), .null, .unchangedToast]))
        let delete = [UInt8(ascii: "D")] + be(16_384, 4) + [UInt8(ascii: "K")] + be(1, 2) + [UInt8(ascii: "t")] + be(2, 4) + Array("ab".utf8)
        #expect(try decode(delete) == .delete(relation: 16_384, old: [.text("ab")]))
        #expect(LSN("16/B374D848")?.description == "16/B374D848")
        #expect(LSN("16/B374D848") == LSN(0x16_B374_D848))
        #expect(LSN("16") == nil && LSN("x/1") == nil && LSN("123456789/1") == nil)
    }

    @Test func malformedMessages_AreRefused_NamingWhy() throws {
        func refusal(_ bytes: [UInt8]) -> String {
            do { _ = try decode(bytes); return "accepted" } catch { return (error as? PGError)?.message ?? "\(error)" }
        }
        let insert = [UInt8(ascii: "I")] + be(1, 4) + [UInt8(ascii: "N")] + be(1, 2) + [UInt8(ascii: "t")] + be(5, 4) + Array("abcde".utf8)
        #expect(refusal(Array(insert.dropLast())) == "a logical replication message ends early")
        #expect(refusal(insert + [0]) == "1 bytes after a logical replication message")
        #expect(refusal([UInt8(ascii: "I")] + be(1, 4) + [UInt8(ascii: "N")] + be(1, 2) + [UInt8(ascii: "t")] + be(UInt64(UInt32.max), 4))
                == "a column's length is out of range")
        #expect(refusal([UInt8(ascii: "I")] + be(1, 4) + [UInt8(ascii: "N")] + be(1, 2) + [UInt8(ascii: "x")]) == "an unknown column kind (120) in a row")
        #expect(refusal([UInt8(ascii: "I")] + be(1, 4) + [UInt8(ascii: "N")] + be(1, 2) + [UInt8(ascii: "t")] + be(2, 4) + [0xC3, 0x28])
                == "a column's text is not UTF-8")
        #expect(refusal([UInt8(ascii: "R")] + be(1, 4) + Array("public".utf8)) == "a string in a logical replication message is not terminated")
        #expect(refusal([UInt8(ascii: "T")] + be(1_000_000, 4) + [0]) == "a truncate message names more relations than it holds")
        #expect(refusal([UInt8(ascii: "Z")]) == "an unknown logical replication message (90)")
        #expect(refusal([]) == "a logical replication message ends early")
    }
}

@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (apt-get install postgresql)"))
struct LogicalReplicationTests {
    @Test func aSlot_ExportsTheSnapshotItStartsFrom_ThenStreamsEachCommittedChange_AndAcknowledgementsMoveIt() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical", "max_replication_slots": "4", "max_wal_senders": "4"])
        let db = try PGConnection(cluster.url())
        try db.execute("CREATE TABLE s (id text PRIMARY KEY, kind text NOT NULL, note text)")
        try db.query("INSERT INTO s VALUES ($1, $2, $3)", ["before", "opt_out", "kept"])
        try db.execute("CREATE PUBLICATION hush_pub FOR TABLE s")

        let stream = try PGReplicationStream(cluster.url())
        let slot = try stream.createSlot("node_a")
        // The snapshot shows the table as of the slot's start: the row from before, nothing after.
        let reader = try PGConnection(cluster.url())
        try reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try reader.query("SET TRANSACTION SNAPSHOT '\(slot.snapshot)'")
        try db.query("INSERT INTO s VALUES ($1, $2, $3)", ["after", "do_not_contact", nil])
        #expect(try reader.query("SELECT id FROM s ORDER BY id").rows == [["before"]])
        try reader.execute("COMMIT")
        try db.execute("BEGIN; UPDATE s SET kind = 'objection' WHERE id = 'before'; DELETE FROM s WHERE id = 'after'; COMMIT")

        try stream.start(slot: slot.name, at: slot.consistentPoint, publication: "hush_pub")
        var changes: [String] = [], commits: [LSN] = []
        let deadline = Date().addingTimeInterval(20)
        while commits.count < 2, Date() < deadline {
            switch try stream.next(timeout: 1) {
            case .message(_, .relation(_, let namespace, let name, let columns)):
                changes.append("relation \(namespace).\(name) \(columns.map(\.name).joined(separator: ","))")
            case .message(_, .insert(_, let new)): changes.append("insert \(new.map { $0.text ?? "null" })")
            case .message(_, .update(_, _, let new)): changes.append("update \(new.map { $0.text ?? "null" })")
            case .message(_, .delete(_, let old)): changes.append("delete \(old.map { $0.text ?? "null" })")
            case .message(_, .commit(_, let end, _)): commits.append(end)
            case .keepalive(_, true): try stream.acknowledge(commits.last ?? slot.consistentPoint)
            default: break
            }
        }
        #expect(changes == ["relation public.s id,kind,note", "insert [\"after\", \"do_not_contact\", \"null\"]",
                            "update [\"before\", \"objection\", \"kept\"]", "delete [\"after\", \"null\", \"null\"]"], "\(changes)")
        #expect(commits.count == 2 && commits[0] < commits[1] && commits[0] > slot.consistentPoint)
        // Acknowledged: the server moves the slot's confirmed position.
        try stream.acknowledge(commits[1])
        var confirmed: LSN?
        for _ in 0..<50 {
            let text = try db.query("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'node_a'").rows.first?.first ?? nil
            confirmed = text.flatMap { LSN($0) }
            if let confirmed, confirmed >= commits[1] { break }
            _ = try stream.next(timeout: 0.1)
        }
        #expect(confirmed.map { $0 >= commits[1] } == true, "\(String(describing: confirmed)) against \(commits[1])")
    }
}
