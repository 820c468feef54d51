import Foundation

/// What the command line asked for, before the config file and environment are merged in.
public struct CommandLineOptions: Equatable, Sendable {
    public enum Command: String, Sendable { case serve, help, version, hashKey = "hash-key" }
    public var command: Command = .serve
    public var configPath: String?
    public var host: String?
    public var port: Int?
    public var database: String?
    public var threads: Int?
    public var tlsCertificate: String?
    public var tlsKey: String?

    public init() {}

    public static let usage = """
        usage: hush [serve] [options]
               hush hash-key        reads an API key on standard input, prints the sha256 for auth.keys
               hush version | help  (also --version, --help)

        options (each overrides HUSH_* in the environment, which overrides the config file):
          --config PATH      configuration file (HUSH_CONFIG; default Config/hush.json,
                             or the built-in default when that file does not exist)
          --host H           address to bind (HUSH_HOST; default 127.0.0.1)
          --port P           port to bind, 0 for any free port (HUSH_PORT; default 8080)
          --database PATH    SQLite database file, created if missing (HUSH_DATABASE; default hush.db)
          --threads N        event loops, 0 for one per core (HUSH_THREADS; default one per core)
          --tls-cert PATH    PEM certificate chain; with --tls-key, serve HTTPS (HUSH_TLS_CERT)
          --tls-key PATH     PEM private key (HUSH_TLS_KEY)

        environment only:
          HUSH_ERASURE_KEY   the secret of erasure tombstones, at least 32 bytes (or erasure_key
                             in the config file). Required off loopback; on loopback without one
                             hush keeps a development key in <database>.erasure-key
        """

    /// Parses the arguments after the program name. Throws naming the flag that is wrong.
    public static func parse(_ arguments: [String]) throws(ConfigError) -> CommandLineOptions {
        var options = CommandLineOptions()
        var rest = arguments[...]
        if let first = rest.first, !first.hasPrefix("-") {
            guard let command = Command(rawValue: first) else {
                throw ConfigError(message: "unknown command \"\(first)\"; try: hush help")
            }
            options.command = command
            rest = rest.dropFirst()
        }
        while let flag = rest.popFirst() {
            if flag == "-h" || flag == "--help" { options.command = .help; continue }
            if flag == "--version" { options.command = .version; continue }
            var name = flag, inline: String?
            if let eq = flag.firstIndex(of: "=") { name = String(flag[..<eq]); inline = String(flag[flag.index(after: eq)...]) }
            func value() throws(ConfigError) -> String {
                if let inline { return inline }
                guard let next = rest.popFirst() else { throw ConfigError(message: "\(name) needs a value") }
                return next
            }
            switch name {
            case "--config": options.configPath = try value()
            case "--host": options.host = try value()
            case "--port": options.port = try integer(try value(), name)
            case "--database": options.database = try value()
            case "--threads": options.threads = try integer(try value(), name)
            case "--tls-cert": options.tlsCertificate = try value()
            case "--tls-key": options.tlsKey = try value()
            default: throw ConfigError(message: "unknown option \(flag); try: hush help")
            }
        }
        return options
    }

    static func integer(_ text: String, _ name: String) throws(ConfigError) -> Int {
        guard let value = Int(text) else { throw ConfigError(message: "\(name) must be an integer, not \"\(text)\"") }
        return value
    }
}

/// The settings a service runs with: the config file, then `HUSH_*` variables, then flags.
public struct Settings: Equatable, Sendable {
    public var config: Config
    /// Where the config came from, for the log; nil for the built-in default.
    public var configSource: String?

    /// Merges the three sources. `readFile` is injectable for tests.
    public static func resolve(
        _ options: CommandLineOptions,
        environment: [String: String],
        fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) },
        readFile: (String) throws -> Data = { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    ) throws(ConfigError) -> Settings {
        // An empty variable counts as unset, for HUSH_CONFIG as for the others.
        func env(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        let explicitPath = options.configPath ?? env("HUSH_CONFIG")
        let path = explicitPath ?? "Config/hush.json"
        var config = Config.default
        var source: String?
        if explicitPath != nil || fileExists(path) {
            let data: Data
            do { data = try readFile(path) } catch {
                throw ConfigError(message: "cannot read configuration \(path): \(error.localizedDescription)")
            }
            do { config = try Config.parse(data) } catch {
                throw ConfigError(message: "\(path): \(error.message)")
            }
            source = path
        }
        // Where each overridden setting came from, so that an error names what the user typed.
        var origin: [String: String] = [:]
        if let host = env("HUSH_HOST") { config.server.host = host; origin["server.host"] = "HUSH_HOST=\(host)" }
        if let port = env("HUSH_PORT") {
            config.server.port = try CommandLineOptions.integer(port, "HUSH_PORT"); origin["server.port"] = "HUSH_PORT=\(port)"
        }
        if let database = env("HUSH_DATABASE") { config.server.database = database; origin["server.database"] = "HUSH_DATABASE=\(database)" }
        if let threads = env("HUSH_THREADS") {
            config.server.threads = try CommandLineOptions.integer(threads, "HUSH_THREADS"); origin["server.threads"] = "HUSH_THREADS=\(threads)"
        }
        if let key = env("HUSH_ERASURE_KEY") {
            guard key.utf8.count >= 32 else { throw ConfigError(message: "HUSH_ERASURE_KEY must be at least 32 bytes") }
            config.erasureKey = key
        }
        var certificate = env("HUSH_TLS_CERT"), key = env("HUSH_TLS_KEY")

        if let host = options.host { config.server.host = host; origin["server.host"] = "--host \(host)" }
        if let port = options.port { config.server.port = port; origin["server.port"] = "--port \(port)" }
        if let database = options.database { config.server.database = database; origin["server.database"] = "--database \(database)" }
        if let threads = options.threads { config.server.threads = threads; origin["server.threads"] = "--threads \(threads)" }
        certificate = options.tlsCertificate ?? certificate
        key = options.tlsKey ?? key
        switch (certificate, key) {
        case (nil, nil): break
        case let (cert?, key?): config.server.tls = .init(certificate: cert, privateKey: key)
        case (_?, nil): throw ConfigError(message: "--tls-cert needs --tls-key (or HUSH_TLS_KEY)")
        case (nil, _?): throw ConfigError(message: "--tls-key needs --tls-cert (or HUSH_TLS_CERT)")
        }
        try config.validate(naming: origin)
        return Settings(config: config, configSource: source)
    }
}
