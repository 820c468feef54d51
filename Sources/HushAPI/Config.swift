import Foundation
import HushCore
import HushHTTP
import HushStore

/// The configuration file, `Config/hush.json`, decoded strictly: an unknown key or a value of
/// the wrong type is an error that names its path (`limits.max_header_bytes`).
public struct Config: Equatable, Sendable {
    public struct Server: Equatable, Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        public var database = "hush.db"
        /// Event loops; 0 means one per core.
        public var threads = 0
        public var drainTimeoutMilliseconds = 10_000
        /// After SIGTERM, how long `/readyz` answers 503 while hush still serves, before it
        /// stops accepting: long enough for a load balancer's health checks to notice.
        public var drainGraceMilliseconds = 5_000
        public var tls: TLS?
    }

    public struct TLS: Equatable, Sendable {
        public var certificate: String
        public var privateKey: String
    }

    /// Access scopes of API keys (API.md, "Authentication"); `admin` implies the others.
    public enum Scope: String, Sendable, CaseIterable, Comparable {
        case decide, read, write, admin
        public static func < (a: Scope, b: Scope) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
    }

    /// One API key: its name (for logs and metrics), the SHA-256 of the key, never the key, and
    /// its scopes.
    public struct APIKey: Equatable, Sendable {
        public var name: String
        public var sha256: [UInt8]
        public var scopes: Set<Scope>
        public init(name: String, sha256: [UInt8], scopes: Set<Scope>) { self.name = name; self.sha256 = sha256; self.scopes = scopes }
    }

    public struct Auth: Equatable, Sendable {
        public var keys: [APIKey] = []
        /// Puts `/metrics` under the `read` scope.
        public var protectMetrics = false
    }

    /// Where decisions are recorded (README, "Evidence").
    public struct DecisionLogSettings: Equatable, Sendable {
        public enum Sink: String, Equatable, Sendable, CaseIterable { case file, stdout, off }
        public enum WhenFull: String, Equatable, Sendable, CaseIterable { case drop, hold }
        public var sink = Sink.file
        /// The file sink's directory; nil: beside the database, `<database>.decisions`.
        public var directory: String?
        /// nil: `hold` for the file sink (every answer on record), `drop` for stdout.
        public var whenFull: WhenFull?
        public var retentionDays = 30
        public var maxBytes = 10 << 30
        public var bufferBytes = 4 << 20

        /// The directory the file sink uses with `database`.
        public func directory(database: String) -> String { directory ?? database + ".decisions" }
        /// The policy in force.
        public var effectiveWhenFull: WhenFull { whenFull ?? (sink == .file ? .hold : .drop) }
    }

    /// hush's own log on standard error (README, "Operating hush").
    public struct LogSettings: Equatable, Sendable {
        public enum Level: String, Equatable, Sendable, CaseIterable, Comparable {
            case error, warn, info, debug
            public static func < (a: Level, b: Level) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
        }
        /// Which answers get an access-log line.
        public enum Access: Equatable, Sendable {
            case off, all
            /// Answers of status 400 and above.
            case errors
            /// Everything but successful decisions, and that share of those.
            case sampled(Double)
        }
        /// The least severe message written.
        public var level = Level.info
        /// Every answer but successful decisions, and 1% of those: each decision is already in
        /// the decision log, with its key; a line for each of them too would double the volume
        /// a busy gate sends its log collector.
        public var access = Access.sampled(0.01)
    }

    /// What the store removes as it ages (README, "Retention").
    public struct RetentionSettings: Equatable, Sendable {
        /// Days an expired suppression or an ended hold is kept before it is removed.
        public var expiredDays = 90
        /// Minutes between prunes; 0 prunes nothing (README, "Retention").
        public var intervalMinutes = 10

        /// The store's schedule, nil when pruning is off.
        public var policy: RetentionPolicy? {
            intervalMinutes == 0 ? nil : RetentionPolicy(expiredDays: expiredDays, interval: TimeInterval(intervalMinutes) * 60)
        }
    }

    /// Where the facts are kept (README, "Beyond one machine").
    public struct StoreSettings: Equatable, Sendable {
        public enum Kind: String, Sendable { case sqlite, postgres }
        /// `sqlite`: the database file is the store. `postgres`: PostgreSQL is, and the file is
        /// this node's read image of it.
        public var kind = Kind.sqlite
        /// A libpq connection string or URL (several hosts with `target_session_attrs=read-write`).
        public var postgresURL: String?
        /// This node's replication slot; by default `hush_` and the host's name and the port.
        public var postgresSlot: String?
        /// Connections that run writes on the primary at once.
        public var postgresWriters = 8
        /// A node not seen for this long loses its replication slot (dropped by the other
        /// nodes), so that a node gone for good stops holding the primary's WAL.
        public var dropIdleSlotSeconds = 600
        /// A node whose image is further behind the primary than this is unready and answers
        /// decisions `unavailable`.
        public var maxLagMilliseconds = 1_000
        /// How long a request that passes a consistency token waits for this node to reach it.
        public var tokenWaitMilliseconds = 1_000
    }

    public var server = Server()
    public var store = StoreSettings()
    public var log = LogSettings()
    public var retention = RetentionSettings()
    public var limits = Limits()
    public var decisionLog = DecisionLogSettings()
    public var auth = Auth()
    /// The secret under which erasure tombstones are hashed (HMAC-SHA256), at least 32 bytes.
    /// Required outside loopback; on loopback without one, a development key is kept beside
    /// the database.
    public var erasureKey: String?
    /// The contact policy (`policy` in the file); DESIGN.md's defaults when absent.
    public var policy = Policy.standard

    public init() {}

    /// The configuration that ships in `Config/hush.json`, used when that file is absent.
    public static let `default` = Config()

    /// Decodes and validates a configuration file's bytes.
    public static func parse(_ data: Data) throws(ConfigError) -> Config {
        // The strict parser first: Foundation's decoder takes trailing commas, comments and
        // repeated keys, which in a file of settings are typos to point at, not to guess through.
        let bytes = [UInt8](data)
        do throws(JSONSyntaxError) { _ = try JSONParser.parse(bytes) } catch {
            let before = bytes.prefix(error.offset)
            let line = before.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            let column = before.count - (before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
            throw ConfigError(message: "the configuration is not valid JSON: \(error.message) at byte \(error.offset) (line \(line), column \(column))")
        }
        let raw: RawConfig
        do {
            raw = try JSONDecoder().decode(RawConfig.self, from: data)
        } catch let error as ConfigError {
            throw error
        } catch let error as DecodingError {
            throw ConfigError(describing: error)
        } catch {
            throw ConfigError(message: "the configuration is not valid JSON: \(error.localizedDescription)")
        }
        var config = Config()
        if let server = raw.server {
            config.server.host = server.host ?? config.server.host
            config.server.port = server.port ?? config.server.port
            config.server.database = server.database ?? config.server.database
            config.server.threads = server.threads ?? config.server.threads
            config.server.drainTimeoutMilliseconds = server.drain_timeout_ms ?? config.server.drainTimeoutMilliseconds
            config.server.drainGraceMilliseconds = server.drain_grace_ms ?? config.server.drainGraceMilliseconds
            config.server.tls = server.tls.map { TLS(certificate: $0.certificate, privateKey: $0.private_key) }
        }
        for key in Limits.keys {
            if let value = raw.limits?.values[key.name] { key.set(&config.limits, value) }
        }
        if let policy = raw.policy { config.policy = try policy.policy() }
        if let auth = raw.auth {
            config.auth.protectMetrics = auth.protect_metrics ?? false
            for (i, key) in (auth.keys ?? []).enumerated() {
                let field = "auth.keys[\(i)]"
                guard !key.name.isEmpty, key.name.utf8.count <= 64 else { throw ConfigError(message: "\(field).name must be 1 to 64 characters") }
                guard let hash = Hex.decode(key.sha256), hash.count == 32, key.sha256 == key.sha256.lowercased() else {
                    throw ConfigError(message: "\(field).sha256 must be 64 lower-case hex digits (hush hash-key prints them)")
                }
                var scopes: Set<Scope> = []
                for (j, name) in key.scopes.enumerated() {
                    guard let scope = Scope(rawValue: name) else {
                        throw ConfigError(message: "\(field).scopes[\(j)] must be one of: decide, read, write, admin")
                    }
                    scopes.insert(scope)
                }
                guard !scopes.isEmpty else { throw ConfigError(message: "\(field).scopes must name at least one scope") }
                if config.auth.keys.contains(where: { $0.name == key.name }) { throw ConfigError(message: "\(field).name \"\(key.name)\" is used twice") }
                if config.auth.keys.contains(where: { $0.sha256 == hash }) { throw ConfigError(message: "\(field).sha256 is the hash of another key") }
                config.auth.keys.append(APIKey(name: key.name, sha256: hash, scopes: scopes))
            }
        }
        if let log = raw.decision_log {
            if let sink = log.sink {
                guard let value = DecisionLogSettings.Sink(rawValue: sink) else { throw ConfigError(message: "decision_log.sink must be one of: file, stdout, off") }
                config.decisionLog.sink = value
            }
            if let whenFull = log.when_full {
                guard let value = DecisionLogSettings.WhenFull(rawValue: whenFull) else { throw ConfigError(message: "decision_log.when_full must be drop or hold") }
                config.decisionLog.whenFull = value
            }
            config.decisionLog.directory = log.directory
            config.decisionLog.retentionDays = log.retention_days ?? config.decisionLog.retentionDays
            config.decisionLog.maxBytes = log.max_bytes ?? config.decisionLog.maxBytes
            config.decisionLog.bufferBytes = log.buffer_bytes ?? config.decisionLog.bufferBytes
        }
        if let log = raw.log {
            if let level = log.level {
                guard let value = LogSettings.Level(rawValue: level) else { throw ConfigError(message: "log.level must be one of: error, warn, info, debug") }
                config.log.level = value
            }
            switch log.access {
            case nil: break
            case .text("all"): config.log.access = .all
            case .text("errors"): config.log.access = .errors
            case .text("off"): config.log.access = .off
            case .rate(let rate) where rate >= 0 && rate <= 1: config.log.access = .sampled(rate)
            default: throw ConfigError(message: "log.access must be all, errors, off, or a sampling rate of successful decisions from 0 to 1")
            }
        }
        if let store = raw.store {
            if let kind = store.kind {
                guard let value = StoreSettings.Kind(rawValue: kind) else { throw ConfigError(message: "store.kind must be sqlite or postgres") }
                config.store.kind = value
            }
            config.store.postgresURL = store.postgres?.url
            config.store.postgresSlot = store.postgres?.slot
            config.store.postgresWriters = store.postgres?.writers ?? config.store.postgresWriters
            config.store.dropIdleSlotSeconds = store.postgres?.drop_idle_slot_s ?? config.store.dropIdleSlotSeconds
            config.store.maxLagMilliseconds = store.max_lag_ms ?? config.store.maxLagMilliseconds
            config.store.tokenWaitMilliseconds = store.token_wait_ms ?? config.store.tokenWaitMilliseconds
        }
        if let retention = raw.retention {
            config.retention.expiredDays = retention.expired_days ?? config.retention.expiredDays
            config.retention.intervalMinutes = retention.interval_minutes ?? config.retention.intervalMinutes
        }
        config.erasureKey = raw.erasure_key
        try config.validate()
        return config
    }

    /// Checks every setting's range; the error names the key and, for a setting overridden by a
    /// flag or variable, what was typed (`origin`: `"--port 70000"`, `"HUSH_PORT=70000"`).
    public func validate(naming origin: [String: String] = [:]) throws(ConfigError) {
        func check(_ ok: Bool, _ key: String, _ rule: String) throws(ConfigError) {
            if !ok { throw ConfigError(message: "\(origin[key].map { "\($0): \(key)" } ?? key) must be \(rule)") }
        }
        try check(!server.host.isEmpty, "server.host", "a host name or IP address")
        try check((0...65535).contains(server.port), "server.port", "between 0 and 65535")
        try check(!server.database.isEmpty, "server.database", "a file path")
        try check((0...1024).contains(server.threads), "server.threads", "between 0 (one per core) and 1024")
        try check((0...3_600_000).contains(server.drainTimeoutMilliseconds), "server.drain_timeout_ms", "between 0 and 3600000")
        try check((0...600_000).contains(server.drainGraceMilliseconds), "server.drain_grace_ms", "between 0 and 600000")
        if let tls = server.tls {
            try check(!tls.certificate.isEmpty, "server.tls.certificate", "a file path")
            try check(!tls.privateKey.isEmpty, "server.tls.private_key", "a file path")
        }
        for key in Limits.keys {
            try check(key.range.contains(key.get(limits)), "limits.\(key.name)", "between \(key.range.lowerBound) and \(key.range.upperBound)")
        }
        try check(limits.api.defaultPageSize <= limits.api.maxPageSize, "limits.default_page_size", "at most limits.max_page_size")
        if let erasureKey { try check(erasureKey.utf8.count >= 32, "erasure_key", "at least 32 bytes") }
        if let directory = decisionLog.directory { try check(!directory.isEmpty, "decision_log.directory", "a directory path, or null for one beside the database") }
        try check((1...3650).contains(decisionLog.retentionDays), "decision_log.retention_days", "between 1 and 3650")
        try check((1 << 20...1 << 50).contains(decisionLog.maxBytes), "decision_log.max_bytes", "between 1048576 and 1125899906842624")
        try check((64 << 10...1 << 30).contains(decisionLog.bufferBytes), "decision_log.buffer_bytes", "between 65536 and 1073741824")
        try check((1...3650).contains(retention.expiredDays), "retention.expired_days", "between 1 and 3650")
        try check((0...1440).contains(retention.intervalMinutes), "retention.interval_minutes", "between 0 (off) and 1440")
        try check((50...600_000).contains(store.maxLagMilliseconds), "store.max_lag_ms", "between 50 and 600000")
        try check((0...60_000).contains(store.tokenWaitMilliseconds), "store.token_wait_ms", "between 0 and 60000")
        try check((1...64).contains(store.postgresWriters), "store.postgres.writers", "between 1 and 64")
        try check((1...31_536_000).contains(store.dropIdleSlotSeconds), "store.postgres.drop_idle_slot_s", "between 1 and 31536000")
        if let slot = store.postgresSlot {
            try check((1...63).contains(slot.utf8.count) && slot.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F },
                      "store.postgres.slot", "1 to 63 lower-case letters, digits and _")
        }
    }

    /// What the PostgreSQL store needs besides its own keys, checked once the file, the
    /// variables and the flags are merged (either may hold the URL and the key).
    public func validateStore() throws(ConfigError) {
        guard store.kind == .postgres else { return }
        if (store.postgresURL ?? "").isEmpty {
            throw ConfigError(message: "store.postgres.url (or HUSH_POSTGRES_URL) is required when store.kind is postgres")
        }
        if erasureKey == nil {
            throw ConfigError(message: "erasure_key (or HUSH_ERASURE_KEY) is required when store.kind is postgres: every node must hash erased ids with the same key")
        }
    }
}

/// A configuration problem, with the key or flag it is about.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }

    init(describing error: DecodingError) {
        func path(_ context: DecodingError.Context, _ key: CodingKey? = nil) -> String {
            let keys = context.codingPath + (key.map { [$0] } ?? [])
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return text.isEmpty ? "the configuration" : text
        }
        switch error {
        case .typeMismatch(let type, let context):
            message = "\(path(context)) must be \(Self.typeName(type))"
        case .valueNotFound(let type, let context):
            message = "\(path(context)) must be \(Self.typeName(type)), not null"
        case .keyNotFound(let key, let context):
            message = "\(path(context, key)) is required"
        case .dataCorrupted(let context):
            message = context.codingPath.isEmpty ? "the configuration is not valid JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default:
            message = "the configuration is invalid"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Double.Type: "an integer"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default: "an object"
        }
    }
}

/// The file's shape, key for key. Each level refuses keys it does not know.
private struct RawConfig: Decodable {
    struct Server: Decodable {
        var host: String?, port: Int?, database: String?, threads: Int?, drain_timeout_ms: Int?, drain_grace_ms: Int?, tls: TLS?
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, ["host", "port", "database", "threads", "drain_timeout_ms", "drain_grace_ms", "tls"])
            let c = try decoder.container(keyedBy: StringKey.self)
            host = try c.decodeIfPresent(String.self, forKey: "host")
            port = try c.integer("port")
            database = try c.decodeIfPresent(String.self, forKey: "database")
            threads = try c.integer("threads")
            drain_timeout_ms = try c.integer("drain_timeout_ms")
            drain_grace_ms = try c.integer("drain_grace_ms")
            tls = try c.decodeIfPresent(TLS.self, forKey: "tls")
        }
    }
    struct TLS: Decodable {
        var certificate: String, private_key: String
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, ["certificate", "private_key"])
            let c = try decoder.container(keyedBy: StringKey.self)
            certificate = try c.decode(String.self, forKey: "certificate")
            private_key = try c.decode(String.self, forKey: "private_key")
        }
    }
    struct Limits: Decodable {
        var values: [String: Int] = [:]
        init(from decoder: Decoder) throws {
            let names = HushAPI.Limits.keys.map(\.name)
            try rejectUnknownKeys(decoder, names)
            let c = try decoder.container(keyedBy: StringKey.self)
            for name in names {
                if let value = try c.integer(name) { values[name] = value }
            }
        }
    }
    struct Auth: Decodable {
        struct Key: Decodable {
            var name: String, sha256: String, scopes: [String]
            init(from decoder: Decoder) throws {
                try rejectUnknownKeys(decoder, ["name", "sha256", "scopes"])
                let c = try decoder.container(keyedBy: StringKey.self)
                name = try c.decode(String.self, forKey: "name")
                sha256 = try c.decode(String.self, forKey: "sha256")
                scopes = try c.decode([String].self, forKey: "scopes")
            }
        }
        var keys: [Key]?, protect_metrics: Bool?
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, ["keys", "protect_metrics"])
            let c = try decoder.container(keyedBy: StringKey.self)
            keys = try c.decodeIfPresent([Key].self, forKey: "keys")
            protect_metrics = try c.decodeIfPresent(Bool.self, forKey: "protect_metrics")
        }
    }
    struct DecisionLog: Decodable {
        var sink: String?, directory: String?, when_full: String?, retention_days: Int?, max_bytes: Int?, buffer_bytes: Int?
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, ["sink", "directory", "when_full", "retention_days", "max_bytes", "buffer_bytes"])
            let c = try decoder.container(keyedBy: StringKey.self)
            sink = try c.decodeIfPresent(String.self, forKey: "sink")
            directory = try c.decodeIfPresent(String.self, forKey: "directory")
            when_full = try c.decodeIfPresent(String.self, forKey: "when_full")
            retention_days = try c.integer("retention_days")
            max_bytes = try c.integer("max_bytes")
            buffer_bytes = try c.integer("buffer_bytes")
        }
    }
    struct Log: Decodable {
        enum Access { case text(String), rate(Double) }
        var level: String?, access: Access?
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, ["level", "access"])
            let c = try decoder.container(keyedBy: StringKey.self)
            level = try c.decodeIfPresent(String.self, forKey: "level")
            if let text = try? c.decodeIfPresent(String.self, forKey: "access") {
                access = .text(text)
            } else if let rate = try? c.decodeIfPresent(Double.self, forKey: "access") {
                access = .rate(rate)
            } else if c.contains("access"), (try? c.decodeNil(forKey: "access")) != true {
                throw ConfigError(message: "log.access must be all, errors, off, or a sampling rate of successful decisions from 0 to 1")
            }
        }
    }
    struct Store: Decodable {
        struct Postgres: Decodable {
            var url: String?
            var slot: String?
            var writers: Int?
            var drop_idle_slot_s: Int?
            init(from decoder: Decoder) throws {
                try rejectUnknownKeys(decoder, ["url", "slot", "writers", "drop_idle_slot_s"])
                let c = try decoder.container(keyedBy: StringKey.self)
                url = try c.decodeIfPresent(String.self, forKey: "url")
                slot = try c.decodeIfPresent(String.self, forKey: "slot")
                writers = try c.integer("writers")
                drop_idle_slot_s = try c.integer("drop_idle_slot_s")
            }
        }
        var kind: String?
        var postgres: Postgres?
        var max_lag_ms: Int?
        var token_wait_ms: Int?
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, ["kind", "postgres", "max_lag_ms", "token_wait_ms"])
            let c = try decoder.container(keyedBy: StringKey.self)
            kind = try c.decodeIfPresent(String.self, forKey: "kind")
            postgres = try c.decodeIfPresent(Postgres.self, forKey: "postgres")
            max_lag_ms = try c.integer("max_lag_ms")
            token_wait_ms = try c.integer("token_wait_ms")
        }
    }
    struct Retention: Decodable {
        var expired_days: Int?, interval_minutes: Int?
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, ["expired_days", "interval_minutes"])
            let c = try decoder.container(keyedBy: StringKey.self)
            expired_days = try c.integer("expired_days")
            interval_minutes = try c.integer("interval_minutes")
        }
    }
    var server: Server?
    var store: Store?
    var log: Log?
    var retention: Retention?
    var limits: Limits?
    var policy: RawPolicy?
    var auth: Auth?
    var erasure_key: String?
    var decision_log: DecisionLog?
    init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, ["server", "store", "log", "retention", "limits", "policy", "auth", "erasure_key", "decision_log"])
        let c = try decoder.container(keyedBy: StringKey.self)
        server = try c.decodeIfPresent(Server.self, forKey: "server")
        store = try c.decodeIfPresent(Store.self, forKey: "store")
        log = try c.decodeIfPresent(Log.self, forKey: "log")
        retention = try c.decodeIfPresent(Retention.self, forKey: "retention")
        limits = try c.decodeIfPresent(Limits.self, forKey: "limits")
        policy = try c.decodeIfPresent(RawPolicy.self, forKey: "policy")
        auth = try c.decodeIfPresent(Auth.self, forKey: "auth")
        erasure_key = try c.decodeIfPresent(String.self, forKey: "erasure_key")
        decision_log = try c.decodeIfPresent(DecisionLog.self, forKey: "decision_log")
    }
}

extension KeyedDecodingContainer where Key == StringKey {
    /// An integer at `key`, or nil when absent. Decoded through Double so that `1.5` is reported
    /// as "must be an integer" naming the key (swift-corelibs-foundation calls it invalid JSON).
    func integer(_ key: String) throws -> Int? {
        guard let value = try decodeIfPresent(Double.self, forKey: StringKey(stringValue: key)) else { return nil }
        guard value.rounded() == value, abs(value) < 1e15 else {
            let path = (codingPath.map(\.stringValue) + [key]).joined(separator: ".")
            throw ConfigError(message: "\(path) must be an integer")
        }
        return Int(value)
    }
}

struct StringKey: CodingKey, ExpressibleByStringLiteral {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
    init(stringLiteral value: String) { stringValue = value }
}

/// Throws `ConfigError` naming the first key of this object that is not in `known`.
func rejectUnknownKeys(_ decoder: Decoder, _ known: [String]) throws {
    let container = try decoder.container(keyedBy: StringKey.self)
    for key in container.allKeys where !known.contains(key.stringValue) {
        let path = (decoder.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
        throw ConfigError(message: "unknown configuration key \(path)")
    }
}
