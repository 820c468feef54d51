import Foundation

/// hush as several nodes on PostgreSQL, as the README's "Beyond one machine" runs it: a
/// primary with a synchronous standby (`pg_basebackup`), and nodes each with their own image,
/// slot and port, reaching the primary through a multi-host URL. Everything on loopback, and
/// everything stopped when this goes.
public final class ReplicaCluster: @unchecked Sendable {
    public private(set) var primary: PostgresCluster
    public private(set) var standby: PostgresCluster
    public private(set) var nodes: [HushProcess] = []
    public let erasureKey: String
    private let directory: URL
    private let maxLagMilliseconds: Int
    private let dropIdleSlotSeconds: Int
    private let tokenWaitMilliseconds: Int

    /// A primary, its synchronous standby, and `count` nodes, each answering `/readyz` with 200.
    /// `settings`: more server settings for both PostgreSQL servers.
    public init(nodes count: Int = 3, maxLagMilliseconds: Int = 2_000, dropIdleSlotSeconds: Int = 600, tokenWaitMilliseconds: Int = 1_000,
                erasureKey: String = String(repeating: "r", count: 32), settings: [String: String] = [:]) throws {
        self.dropIdleSlotSeconds = dropIdleSlotSeconds
        self.tokenWaitMilliseconds = tokenWaitMilliseconds
        let common = ["wal_level": "logical", "synchronous_standby_names": "ANY 1 (standby1)", "max_replication_slots": "20",
                      "max_wal_senders": "20"].merging(settings) { $1 }
        primary = try PostgresCluster(settings: common)
        // The standby is set up as a primary would be: once promoted, it too commits only what
        // the other (rebuilt) server has.
        standby = try PostgresCluster.standby(of: primary, name: "standby1", settings: common)
        url = "postgresql://hush@127.0.0.1:\(primary.port),127.0.0.1:\(standby.port)/postgres?target_session_attrs=read-write"
        self.erasureKey = erasureKey
        self.maxLagMilliseconds = maxLagMilliseconds
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for index in 0..<count { nodes.append(try startNode("node_\(index)")) }
    }

    deinit {
        for node in nodes { _ = node.stop(signal: SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The primary's machine dies (SIGKILL to its postmaster): the standby is promoted, and the
    /// old primary is rebuilt from it as the new synchronous standby, on its old port.
    public func failover() throws {
        try primary.kill()
        try standby.promote()
        try primary.rebuild(asStandbyOf: standby, name: "standby1")
        (primary, standby) = (standby, primary)
    }

    /// Both servers, the primary first: a node finds whichever takes writes.
    public let url: String

    /// Starts a node with its own directory and slot, and waits until it is ready (its image loaded).
    public func startNode(_ slot: String, seconds: Double = 60) throws -> HushProcess {
        let dir = directory.appendingPathComponent(slot + "-" + UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = """
            {"server": {"threads": 2, "drain_grace_ms": 0},
             "store": {"kind": "postgres", "postgres": {"url": "\(url)", "slot": "\(slot)", "drop_idle_slot_s": \(dropIdleSlotSeconds)}, "max_lag_ms": \(maxLagMilliseconds), "token_wait_ms": \(tokenWaitMilliseconds)},
             "erasure_key": "\(erasureKey)"}
            """
        let path = dir.appendingPathComponent("hush.json")
        try config.write(to: path, atomically: true, encoding: .utf8)
        let node = try HushProcess(["--config", path.path], directory: dir)
        guard waitUntil(seconds: seconds, { (try? APIClient(port: node.port).get("/readyz").status) == 200 }) else {
            throw ClientError("node \(slot) did not turn ready: \(node.standardError.suffix(2000))")
        }
        return node
    }

    /// A client that takes turns among the nodes and carries the newest consistency token.
    public func client(key: String? = nil) throws -> APIClient {
        try APIClient(ports: nodes.map(\.port), key: key)
    }
}
