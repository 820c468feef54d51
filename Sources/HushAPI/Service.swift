import Foundation
import HushHTTP
import HushStore

/// The whole service, wired: what `main.swift` would otherwise do, so that tests can start
/// hush in-process exactly as the binary does.
public final class Service: Sendable {
    public let settings: Settings
    public let server: Server

    /// Opens the database and starts serving. Throws with a one-line reason when it cannot.
    public init(settings: Settings) throws {
        self.settings = settings
        let config = settings.config
        try DatabaseFile.prepare(path: config.server.database)
        var options = ServerOptions()
        options.host = config.server.host
        options.port = config.server.port
        if config.server.threads > 0 { options.threads = config.server.threads }
        options.limits = config.httpLimits
        options.drainTimeout = .milliseconds(config.server.drainTimeoutMilliseconds)
        options.tls = config.server.tls.map { TLSOptions(certificatePath: $0.certificate, privateKeyPath: $0.privateKey) }
        server = try Server(options: options, router: Self.makeRouter())
    }

    /// The routes of hush.
    public static func makeRouter() -> Router {
        var router = Router()
        router.add(.get, "/healthz") { _ in
            .json(.ok, #"{"status":"ok"}"#, headers: [("Cache-Control", "no-store")])
        }
        return router
    }

    /// The line printed when the service is ready: `listening on http://127.0.0.1:8080`.
    public var readyLine: String {
        let scheme = settings.config.server.tls == nil ? "http" : "https"
        let host = server.host.contains(":") ? "[\(server.host)]" : server.host
        return "listening on \(scheme)://\(host):\(server.port)"
    }

    /// Drains and stops; returns when every connection is closed.
    public func shutdown() {
        server.shutdown()
    }
}
