import Foundation
import HushCore
import HushHTTP
import HushLog
import HushReplica
import HushStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The whole service, wired: what `main.swift` would otherwise do, so that tests can start
/// hush in-process exactly as the binary does.
public final class Service: Sendable {
    public let settings: Settings
    public let server: Server
    /// Every route, as `METHOD /pattern` (HEAD implied by GET is not listed).
    public let routes: [String]
    let store: any FactStore
    let api: API
    let decisionLog: DecisionLog
    /// hush's own log on standard error: the access log and the operator's messages.
    public let serviceLog: ServiceLog
    private let loopCount: Int
    /// Held while the service runs (`WriteLock`).
    private let writeLock: WriteLock

    /// The routes whose successful answers `log.access`'s sampling rate thins out.
    static let sampledRoutes: Set<String> = ["POST /v1/decisions", "GET /v1/decisions", "POST /v1/decisions/batch",
                                             "GET /v1/customers/{id}/decisions"]

    /// Opens the store and starts serving. Throws with a one-line reason when it cannot.
    /// `logOutput`: where hush's own log goes (standard error).
    public init(settings: Settings, logOutput: Int32 = STDERR_FILENO) throws {
        self.settings = settings
        let config = settings.config
        let threads = config.server.threads > 0 ? config.server.threads : ServerOptions.coreCount
        let serviceLog = try ServiceLog(settings: config.log, loops: threads, routes: API.routes.map(\.path),
                                        sampled: API.routes.map { Self.sampledRoutes.contains($0.name) }, output: logOutput)
        self.serviceLog = serviceLog
        loopCount = threads
        var started = false
        defer { if !started { serviceLog.close() } }
        let log: @Sendable (String) -> Void = { serviceLog.message(.error, "server", $0) }
        let loopback = Self.isLoopback(config.server.host)
        if config.auth.keys.isEmpty, !loopback {
            throw ConfigError(message: "auth.keys is empty: without API keys hush serves only on a loopback address, not \(config.server.host)")
        }
        var options = ServerOptions()
        options.host = config.server.host
        options.port = config.server.port
        options.threads = threads
        options.limits = config.limits.http
        options.drainTimeout = .milliseconds(config.server.drainTimeoutMilliseconds)
        options.tls = config.server.tls.map { TLSOptions(certificatePath: $0.certificate, privateKeyPath: $0.privateKey) }
        options.log = log
        // Bound first: a port in use or a bad certificate stops start-up before any database
        // or key file exists.
        let listener = try Listener(options: options)
        try DatabaseFile.prepare(path: config.server.database)
        // One writer per database file: a second hush on it would leave this one's caches stale.
        writeLock = try WriteLock.acquire(path: config.server.database)
        ImportStageFiles.removeLeftovers(beside: config.server.database)
        var logOptions = DecisionLog.Options()
        logOptions.sink = DecisionLog.Sink(rawValue: config.decisionLog.sink.rawValue) ?? .file
        logOptions.directory = config.decisionLog.directory(database: config.server.database)
        logOptions.whenFull = DecisionLog.WhenFull(rawValue: config.decisionLog.effectiveWhenFull.rawValue) ?? .hold
        logOptions.retentionDays = config.decisionLog.retentionDays
        logOptions.maxBytes = config.decisionLog.maxBytes
        logOptions.bufferBytes = config.decisionLog.bufferBytes
        logOptions.loops = options.threads
        logOptions.report = { serviceLog.message(.warn, "decision_log", $0) }
        // Then the decision log's directory, which one that cannot be written stops start-up.
        do { decisionLog = try DecisionLog(options: logOptions) } catch { throw ConfigError(message: error.message) }
        let decisionLog = self.decisionLog
        // Whatever stops start-up from here stops the log's threads too.
        defer { if !started { decisionLog.close() } }

        let key: [UInt8]
        if let configured = config.erasureKey {
            key = Array(configured.utf8)
        } else if loopback {
            key = try Self.developmentKey(beside: config.server.database)
        } else {
            throw ConfigError(message: "erasure_key (or HUSH_ERASURE_KEY) is required when serving on \(config.server.host)")
        }
        let writerHasher: SharedTombstoneHasher
        do { writerHasher = try SharedTombstoneHasher(key: key) } catch { throw ConfigError(message: "erasure_key \(error.message)") }
        switch config.store.kind {
        case .sqlite:
            store = try SQLiteStore(path: config.server.database, lookback: config.policy.longestWindow, tombstoneHash: writerHasher.hash,
                                    renderHistory: Self.renderHistory, retention: config.retention.policy)
        case .postgres:
            var options = PostgresStore.Options(url: config.store.postgresURL ?? "", slot: config.store.postgresSlot ?? Self.defaultSlot(port: config.server.port))
            options.writers = config.store.postgresWriters
            options.dropIdleSlotAfter = Double(config.store.dropIdleSlotSeconds)
            options.maxLag = Double(config.store.maxLagMilliseconds) / 1000
            options.report = { serviceLog.message(.warn, "replica", $0) }
            options.inform = { serviceLog.message(.info, "replica", $0) }
            options.onLogErasure = { subjects in
                do throws(LogError) { try decisionLog.erase(subjects: subjects) } catch {
                    serviceLog.message(.error, "decision_log", "an erasure through another node could not be recorded: \(error.message)")
                }
            }
            store = try PostgresStore(options: options, imagePath: config.server.database, lookback: config.policy.longestWindow,
                                      tombstoneHash: writerHasher.hash, renderHistory: Self.renderHistory,
                                      retention: config.retention.policy)
        }
        let api: API
        do {
            api = try API(store: store, config: config, erasureKey: key, writerHasher: writerHasher, loops: options.threads,
                          decisionLog: decisionLog, log: log)
        } catch {
            store.close()
            throw ConfigError(message: "erasure_key \(error.message)")
        }
        self.api = api
        api.serviceLog = serviceLog
        options.turnEnded = { api.turnEnded($0) }
        let metrics = api.metrics
        options.observe = { answer in
            metrics.request(loop: answer.loop, route: answer.route, status: answer.status, nanoseconds: answer.nanoseconds)
            serviceLog.answered(answer)
        }
        options.failureResponse = { failure in api.errorResponse(.http(failure), pretty: false) }
        routes = API.routes.map(\.name)
        metrics.name(routes: routes)
        do {
            server = try Server(listener: listener, options: options, router: api.makeRouter())
        } catch {
            store.close()
            throw error
        }
        started = true
        api.server = server
        if config.erasureKey == nil {
            serviceLog.message(.warn, "config", "no erasure key configured (erasure_key or HUSH_ERASURE_KEY); using the development key in \(config.server.database).erasure-key")
        }
    }

    /// A node's replication slot when none is configured: `hush_`, the host's name and the
    /// port, in the characters a slot name takes (stable across restarts of the same node).
    static func defaultSlot(port: Int) -> String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        return defaultSlot(host: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, port: port)
    }

    /// The slot name for the host name's bytes and the port: ASCII letters (lower-cased) and
    /// digits kept, anything else `_`, at most PostgreSQL's 63 bytes.
    static func defaultSlot(host: [UInt8], port: Int) -> String {
        let kept = host.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): byte
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte + 32
            default: UInt8(ascii: "_")
            }
        }
        return String(("hush_" + String(decoding: kept, as: UTF8.self) + "_" + String(port)).prefix(63))
    }

    /// How the history of changes renders records: as the API shows them.
    public static let renderHistory: HistoryRenderer = JSONWriter.render

    /// The line printed when the service is ready: `listening on http://127.0.0.1:8080`.
    public var readyLine: String {
        let scheme = settings.config.server.tls == nil ? "http" : "https"
        let host = server.host.contains(":") ? "[\(server.host)]" : server.host
        return "listening on \(scheme)://\(host):\(server.port)"
    }

    /// The start, in hush's own log: where it listens and what it runs with.
    public func logStart() {
        let config = settings.config
        let sink = config.decisionLog.sink == .file ? "file sink in \(config.decisionLog.directory(database: config.server.database))"
            : config.decisionLog.sink.rawValue
        let database = switch config.store.kind {
        case .sqlite: "database \(config.server.database)"
        case .postgres: "PostgreSQL store, slot \((store as? PostgresStore)?.options.slot ?? "?"), image \(config.server.database)"
        }
        serviceLog.message(.info, "start", "\(readyLine): hush \(Hush.version), SQLite \(SQLiteLibrary.version), "
                           + "\(loopCount) event loops, \(database), decision log \(sink)")
    }

    /// Turns `/readyz` to 503 while everything else is still served: the first step of a
    /// drain, so that load balancers move the traffic before connections close.
    public func beginDrain(graceMilliseconds: Int) {
        api.isDraining = true
        serviceLog.message(.info, "draining", "/readyz answers 503; serving for \(graceMilliseconds) ms more, then no new connections",
                           ordered: true)
    }

    /// Drains and stops; returns when every connection is closed and the writer finished.
    public func shutdown() {
        api.isDraining = true
        serviceLog.message(.info, "stopping", "no new connections; finishing the requests in flight", ordered: true)
        server.shutdown()
        store.close()
        decisionLog.close()
        serviceLog.message(.info, "stopped", "every connection closed and every decision recorded", ordered: true)
        serviceLog.close()
    }

    /// 127.0.0.0/8, ::1 and `localhost`.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }

    /// The development key beside `database`, if there is one (never made here: for the commands
    /// that read or write the file without serving); a file that is not one is an error.
    static func existingDevelopmentKey(beside database: String) throws(ConfigError) -> [UInt8]? {
        let path = database + ".erasure-key"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        guard let bytes = Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count >= 32 else {
            throw ConfigError(message: "\(path) must hold at least 64 hex digits (the development erasure key)")
        }
        return bytes
    }

    /// A 32-byte key kept beside the database for development on loopback, created once
    /// (mode 0600), so that tombstones keep matching across restarts.
    static func developmentKey(beside database: String) throws -> [UInt8] {
        let path = database + ".erasure-key"
        if let existing = try existingDevelopmentKey(beside: database) { return existing }
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let hex = Hex.encode(bytes) + "\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ConfigError(message: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = hex.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        guard written == hex.utf8.count, fsync(fd) == 0 else { throw ConfigError(message: "cannot write \(path)") }
        return bytes
    }
}
