/// Why a request could not be read. Each case knows the status and the error code
/// (API.md, "Errors") it is answered with; after any of them the connection is closed,
/// because the framing of what follows can no longer be trusted.
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

    /// The error code of API.md's error body.
    public var code: String {
        switch self {
        case .malformed: "malformed_request"
        case .requestLineTooLong: "uri_too_long"
        case .headerTooLarge: "header_too_large"
        case .bodyTooLarge: "payload_too_large"
        case .unsupportedVersion: "http_version_not_supported"
        case .unsupportedTransferCoding: "not_implemented"
        case .timeout: "request_timeout"
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
