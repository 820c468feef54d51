import ArgumentParser
import Foundation
import HushStore

/// The `hush` command line: `serve` (the default), `check-config`, `migrate`, `backup`,
/// `export`, `healthcheck`, `hash-key`, `decision-log` and `version`. Flags override
/// `HUSH_*` variables, which override the configuration file (`Settings.resolve`).
public struct HushCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "hush",
        abstract: "May we contact this customer, on this channel, for this purpose, now?",
        version: versionLine,
        subcommands: [Serve.self, CheckConfig.self, Migrate.self, Decide.self, ImportCommand.self, Export.self, Backup.self, HealthCheck.self, HashKey.self, DecisionLogCommand.self,
                      VersionCommand.self],
        defaultSubcommand: Serve.self)

    /// `hush 0.1.0 (SQLite 3.40.1)`.
    static var versionLine: String { "hush \(Hush.version) (SQLite \(SQLiteLibrary.version))" }

    public init() {}
}

/// Serves the API until SIGTERM or SIGINT, then drains and exits 0: after SIGTERM, `/readyz`
/// answers 503 for `server.drain_grace_ms` while requests are still served.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API (the default command).",
        discussion: """
            Each option overrides its HUSH_* variable, which overrides the configuration file.

            HUSH_ERASURE_KEY (environment only, or erasure_key in the configuration file) is the \
            secret of erasure tombstones, at least 32 bytes. It is required off loopback; on \
            loopback without one, hush keeps a development key in <database>.erasure-key.
            """)

    @Option(help: ArgumentHelp("Configuration file (HUSH_CONFIG; default Config/hush.json, or the built-in default when that file does not exist).",
                               valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("Address to bind (HUSH_HOST; default 127.0.0.1).", valueName: "host"))
    var host: String?

    @Option(help: ArgumentHelp("Port to bind, 0 for any free port (HUSH_PORT; default 8080).", valueName: "port"))
    var port: Int?

    @Option(help: ArgumentHelp("SQLite database file, created if missing (HUSH_DATABASE; default hush.db).", valueName: "path"))
    var database: String?

    @Option(help: ArgumentHelp("Event loops, 0 for one per core (HUSH_THREADS; default one per core).", valueName: "n"))
    var threads: Int?

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain; with --tls-key, serve HTTPS (HUSH_TLS_CERT).", valueName: "path"))
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key (HUSH_TLS_KEY).", valueName: "path"))
    var tlsKey: String?

    /// The flags as `Settings.resolve` takes them.
    var options: CommandLineOptions {
        var options = CommandLineOptions()
        options.configPath = config
        options.host = host
        options.port = port
        options.database = database
        options.threads = threads
        options.tlsCertificate = tlsCertificate
        options.tlsKey = tlsKey
        return options
    }

    func run() throws {
        let settings: Settings
        do { settings = try Settings.resolve(options, environment: ProcessInfo.processInfo.environment) } catch { failStart(error.message) }
        // Block SIGTERM and SIGINT before any thread starts, so that every thread inherits the
        // mask and the signals wait for sigwait below instead of killing the process mid-request.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let service: Service
        do { service = try Service(settings: settings) } catch { failStart("\(error)") }
        service.logStart()
        print(service.readyLine)
        fflush(nil)

        var received: Int32 = 0
        sigwait(&signals, &received)
        // SIGTERM (an orchestrator, a load balancer's host) first turns /readyz to 503 and keeps
        // serving for the grace, so that health checks move the traffic before connections
        // close; a second signal ends the grace. SIGINT (Ctrl-C) stops at once.
        let grace = settings.config.server.drainGraceMilliseconds
        if received == SIGTERM, grace > 0 {
            service.beginDrain(graceMilliseconds: grace)
            Self.wait(for: &signals, milliseconds: grace)
        }
        service.shutdown()
    }

    /// Returns when one of `signals` arrives or `milliseconds` have passed.
    private static func wait(for signals: inout sigset_t, milliseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let deadline = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec) + Int64(milliseconds) * 1_000_000
        while true {
            clock_gettime(CLOCK_MONOTONIC, &now)
            let left = deadline - (Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec))
            guard left > 0 else { return }
            var timeout = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
            if sigtimedwait(&signals, nil, &timeout) >= 0 { return }
            if errno != EINTR { return }
        }
    }
}

/// Reads an API key on standard input and prints its SHA-256 for `auth.keys`. The key comes
/// on standard input, not as an argument: arguments end up in shell history and in every
/// process listing.
struct HashKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-key",
        abstract: "Read an API key on standard input; print the sha256 for auth.keys.")

    func run() throws {
        let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let key = input.hasSuffix("\r\n") ? String(input.dropLast(2)) : input.hasSuffix("\n") ? String(input.dropLast()) : input
        guard key.utf8.count >= 16 else { fail("an API key should be at least 16 characters; pipe it in: openssl rand -hex 32 | hush hash-key") }
        print(Authenticator.hexDigest(of: key))
    }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version (also --version).")

    func run() throws {
        print(HushCommand.versionLine)
    }
}

/// A start-up that fails: one line of hush's log (JSON) on standard error, exit status 1.
func failStart(_ message: String) -> Never {
    let line = ServiceLog.line(.error, "start", message)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(1)
}

/// One line on standard error, exit status 1: how the other commands end on bad input.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("hush: \(message)\n".utf8))
    exit(1)
}
