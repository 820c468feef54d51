/// Why a request could not be read. Each case knows the status it is answered with; after any
/// of them the connection is closed, because the framing of what follows can no longer be
/// trusted.
public enum HTTPParseError: Error, Equatable, Sendable {
    /// Bad syntax or framing; the message says what was wrong.
    case malformed(String)
    /// The request line is longer than `HTTPLimits.maxRequestLineBytes`.
    case requestLineTooLong
    /// The header section is larger than `HTTPLimits.maxHeaderBytes` or has too many fields.
    case headerTooLarge(String)
    /// The body is larger than the route allows.
    case bodyTooLarge(limit: Int)
    /// A version other than HTTP/1.0 or HTTP/1.1.
    case unsupportedVersion
    /// A transfer coding other than `chunked`.
    case unsupportedTransferCoding(String)
    /// The header section or the body did not arrive in time.
    case timeout

    public var status: HTTPStatus {
        switch self {
        case .malformed: .badRequest
        case .requestLineTooLong: .uriTooLong
        case .headerTooLarge: .headerTooLarge
        case .bodyTooLarge: .payloadTooLarge
        case .unsupportedVersion: .httpVersionNotSupported
        case .unsupportedTransferCoding: .notImplemented
        case .timeout: .requestTimeout
        }
    }

    public var message: String {
        switch self {
        case .malformed(let why): why
        case .requestLineTooLong: "the request line is too long"
        case .headerTooLarge(let why): why
        case .bodyTooLarge(let limit): "the request body is larger than \(limit) bytes"
        case .unsupportedVersion: "only HTTP/1.0 and HTTP/1.1 are supported"
        case .unsupportedTransferCoding(let coding): "transfer coding \"\(coding)\" is not supported; only chunked is"
        case .timeout: "the request did not arrive in time"
        }
    }
}

/// Why the server answered a request itself rather than a route: a value, so that the layer
/// above renders it (`ServerOptions.failureResponse`) in its own error format.
public enum HTTPFailure: Equatable, Sendable {
    /// The request, or its query, cannot be read.
    case unreadable(HTTPParseError)
    /// No route has this path.
    case noRoute(method: String, path: String)
    /// The path exists for the methods in `allow`, not for `method`.
    case methodNotAllowed(method: String, allow: [String])
    /// The path is not valid (a malformed percent-encoding, bytes that are not UTF-8).
    case invalidPath(String)

    public var status: HTTPStatus {
        switch self {
        case .unreadable(let error): error.status
        case .noRoute: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .invalidPath: .badRequest
        }
    }

    public var message: String {
        switch self {
        case .unreadable(let error): error.message
        case .noRoute(let method, let path): "no route for \(method) \(path.prefix(200))"
        case .methodNotAllowed(let method, let allow): "\(method) is not allowed here; allowed: \(allow.joined(separator: ", "))"
        case .invalidPath(let why): why
        }
    }
}
