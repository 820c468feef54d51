import Foundation
import Synchronization
import Testing
import HushTestSupport
@testable import HushPostgres

/// libpq through `PGConnection`, against a real PostgreSQL cluster on loopback.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (apt-get install postgresql)"), .serialized)
struct PGConnectionTests {
    @Test func parameters_RoundTripAsTheirExactText_NullStaysNull_AndNothingIsSplicedIntoTheSQL() throws {
        let cluster = try PostgresCluster()
        let db = try PGConnection(cluster.url())
        #expect(db.serverVersion >= 150_000)
        try db.execute("CREATE TABLE t (id integer PRIMARY KEY, v text)")
        let values: [String?] = ["", "c-1", nil, "zoë@example.com", "日本", "'); DROP TABLE t; --", "a\nb"]
        for (i, value) in values.enumerated() {
            #expect(try db.query("INSERT INTO t (id, v) VALUES ($1, $2)", [String(i), value]).changed == 1)
        }
        let read = try db.query("SELECT id, v FROM t ORDER BY id")
        #expect(read.columns == ["id", "v"])
        #expect(read.rows.map { $0[1] } == values)
        #expect(try db.query("SELECT count(*) FROM t WHERE v IS NULL").rows == [["1"]])
        #expect(try db.query("UPDATE t SET v = 'x' WHERE id < $1", ["3"]).changed == 3)
    }

    @Test func copiedRows_ComeBackAsTheirExactText_EscapesNullsAndEmptyAlike() throws {
        let cluster = try PostgresCluster()
        let db = try PGConnection(cluster.url())
        try db.execute("CREATE TABLE c (id integer PRIMARY KEY, v text, w text)")
        let values: [String?] = ["", nil, "plain", "\\", "a\tb", "line\nnext", "cr\rlf\r\n", "\\N", "\\\\t\t\\",
                                 "zoë \t 日本", "\t", "ends with a backslash \\", String(repeating: "x\n", count: 70_000)]
        let copied = try db.copyIn("COPY c (id, v, w) FROM STDIN") { writer in
            for (i, value) in values.enumerated() { try writer.row([String(i), value, value.map { "[" + $0 + "]" }]) }
        }
        #expect(copied == values.count)
        let read = try db.query("SELECT v, w FROM c ORDER BY id")
        #expect(read.rows.map { $0[0] } == values)
        #expect(read.rows.map { $0[1] } == values.map { $0.map { "[" + $0 + "]" } })
    }

    @Test func serverErrors_CarryTheirSQLState_AndTheConnectionGoesOn() throws {
        let cluster = try PostgresCluster()
        let db = try PGConnection(cluster.url())
        try db.execute("CREATE TABLE u (k text PRIMARY KEY)")
        try db.query("INSERT INTO u VALUES ($1)", ["a"])
        #expect { try db.query("INSERT INTO u VALUES ($1)", ["a"]) } throws: { ($0 as? PGError)?.sqlState == "23505" }
        #expect { try db.execute("SELEC 1") } throws: { ($0 as? PGError)?.sqlState == "42601" }
        #expect { try db.query("SELECT $1::integer", ["not a number"]) } throws: { ($0 as? PGError)?.sqlState == "22P02" }
        #expect(try db.query("SELECT 1 + 1").rows == [["2"]])
    }

    @Test func aMultiHostURL_SkipsAHostThatIsDown_AndAnUnreachableServerIsNamed() throws {
        let cluster = try PostgresCluster()
        let down = try PostgresCluster.freePort()
        let db = try PGConnection("postgresql://hush@127.0.0.1:\(down),127.0.0.1:\(cluster.port)/postgres?target_session_attrs=read-write")
        #expect(db.endpoint == "127.0.0.1:\(cluster.port)")
        #expect { try PGConnection("postgresql://hush@127.0.0.1:\(down)/postgres", timeout: 2) } throws: { error in
            let e = error as? PGError
            return e?.message.hasPrefix("cannot connect to PostgreSQL:") == true && e?.isConnectionLost == true
        }
    }

    @Test func aServerThatGoesAway_FailsTheNextStatement_AsALostConnection() throws {
        let cluster = try PostgresCluster()
        let db = try PGConnection(cluster.url())
        #expect(try db.query("SELECT 1").rows == [["1"]])
        try cluster.stop(mode: "immediate")
        #expect { try db.query("SELECT 1") } throws: { ($0 as? PGError)?.isConnectionLost == true }
    }
}

/// The harness the failover tests stand on: a primary with a synchronous standby.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (apt-get install postgresql)"))
struct StandbyTests {
    @Test func aCommit_WaitsForTheSynchronousStandby_AndAfterAPromotionTheMultiHostURLFindsTheNewPrimary() throws {
        let primary = try PostgresCluster(settings: ["wal_level": "logical", "synchronous_standby_names": "ANY 1 (standby1)"])
        let standby = try PostgresCluster.standby(of: primary, name: "standby1")
        let url = "postgresql://hush@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/postgres?target_session_attrs=read-write"
        let db = try PGConnection(url)
        #expect(db.endpoint == "127.0.0.1:\(primary.port)")
        // The standby is attached and synchronous: the primary says so.
        var state: [[String?]] = []
        for _ in 0..<100 {
            state = try db.query("SELECT application_name, sync_state FROM pg_stat_replication").rows
            if state == [["standby1", "quorum"]] { break }
            usleep(100_000)
        }
        #expect(state == [["standby1", "quorum"]])
        try db.execute("CREATE TABLE acknowledged (id integer PRIMARY KEY)")
        for i in 0..<20 { try db.query("INSERT INTO acknowledged VALUES ($1)", [String(i)]) }
        // Every acknowledged commit is on the standby: the primary crashes, the standby is promoted.
        try primary.stop(mode: "immediate")
        try standby.promote()
        let after = try PGConnection(url)
        #expect(after.endpoint == "127.0.0.1:\(standby.port)")
        #expect(try after.query("SELECT count(*) FROM acknowledged").rows == [["20"]])
        try after.query("INSERT INTO acknowledged VALUES ($1)", ["20"])
        _ = db
    }
}

@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (apt-get install postgresql)"))
struct PGMigrationTests {
    @Test func theSchema_IsAppliedOnce_EvenByNodesStartingTogether_AndANewerOneIsRefused() throws {
        let cluster = try PostgresCluster(settings: ["wal_level": "logical"])
        // Three nodes at once: one applies, the others find it done; none fails.
        let results = Mutex<[Result<(before: Int, after: Int), PGError>]>([])
        let url = cluster.url()
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            let outcome: Result<(before: Int, after: Int), PGError>
            do throws(PGError) { outcome = .success(try PGMigrations.apply(to: try PGConnection(url))) } catch { outcome = .failure(error) }
            results.withLock { $0.append(outcome) }
        }
        let outcomes = results.withLock { $0 }
        #expect(outcomes.allSatisfy { (try? $0.get().after) == PGMigrations.latest }, "\(outcomes)")
        #expect(outcomes.filter { (try? $0.get().before) == 0 }.count >= 1)
        let db = try PGConnection(cluster.url())
        #expect(try db.query("SELECT count(*) FROM hush_schema").rows == [["1"]])
        let tables = try db.query("SELECT tablename FROM pg_publication_tables WHERE pubname = 'hush' ORDER BY tablename").rows.map { $0[0] ?? "" }
        #expect(tables == ["cases", "contacts", "history", "holds", "interactions", "log_erasures", "profiles", "suppressions", "tombstones"])
        // Every published table has a primary key, which replication names rows by.
        let keyless = try db.query("""
            SELECT c.relname FROM pg_class c JOIN pg_publication_tables p ON p.tablename = c.relname
            WHERE p.pubname = 'hush' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
            """).rows
        #expect(keyless.isEmpty)
        #expect(try PGMigrations.apply(to: db) == (before: PGMigrations.latest, after: PGMigrations.latest))
        try db.execute("UPDATE hush_schema SET version = version + 1")
        #expect { try PGMigrations.apply(to: db) } throws: { ($0 as? PGError)?.message.contains("newer than this hush knows") == true }
    }
}
