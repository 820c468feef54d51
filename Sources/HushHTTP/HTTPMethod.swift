#if canImport(Glibc)
import Glibc
#endif

/// A request method. The common ones are cases so that matching them costs no allocation.
public enum HTTPMethod: Sendable, Hashable, CustomStringConvertible {
    case get, head, post, put, patch, delete, options
    /// Any other token (RFC 9110 §9.1 lets a method be any token).
    case other(String)

    public init(_ name: String) {
        switch name {
        case "GET": self = .get
        case "HEAD": self = .head
        case "POST": self = .post
        case "PUT": self = .put
        case "PATCH": self = .patch
        case "DELETE": self = .delete
        case "OPTIONS": self = .options
        default: self = .other(name)
        }
    }

    /// The method named by `bytes` (a token), without building a String for the common ones.
    init(token bytes: UnsafeRawBufferPointer) {
        func equals(_ name: StaticString) -> Bool {
            name.utf8CodeUnitCount == bytes.count && memcmp(name.utf8Start, bytes.baseAddress!, bytes.count) == 0
        }
        if equals("GET") { self = .get } else if equals("POST") { self = .post } else if equals("HEAD") { self = .head }
        else if equals("PUT") { self = .put } else if equals("PATCH") { self = .patch } else if equals("DELETE") { self = .delete }
        else if equals("OPTIONS") { self = .options } else { self = .other(String(decoding: bytes, as: UTF8.self)) }
    }

    /// The standard methods' positions 0 to `standardCount - 1`, for tables indexed without
    /// hashing; nil for any other token.
    var slot: Int? {
        switch self {
        case .get: 0
        case .head: 1
        case .post: 2
        case .put: 3
        case .patch: 4
        case .delete: 5
        case .options: 6
        case .other: nil
        }
    }

    static let standardCount = 7

    public var description: String {
        switch self {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        case .put: "PUT"
        case .patch: "PATCH"
        case .delete: "DELETE"
        case .options: "OPTIONS"
        case .other(let name): name
        }
    }
}

/// The two HTTP versions hush speaks.
public enum HTTPVersion: Sendable, Equatable {
    case http10, http11
}

/// How the body of a request is delimited (RFC 9112 §6).
public enum BodyFraming: Sendable, Equatable {
    /// No body: neither `Content-Length` nor `Transfer-Encoding`.
    case none
    /// Exactly this many bytes follow the header section.
    case length(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
}

/// A parsed request line and header section.
public struct RequestHead: Sendable {
    public var method: HTTPMethod
    public var version: HTTPVersion
    /// The request-target as sent, for example `/v1/decisions?customer_id=c-1`.
    public var target: String
    /// The header fields in the order they came, duplicates kept.
    public var headers: HeaderFields
    public var framing: BodyFraming
    /// Whether the connection stays open after the answer (RFC 9112 §9.3).
    public var keepAlive: Bool
    /// `Expect: 100-continue` on an HTTP/1.1 request (RFC 9110 §10.1.1).
    public var expectContinue: Bool
}
