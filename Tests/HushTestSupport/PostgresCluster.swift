import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throw-away PostgreSQL cluster from Debian's binaries: `initdb` in a temporary directory,
/// `pg_ctl start` on a free loopback port with its socket in that directory, stopped and
/// removed when released. PostgreSQL refuses to run as root, so under root (as CI runs) the
/// cluster belongs to the `postgres` user and every command runs through `runuser`.
public final class PostgresCluster {
    public let port: Int
    public let directory: URL
    public var data: String { directory.appendingPathComponent("data").path }
    private var running = false

    /// A libpq URL for `database` as the superuser `hush` (trust authentication, loopback only).
    public func url(_ database: String = "postgres") -> String { "postgresql://hush@127.0.0.1:\(port)/\(database)" }

    /// The directory of `initdb` and `pg_ctl` (the newest installed major version), or nil.
    public static let binDirectory: String? = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }()

    /// Whether tests must run against PostgreSQL: `.ci/run` sets `HUSH_REQUIRE_POSTGRES=1`, so
    /// that a missing server fails there; elsewhere such tests are skipped when it is not installed.
    public static var required: Bool { ProcessInfo.processInfo.environment["HUSH_REQUIRE_POSTGRES"] == "1" }

    /// Whether a test should run: PostgreSQL is installed, or it is required (and the test then
    /// fails at start, saying so).
    public static var shouldRun: Bool { binDirectory != nil || required }

    /// A new cluster (`initdb`), started with `settings` (`-c key=value`).
    public convenience init(settings: [String: String] = [:]) throws {
        try self.init(settings: settings) { bin, data in
            let initdb = try Self.run(bin + "/initdb", ["-D", data, "-U", "hush", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
            guard initdb.status == 0 else { throw ClientError("initdb failed: \(initdb.err)\(initdb.out)") }
        }
    }

    /// A streaming standby of `primary` from `pg_basebackup -R`, connecting as application
    /// `name` (what `synchronous_standby_names` on the primary names).
    public static func standby(of primary: PostgresCluster, name: String, settings: [String: String] = [:]) throws -> PostgresCluster {
        try PostgresCluster(settings: settings) { bin, data in
            let backup = try Self.run(bin + "/pg_basebackup", ["-d", "host=127.0.0.1 port=\(primary.port) user=hush application_name=\(name)",
                                                               "-D", data, "-R", "-X", "stream", "--no-sync"])
            guard backup.status == 0 else { throw ClientError("pg_basebackup failed: \(backup.err)\(backup.out)") }
        }
    }

    private init(settings: [String: String], populate: (_ bin: String, _ data: String) throws -> Void) throws {
        guard let bin = Self.binDirectory else {
            throw ClientError("PostgreSQL is not installed (apt-get install postgresql): no initdb under /usr/lib/postgresql")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        if getuid() == 0 {
            guard let user = getpwnam("postgres") else { throw ClientError("running as root, and there is no postgres user to run PostgreSQL as") }
            guard chown(directory.path, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
                throw ClientError("cannot give \(directory.path) to postgres: \(String(cString: strerror(errno)))")
            }
        }
        var options = ["-p \(port)", "-c listen_addresses=127.0.0.1", "-k \(directory.path)"]
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) { options.append("-c \(key)='\(value)'") }
        self.options = options.joined(separator: " ")
        try populate(bin, data)
        try start()
    }

    /// The server's options (port, socket directory, settings), kept for a restart.
    private let options: String

    /// Starts the server (again, after `stop`).
    public func start() throws {
        guard !running, let bin = Self.binDirectory else { return }
        let start = try Self.run(bin + "/pg_ctl", ["-D", data, "-l", directory.appendingPathComponent("server.log").path,
                                                   "-o", options, "-w", "-t", "60", "start"])
        guard start.status == 0 else {
            let log = (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
            throw ClientError("pg_ctl start failed: \(start.err)\(start.out)\(log.suffix(2000))")
        }
        running = true
    }

    /// SIGKILL to the postmaster, as when its machine dies; its backends notice and exit.
    public func kill() throws {
        guard running else { return }
        let text = try String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8)
        guard let pid = Int32(text.split(separator: "\n").first ?? "") else { throw ClientError("no postmaster pid in \(data)/postmaster.pid") }
        Glibc.kill(pid, SIGKILL)
        running = false
    }

    /// Makes this server, whose data is stale (a killed primary), a fresh streaming standby of
    /// `primary` on the same port: its data is replaced by a `pg_basebackup`, and it connects
    /// as application `name`.
    public func rebuild(asStandbyOf primary: PostgresCluster, name: String) throws {
        try? stop(mode: "immediate")
        guard let bin = Self.binDirectory else { return }
        let wipe = try Self.run("/bin/sh", ["-c", "rm -rf '\(data)' && mkdir -m 700 '\(data)'"])
        guard wipe.status == 0 else { throw ClientError("cannot empty \(data): \(wipe.err)") }
        let backup = try Self.run(bin + "/pg_basebackup", ["-d", "host=127.0.0.1 port=\(primary.port) user=hush application_name=\(name)",
                                                           "-D", data, "-R", "-X", "stream", "--no-sync"])
        guard backup.status == 0 else { throw ClientError("pg_basebackup failed: \(backup.err)\(backup.out)") }
        try start()
    }

    /// Promotes a standby to primary and waits until it is one.
    public func promote() throws {
        guard let bin = Self.binDirectory else { return }
        let result = try Self.run(bin + "/pg_ctl", ["-D", data, "-w", "-t", "60", "promote"])
        guard result.status == 0 else { throw ClientError("pg_ctl promote failed: \(result.err)\(result.out)") }
    }

    /// Stops the server (`immediate`: like a crash; `fast`: a clean shutdown).
    public func stop(mode: String = "fast") throws {
        guard running, let bin = Self.binDirectory else { return }
        let result = try Self.run(bin + "/pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "60", "stop"])
        guard result.status == 0 else { throw ClientError("pg_ctl stop failed: \(result.err)") }
        running = false
    }

    deinit {
        try? stop(mode: "immediate")
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `sql` with psql on this server and returns its rows, unaligned (`|` between columns).
    /// Statements separated by `;` and a line break run each in its own transaction (VACUUM needs it).
    @discardableResult
    public func psql(_ sql: String) throws -> String {
        guard let bin = Self.binDirectory else { throw ClientError("PostgreSQL is not installed") }
        let statements = sql.components(separatedBy: ";\n").filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        let result = try Command.run(bin + "/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url()] + statements.flatMap { ["-c", $0] },
                                     seconds: 120)
        guard result.status == 0 else { throw ClientError("psql failed: \(result.err)") }
        return result.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The process id of the walsender that streams `slot`, when a node follows it now.
    public func walsender(of slot: String) throws -> Int32? {
        Int32(try psql("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '\(slot)' AND active"))
    }

    /// `program` with `arguments`, as `postgres` when this process is root.
    static func run(_ program: String, _ arguments: [String]) throws -> CommandResult {
        if getuid() == 0 { return try Command.run("runuser", ["-u", "postgres", "--", program] + arguments, seconds: 90) }
        return try Command.run(program, arguments, seconds: 90)
    }

    /// A loopback port nothing listens on now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw ClientError("cannot find a free port: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
