import Foundation
import Testing
import HushTestSupport

/// An erasure through one node of two, on a primary with a synchronous standby: the id and the
/// addresses are then in no node's files (image, WAL, decision log), not in `pg_dump`, and, after
/// the maintenance the README gives ("Erasure on PostgreSQL"), in neither server's data directory.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (apt-get install postgresql)"))
struct ReplicaErasureTests {
    /// The README's maintenance, on the primary: the erased rows' dead versions rewritten away,
    /// and the WAL that held them switched out and removed (with `wal_recycle = off`).
    static let maintenance = """
        VACUUM FULL profiles, cases, suppressions, contacts, interactions, history;
        SELECT pg_switch_wal();
        CHECKPOINT;
        SELECT pg_switch_wal();
        CHECKPOINT;
        """

    /// Every regular file under `directory`, as text, but the erasure key.
    static func everything(under directory: String) -> String {
        var out = ""
        for file in FileManager.default.enumerator(atPath: directory)?.compactMap({ $0 as? String }) ?? [] where !file.hasSuffix("erasure-key") {
            var isDirectory: ObjCBool = false
            let path = directory + "/" + file
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                out += String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
            }
        }
        return out
    }

    @Test func anErasureThroughOneNode_LeavesTheCustomerInNoImage_NoDump_AndAfterMaintenanceNoDataDirectory() throws {
        let cluster = try ReplicaCluster(nodes: 2, settings: ["wal_recycle": "off"])
        let a = try APIClient(port: cluster.nodes[0].port), b = try APIClient(port: cluster.nodes[1].port)
        let tag = UUID().uuidString.prefix(8).lowercased()
        let id = "c-erase-\(tag)", email = "erase.\(tag)@example.org", phone = "+44770090\(Int.random(in: 1000...9999))"
        #expect(try a.put("/v1/customers/\(id)", #"{"email": "\#(email)", "phone": "\#(phone)", "region": "GB-LND"}"#).status == 201)
        #expect(try a.put("/v1/cases/k-\(id)", #"{"customer_id": "\#(id)", "severity": "high", "status": "open", "opened_at": "\#(TestTime.iso(days: -30))", "updated_at": "\#(TestTime.iso(days: -30))"}"#).status == 201)
        let suppressed = try a.post("/v1/suppressions", #"{"address": "\#(email)", "kind": "opt_out"}"#)
        #expect(suppressed.status == 201)
        let token = try #require(suppressed.response.header("Hush-Consistency-Token"))
        // Decisions about the customer on both nodes: both decision logs hold its keyed hash.
        for node in [a, b] {
            let codes = try node.call("GET", "/v1/decisions?customer_id=\(id)&channel=email", headers: [("Hush-Consistency-Token", token)]).codes
            #expect(Set(codes) == ["open_case", "opted_out"], "\(codes)")
            #expect(try node.get("/v1/customers/\(id)/decision-log")["items"].map { ($0 as? [Any])?.count } == 1)
        }

        let erased = try b.call("DELETE", "/v1/customers/\(id)")
        #expect(erased.status == 200)
        let erasedAt = try #require(erased.response.header("Hush-Consistency-Token"))
        for node in [a, b] {
            #expect(try node.call("GET", "/v1/decisions?customer_id=\(id)&channel=email&purpose=transactional",
                                  headers: [("Hush-Consistency-Token", erasedAt)]).codes == ["erased"])
            // Each node's own decision log lost the customer's lines, the other node's erasure included.
            #expect(waitUntil(seconds: 10) { (try? node.get("/v1/customers/\(id)/decision-log").status) == 404 })
            #expect(waitUntil(seconds: 10) { (try? metric(cluster.nodes[0], node, "hush_decision_log_erasures_pending")) == 0 })
        }
        // The maintenance, while the nodes follow (their slots move past the erasure's WAL).
        try cluster.primary.psql(Self.maintenance)
        Thread.sleep(forTimeInterval: 1)
        try cluster.primary.psql(Self.maintenance)
        try cluster.standby.psql("CHECKPOINT")

        let dump = try Command.run(try #require(PostgresCluster.binDirectory) + "/pg_dump", ["-d", cluster.primary.url()], seconds: 60)
        #expect(dump.status == 0 && dump.out.contains("CREATE TABLE public.profiles"), "\(dump.err)")
        // Stopped, so that every file is as it stays.
        let logs = try cluster.nodes.map { node in try DecisionLogEndToEndTests().logContent(node) }
        for node in cluster.nodes { #expect(node.stop() == 0) }
        var places: [(String, String)] = [("pg_dump", dump.out)]
        for (i, node) in cluster.nodes.enumerated() {
            places.append(("node \(i)'s files", Self.everything(under: node.directory.path)))
            places.append(("node \(i)'s decision log", logs[i]))
        }
        places.append(("the primary's data directory", Self.everything(under: cluster.primary.data)))
        places.append(("the standby's data directory", Self.everything(under: cluster.standby.data)))
        for (place, content) in places {
            #expect(!content.isEmpty, "\(place) was read")
            for secret in [id, email, phone] { #expect(!content.contains(secret), "\(secret) is in \(place)") }
        }
    }
}
