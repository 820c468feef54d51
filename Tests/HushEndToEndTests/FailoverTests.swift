import Foundation
import Testing
import HushTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL primary dies under writes, three times over: each time the synchronous
/// standby is promoted and the old primary rebuilt as the new standby, the nodes find the new
/// primary by their multi-host URL and load their images again from new slots. Every write
/// that was acknowledged is there afterwards, on the primary and in every image, and none that
/// was not acknowledged is there twice.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (apt-get install postgresql)"))
struct FailoverTests {
    @Test func threeFailoversUnderWrites_LoseNoAcknowledgedWrite_AndDuplicateNothing() throws {
        let cluster = try ReplicaCluster(maxLagMilliseconds: 2_000)
        let ports = cluster.nodes.map(\.port)
        let writers = 4, perWriter = 600
        let base = Date()
        let stop = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var acknowledged = [Set<Int>](repeating: [], count: writers)
        nonisolated(unsafe) var refused = [Int](repeating: 0, count: writers)
        let group = DispatchGroup()
        for w in 0..<writers {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var client = try? APIClient(port: ports[w % ports.count])
                for n in 0..<perWriter {
                    if stop.wait(timeout: .now()) == .success { stop.signal(); return }
                    let at = TestTime.rfc3339(base.addingTimeInterval(-Double(n)))
                    let body = #"{"customer_id": "w-\#(w)", "channel": "email", "purpose": "marketing", "at": "\#(at)", "campaign_id": "w-\#(w)-\#(n)"}"#
                    if let answer = try? client?.post("/v1/contacts", body), answer.status == 201 {
                        acknowledged[w].insert(n)
                    } else {
                        refused[w] += 1
                        client = try? APIClient(port: ports[w % ports.count])
                    }
                    usleep(10_000)
                }
            }
        }
        for _ in 0..<3 {
            Thread.sleep(forTimeInterval: 2)
            try cluster.failover()
        }
        Thread.sleep(forTimeInterval: 2)
        stop.signal()
        group.wait()

        let nodes = try cluster.nodes.map { try APIClient(port: $0.port) }
        for node in nodes {
            #expect(waitUntil(seconds: 60) { (try? node.get("/readyz").status) == 200 }, "every node turns ready again")
            // Each failover left the node without its slot: it loaded its image again each time.
            let metrics = try node.get("/metrics").response.bodyText
            let snapshots = metrics.split(separator: "\n").first { $0.hasPrefix("hush_replica_snapshots_total ") }?.split(separator: " ").last
            #expect(snapshots.flatMap { Int($0) } ?? 0 >= 4, "\(snapshots ?? "no gauge")")
        }
        #expect(try cluster.primary.psql("SELECT pg_is_in_recovery()") == "f")
        #expect(try cluster.standby.psql("SELECT pg_is_in_recovery()") == "t")
        let duplicates = try cluster.primary.psql("SELECT campaign_id FROM contacts GROUP BY campaign_id HAVING count(*) > 1")
        #expect(duplicates.isEmpty, "written twice: \(duplicates)")
        let stored = Set(try cluster.primary.psql("SELECT campaign_id FROM contacts").split(separator: "\n").map(String.init))
        var total = 0
        for w in 0..<writers {
            let missing = acknowledged[w].filter { !stored.contains("w-\(w)-\($0)") }
            #expect(missing.isEmpty, "acknowledged but lost: writer \(w), \(missing.sorted())")
            total += acknowledged[w].count
            let onPrimary = Int(try cluster.primary.psql("SELECT count(*) FROM contacts WHERE customer_id = 'w-\(w)'")) ?? -1
            for (i, node) in nodes.enumerated() {
                let view = try node.get("/v1/customers/w-\(w)")
                #expect((view["contacts"] as? [Any])?.count == onPrimary, "node \(i) image holds what the primary holds for w-\(w)")
            }
        }
        #expect(total > 100, "the writes went on around the failovers (\(total) acknowledged, \(refused.reduce(0, +)) not)")
        print("failover test: \(total) writes acknowledged, \(refused.reduce(0, +)) refused, \(stored.count) stored")
    }

    @Test func aNodeKilledUnderLoad_IsReplacedByAFreshOne_ThatLoadsItsImageAndCatchesUp() throws {
        let cluster = try ReplicaCluster(nodes: 2, dropIdleSlotSeconds: 2)
        let writer = try APIClient(port: cluster.nodes[0].port)
        let base = Date()
        var written = 0
        func write(_ count: Int) throws {
            for _ in 0..<count {
                let at = TestTime.rfc3339(base.addingTimeInterval(-Double(written)))
                let answer = try writer.post("/v1/contacts", #"{"customer_id": "k-1", "channel": "sms", "purpose": "service", "at": "\#(at)"}"#)
                #expect(answer.status == 201)
                written += 1
            }
        }
        try write(100)
        #expect(cluster.nodes[1].stop(signal: SIGKILL) != nil)
        try write(100)
        // A fresh node (its own empty directory and slot) while the writes go on.
        let started = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var fresh: HushProcess?
        nonisolated(unsafe) var failure: Error?
        Thread.detachNewThread {
            do { fresh = try cluster.startNode("node_fresh") } catch { failure = error }
            started.signal()
        }
        while started.wait(timeout: .now()) == .timedOut { try write(10) }
        if let failure { throw failure }
        try write(50)
        let node = try APIClient(port: try #require(fresh).port)
        let onPrimary = Int(try cluster.primary.psql("SELECT count(*) FROM contacts WHERE customer_id = 'k-1'")) ?? -1
        #expect(onPrimary == written)
        #expect(waitUntil(seconds: 10) { ((try? node.get("/v1/customers/k-1"))?["contacts"] as? [Any])?.count == written },
                "the fresh node's image has every contact, from its snapshot and its stream")
        // The killed node's slot held the primary's WAL; once the node was not seen for
        // drop_idle_slot_s, the others dropped it. The living nodes' slots stay.
        #expect(waitUntil(seconds: 15) { (try? cluster.primary.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'node_1'")) == "0" })
        #expect(try cluster.primary.psql("SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots") == "node_0,node_fresh")
    }
}
