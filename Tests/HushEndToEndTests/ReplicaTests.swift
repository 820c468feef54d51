import Foundation
import Testing
import HushTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Three hush nodes on PostgreSQL (a primary with a synchronous standby), over real sockets:
/// read-your-writes by token across nodes, the bound on staleness, reservations racing for
/// the last slot of a cap from every node, and a node whose stream stops.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (apt-get install postgresql)"))
struct ReplicaTests {
    static let json = "application/json"

    /// Pauses the walsender that feeds `node`'s slot while `body` runs (SIGSTOP, then SIGCONT).
    static func pausingStream<T>(of slot: String, on cluster: ReplicaCluster, _ body: () throws -> T) throws -> T {
        let pid = try #require(try cluster.primary.walsender(of: slot))
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        return try body()
    }

    @Test func aWriteThroughOneNode_WithItsToken_IsSeenByADecisionOnAnother_EvenWhenThatNodeWasBehind() throws {
        // Generous bounds: the test is about waiting, and the machine may be busy.
        let cluster = try ReplicaCluster(maxLagMilliseconds: 10_000, tokenWaitMilliseconds: 10_000)
        let a = try APIClient(port: cluster.nodes[0].port), c = try APIClient(port: cluster.nodes[2].port)
        // Email: no quiet hours in the default policy, so the answer does not depend on the hour.
        let query = "/v1/decisions?customer_id=c-1&channel=email&purpose=marketing"
        #expect(try c.get(query).decision == "allow")
        let pid = try #require(try cluster.primary.walsender(of: "node_2"))
        kill(pid, SIGSTOP)
        var resumed = false
        defer { if !resumed { kill(pid, SIGCONT) } }
        let written = try a.post("/v1/suppressions", #"{"customer_id": "c-1", "kind": "opt_out", "channels": ["email"]}"#)
        #expect(written.status == 201)
        let token = try #require(written.response.header("Hush-Consistency-Token"))
        #expect(written["consistency_token"] as? String == token)
        // Node C has not applied the write: without the token it still answers from before it
        // (within its bound); with it, it waits.
        #expect(try c.get(query).decision == "allow")
        let waiting = try APIClient(port: cluster.nodes[2].port)
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { kill(pid, SIGCONT) }
        let answer = try waiting.get(query + "&min_token=\(token)")
        resumed = true
        #expect(answer.decision == "suppress" && answer.codes == ["opted_out"], "\(answer.response.bodyText)")
        #expect(Date().timeIntervalSince(started) >= 0.25, "it waited for the stream")
        // The same through the header, on a POST.
        #expect(try c.call("POST", "/v1/decisions", #"{"customer_id": "c-1", "channel": "email"}"#, headers: [("Hush-Consistency-Token", token)]).codes
                == ["opted_out"])
        // A token the node never reaches: 503 after store.token_wait_ms, never a stale answer.
        let far = try c.get(query + "&min_token=FFFF/0")
        #expect(far.status == 503 && far.errorCode == "unavailable")
        #expect(try c.get(query + "&min_token=not-a-token").errorField == "min_token")
    }

    @Test func anOptOutWrittenThroughOneNode_SuppressesOnTheOthers_WithinTheBound() throws {
        let cluster = try ReplicaCluster(maxLagMilliseconds: 1_000)
        let a = try APIClient(port: cluster.nodes[0].port)
        let others = try cluster.nodes.dropFirst().map { try APIClient(port: $0.port) }
        let written = Date()
        #expect(try a.post("/v1/suppressions", #"{"customer_id": "c-7", "kind": "opt_out"}"#).status == 201)
        for node in others {
            let seen = waitUntil(seconds: 1) { (try? node.get("/v1/decisions?customer_id=c-7&channel=email").codes) == ["opted_out"] }
            #expect(seen, "suppressed within max_lag_ms after \(Date().timeIntervalSince(written)) s")
        }
    }

    @Test func reservationsFromEveryNodeAtOnce_NeverExceedTheCap() throws {
        let cluster = try ReplicaCluster()
        let ports = cluster.nodes.map(\.port)
        let granted = DispatchQueue(label: "granted")
        nonisolated(unsafe) var reserved = 0, failures: [String] = []
        // The default policy allows 2 marketing SMS per 7 days.
        DispatchQueue.concurrentPerform(iterations: 12) { i in
            do {
                let client = try APIClient(port: ports[i % ports.count])
                let answer = try client.post("/v1/decisions", #"{"customer_id": "c-cap", "channel": "sms", "reserve": true, "at": "\#(TestTime.iso())"}"#)
                granted.sync {
                    if answer["reserved"] as? Bool == true { reserved += 1 }
                    if answer.status != 200 { failures.append(answer.response.bodyText) }
                }
            } catch {
                granted.sync { failures.append("\(error)") }
            }
        }
        #expect(failures.isEmpty, "\(failures)")
        #expect(reserved == 2)
        #expect(try cluster.primary.psql("SELECT count(*) FROM contacts WHERE customer_id = 'c-cap'") == "2")
    }

    @Test func aNodeWhoseStreamStops_TurnsUnready_AndFailsClosed_ThenRecovers() throws {
        let cluster = try ReplicaCluster(nodes: 1, maxLagMilliseconds: 500)
        let node = try APIClient(port: cluster.nodes[0].port)
        #expect(try node.get("/readyz").status == 200)
        try Self.pausingStream(of: "node_0", on: cluster) {
            #expect(waitUntil(seconds: 5) { (try? node.get("/readyz").status) == 503 })
            let ready = try node.get("/readyz")
            #expect(ready["failing"] as? String == "replica")
            let decision = try node.get("/v1/decisions?customer_id=c-1&channel=email")
            #expect(decision.status == 503 && decision.codes == ["unavailable"])
        }
        #expect(waitUntil(seconds: 5) { (try? node.get("/readyz").status) == 200 })
        #expect(try node.get("/v1/decisions?customer_id=c-1&channel=email").decision == "allow")
    }

    @Test func migrateAndCheckConfig_SpeakOfThePostgreSQLStore_AndRefuseWhatItLacks() throws {
        let server = try PostgresCluster(settings: ["wal_level": "logical"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-pgcfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func config(_ store: String) throws -> String {
            let path = directory.appendingPathComponent("hush-\(UUID().uuidString.prefix(6)).json").path
            try #"{"store": \#(store)}"#.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let good = try config(#"{"kind": "postgres", "postgres": {"url": "\#(server.url())", "slot": "node_cli"}, "max_lag_ms": 750}"#)
        let key = ["HUSH_ERASURE_KEY": String(repeating: "e", count: 32)]
        let first = try HushProcess.run(["migrate", "--config", good], environment: key)
        #expect(first.status == 0 && first.out.contains("PostgreSQL: schema version 0 to 4"), "\(first.out)\(first.err)")
        let again = try HushProcess.run(["migrate", "--config", good], environment: key)
        #expect(again.status == 0 && again.out.contains("schema version 4, up to date"), "\(again.out)\(again.err)")
        #expect(try server.psql("SELECT version FROM hush_schema") == "4")
        let checked = try HushProcess.run(["check-config", good], environment: key)
        #expect(checked.status == 0 && checked.out.contains("PostgreSQL store (slot node_cli, max lag 750 ms)"), "\(checked.out)\(checked.err)")

        let noKey = try HushProcess.run(["check-config", good])
        #expect(noKey.status != 0 && noKey.err.contains("erasure_key (or HUSH_ERASURE_KEY) is required when store.kind is postgres"), "\(noKey.err)")
        let noURL = try HushProcess.run(["check-config", try config(#"{"kind": "postgres"}"#)], environment: key)
        #expect(noURL.status != 0 && noURL.err.contains("store.postgres.url (or HUSH_POSTGRES_URL) is required"), "\(noURL.err)")
        let fromEnvironment = try HushProcess.run(["check-config", try config(#"{"kind": "postgres"}"#)],
                                                  environment: key.merging(["HUSH_POSTGRES_URL": server.url()]) { $1 })
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.err)")
        let badSlot = try HushProcess.run(["check-config", try config(#"{"kind": "postgres", "postgres": {"url": "x", "slot": "Node-1"}}"#)], environment: key)
        #expect(badSlot.status != 0 && badSlot.err.contains("store.postgres.slot must be 1 to 63 lower-case letters, digits and _"), "\(badSlot.err)")
        let badKind = try HushProcess.run(["check-config", try config(#"{"kind": "mysql"}"#)], environment: key)
        #expect(badKind.status != 0 && badKind.err.contains("store.kind must be sqlite or postgres"), "\(badKind.err)")
        // A server that is not there: serve stops at start with one line that names the setting.
        let unreachable = try config(#"{"kind": "postgres", "postgres": {"url": "postgresql://hush@127.0.0.1:1/postgres?connect_timeout=2"}}"#)
        let failed = try HushProcess.run(["--config", unreachable, "--port", "0", "--database", directory.appendingPathComponent("n.db").path], environment: key)
        #expect(failed.status == 1 && failed.err.split(separator: "\n").count == 1 && failed.err.contains("store.postgres.url"), "\(failed.err)")
    }
}
