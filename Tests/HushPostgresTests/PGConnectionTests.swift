import Foundation
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
