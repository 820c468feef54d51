import ArgumentParser
import Foundation
import HushPostgres
import HushStore

/// `--config` and `--database`, as `serve` takes them, for the commands that work on a
/// configuration or a database without serving.
struct StoreLocation: ParsableArguments {
    @Option(help: ArgumentHelp("Configuration file (HUSH_CONFIG; default Config/hush.json, or the built-in default when that file does not exist).",
                               valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("SQLite database file (HUSH_DATABASE; default: server.database in the configuration).", valueName: "path"))
    var database: String?

    /// The settings, as `serve` would resolve them; exits 1 naming the problem.
    func settings() -> Settings {
        var options = CommandLineOptions()
        options.configPath = config
        options.database = database
        do { return try Settings.resolve(options, environment: ProcessInfo.processInfo.environment) } catch { fail(error.message) }
    }
}

/// `hush check-config [FILE]`: the configuration `serve` would run with, validated without
/// starting anything.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file without starting; name the key and what it may be when it is wrong.",
        discussion: "The HUSH_* variables and --database apply on top, as for serve. Exits 0 and prints a summary when the configuration is good.")

    @Argument(help: ArgumentHelp("The file to check (default: --config, HUSH_CONFIG, then Config/hush.json).", valueName: "file"))
    var file: String?

    @OptionGroup var location: StoreLocation

    func run() throws {
        var location = location
        if let file { location.config = file }
        let settings = location.settings()
        let config = settings.config
        let keys = config.auth.keys.count
        let sink = config.decisionLog.sink == .file ? "file sink in \(config.decisionLog.directory(database: config.server.database))"
            : config.decisionLog.sink.rawValue
        let access: String = switch config.log.access {
        case .all: "all"
        case .errors: "errors"
        case .off: "off"
        case .sampled(let rate): "\(rate) of successful decisions"
        }
        let store = switch config.store.kind {
        case .sqlite: "database \(config.server.database)"
        case .postgres: "PostgreSQL store (slot \(config.store.postgresSlot ?? Service.defaultSlot(port: config.server.port)), "
            + "max lag \(config.store.maxLagMilliseconds) ms), image \(config.server.database)"
        }
        print("""
            \(settings.configSource ?? "built-in default"): ok
              listens on \(config.server.host):\(config.server.port)\(config.server.tls == nil ? "" : " (TLS)"), \(store)
              \(keys == 0 ? "no API keys: loopback only" : "\(keys) API key\(keys == 1 ? "" : "s")"), erasure key \(config.erasureKey == nil ? "not set (loopback only: a development key)" : "set")
              decision log: \(sink); access log: \(access); log level \(config.log.level.rawValue)
              policy version \(API.policyVersion(config.policy))
            """)
    }
}

/// `hush migrate`: brings the database's schema up to this hush's, and exits.
struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the schema migrations the database lacks, then exit (serve applies them too, at start).",
        discussion: """
            Creates the database if it does not exist. Refuses a database written by a newer hush, and one a running hush holds. \
            With store.kind postgres, migrates the PostgreSQL primary that store.postgres.url reaches (a node's image is \
            made from it at start).
            """)

    @OptionGroup var location: StoreLocation

    func run() throws {
        let config = location.settings().config
        if config.store.kind == .postgres {
            let versions: (before: Int, after: Int)
            do {
                versions = try PGMigrations.apply(to: PGConnection(config.store.postgresURL ?? ""))
            } catch {
                fail("PostgreSQL (store.postgres.url): \(error.message)")
            }
            print(versions.before == versions.after ? "PostgreSQL: schema version \(versions.after), up to date"
                  : "PostgreSQL: schema version \(versions.before) to \(versions.after)")
            return
        }
        let path = config.server.database
        let existed = FileManager.default.fileExists(atPath: path)
        let versions: (before: Int, after: Int)
        do {
            try DatabaseFile.prepare(path: path)
            let lock = try WriteLock.acquire(path: path)
            versions = try DatabaseFile.migrate(path: path)
            withExtendedLifetime(lock) {}
        } catch {
            fail(error.message)
        }
        if !existed {
            print("\(path): created at schema version \(versions.after)")
        } else if versions.before == versions.after {
            print("\(path): schema version \(versions.after), up to date")
        } else {
            print("\(path): schema version \(versions.before) to \(versions.after)")
        }
    }
}

/// `hush backup DEST`: an online copy of the database, checked.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the database while hush runs: one consistent snapshot, checked with PRAGMA integrity_check.",
        discussion: """
            The copy holds every write committed before it began. It is written beside DEST under a \
            temporary name and renamed once checked; an existing DEST is never overwritten. To \
            restore: stop hush, remove the database's -wal and -shm files, put the copy in its place, \
            start hush. The decision log's directory is separate: copy its closed segments (.zst with \
            their .idx) as they are.
            """)

    @OptionGroup var location: StoreLocation

    @Argument(help: ArgumentHelp("Where the copy goes (a file that does not exist yet).", valueName: "dest"))
    var destination: String

    func run() throws {
        let path = location.settings().config.server.database
        let started = Date()
        let result: (bytes: Int, schemaVersion: Int)
        do { result = try DatabaseFile.backup(path: path, to: destination) } catch { fail(error.message) }
        let seconds = Date().timeIntervalSince(started)
        print("\(path) copied to \(destination): \(result.bytes) bytes, schema version \(result.schemaVersion), integrity ok, "
              + String(format: "%.1f s", seconds))
    }
}

/// `hush healthcheck`: exits 0 when `/healthz` answers 200, for a container's `HEALTHCHECK`.
struct HealthCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcheck",
        abstract: "Exit 0 when the server's /healthz answers 200 (for a container's HEALTHCHECK); 1 otherwise, saying why.")

    @Option(help: ArgumentHelp("What to check (default: /healthz on server.host and server.port of the configuration, https with TLS).",
                               valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("Seconds to wait for the answer.", valueName: "seconds"))
    var timeout: Double = 3

    @OptionGroup var location: StoreLocation

    func run() throws {
        guard timeout > 0, timeout <= 300 else { fail("--timeout must be between 0 and 300 seconds") }
        let target: HealthProbe.Target
        if let url {
            guard let parsed = HealthProbe.parse(url) else { fail("--url must be http://host:port/path or https://…, not \(url)") }
            target = parsed
        } else {
            let server = location.settings().config.server
            // A server bound to every address answers on loopback.
            let host = switch server.host { case "0.0.0.0": "127.0.0.1"; case "::": "::1"; default: server.host }
            target = HealthProbe.Target(tls: server.tls != nil, host: host, port: server.port, path: "/healthz")
        }
        switch HealthProbe.status(of: target, timeout: timeout) {
        case .success(200): return
        case .success(let code): fail("\(target.path) answered \(code)")
        case .failure(let error): fail(error.description)
        }
    }
}
