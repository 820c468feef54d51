import Foundation

/// The flags of `hush serve`, before the config file and environment are merged in.
public struct CommandLineOptions: Equatable, Sendable {
    public var configPath: String?
    public var host: String?
    public var port: Int?
    public var database: String?
    public var threads: Int?
    public var tlsCertificate: String?
    public var tlsKey: String?

    public init() {}
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
            config.server.port = try Self.integer(port, "HUSH_PORT"); origin["server.port"] = "HUSH_PORT=\(port)"
        }
        if let database = env("HUSH_DATABASE") { config.server.database = database; origin["server.database"] = "HUSH_DATABASE=\(database)" }
        if let threads = env("HUSH_THREADS") {
            config.server.threads = try Self.integer(threads, "HUSH_THREADS"); origin["server.threads"] = "HUSH_THREADS=\(threads)"
        }
        if let key = env("HUSH_ERASURE_KEY") {
            guard key.utf8.count >= 32 else { throw ConfigError(message: "HUSH_ERASURE_KEY must be at least 32 bytes") }
            config.erasureKey = key
        }
        // A connection string may hold a password: it can come from the environment instead of the file.
        if let url = env("HUSH_POSTGRES_URL") { config.store.postgresURL = url }
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
        try config.validateStore()
        return Settings(config: config, configSource: source)
    }

    static func integer(_ text: String, _ name: String) throws(ConfigError) -> Int {
        guard let value = Int(text) else { throw ConfigError(message: "\(name) must be an integer, not \"\(text)\"") }
        return value
    }
}
