/// One request as a handler sees it: the head, the decoded path parameters and query, and the
/// whole body. Everything is owned: nothing points into the connection's buffers.
public struct Request: Sendable {
    public let head: RequestHead
    /// The path, still percent-encoded, without the query.
    public let path: String
    /// Values of the route's `{param}` segments, percent-decoded.
    public let pathParameters: [String: String]
    public let query: QueryParameters
    public let body: [UInt8]
    /// The event loop that read the request (0 to threads − 1), for state kept per loop.
    public let loop: Int
    /// Where the handler notes what the server's report of the answer should carry.
    public let notes: ExchangeNotes

    public init(head: RequestHead, path: String, pathParameters: [String: String] = [:], query: QueryParameters = .init(), body: [UInt8] = [],
                loop: Int = 0, notes: ExchangeNotes) {
        self.head = head
        self.path = path
        self.pathParameters = pathParameters
        self.query = query
        self.body = body
        self.loop = loop
        self.notes = notes
    }

    public var method: HTTPMethod { head.method }
    public var headers: HeaderFields { head.headers }
}

/// The decoded parameters of a query string, in order, repeated keys kept.
public struct QueryParameters: Sendable, Equatable {
    public private(set) var items: [(name: String, value: String)]

    public init(_ items: [(name: String, value: String)] = []) {
        self.items = items
    }

    /// Decodes `a=1&b=x%20y&b=z` (`+` is a space). A key without `=` has the value "".
    /// Throws when an escape is malformed or a name or value is not UTF-8.
    public init(decoding query: Substring) throws(HTTPParseError) {
        var items: [(name: String, value: String)] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = RequestTarget.percentDecode(parts[0], plusAsSpace: true),
                  let value = RequestTarget.percentDecode(parts.count > 1 ? parts[1] : "", plusAsSpace: true) else {
                throw .malformed("the query string holds a malformed percent-encoding or bytes that are not UTF-8")
            }
            items.append((name, value))
        }
        self.items = items
    }

    /// The first value of `name`, or nil.
    public func first(_ name: String) -> String? {
        items.first { $0.name == name }?.value
    }

    /// Every value of `name`, in order.
    public func all(_ name: String) -> [String] {
        items.filter { $0.name == name }.map(\.value)
    }

    public var isEmpty: Bool { items.isEmpty }

    public static func == (a: QueryParameters, b: QueryParameters) -> Bool {
        a.items.elementsEqual(b.items) { $0.name == $1.name && $0.value == $1.value }
    }
}

/// What a handler tells the server about an exchange, for its report of the answer
/// (`ServerOptions.observe`): one per connection, reused from request to request, touched only
/// on the connection's loop (a deferred answer is delivered there too).
public final class ExchangeNotes: @unchecked Sendable {
    /// Who asked: the API key's name, for the access log. One loop's thread at a time.
    @exclusivity(unchecked) public var principal: String?

    public init() {}
}

/// One answer as the server reports it, once its head is written: for metrics and the access
/// log. `requestID` is lent for the call only.
public struct Answered: ~Copyable {
    /// The loop that wrote it.
    public let loop: Int
    /// The route (its index in `Router.routes`), when the request matched one.
    public let route: Int?
    /// Nil when the answer came before a request head could be read (a 400, 408 or 431).
    public let method: HTTPMethod?
    public let status: Int
    /// From the moment the loop woke to the head's last bytes to the answer's head.
    public let nanoseconds: UInt64
    /// The request's bytes on the wire (head and body, as sent: chunked framing included),
    /// and the answer's (head and body; none for HEAD).
    public let bytesIn: Int, bytesOut: Int
    public let requestID: UnsafeRawBufferPointer
    public let principal: String?
}
