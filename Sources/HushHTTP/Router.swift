#if canImport(Glibc)
import Glibc
#endif

/// Answers one request on the event loop that read it. It must not block for long: the
/// loop serves every other connection it owns.
public typealias Handler = @Sendable (Request) -> Response

/// Answers one request later, from any thread, through `Responder.send`. For work that waits
/// on another thread (a write queued to the store's writer); the connection reads no further
/// request until the answer is sent, so pipelined answers keep their order.
public typealias DeferredHandler = @Sendable (Request, Responder) -> Void

/// Receives a request's body piece by piece as it arrives, on the event loop's thread, so that
/// a body of any length (a bulk import) is never held whole. Not shared between threads.
public protocol BodySink: AnyObject {
    /// The next bytes of the decoded body. Valid only during the call.
    func consume(_ bytes: UnsafeRawBufferPointer)
    /// The body is complete: answer through `responder`, now or from another thread.
    func finish(_ request: Request, _ responder: Responder)
}

/// What a streaming route says once it has seen the head: take the body, or answer at once
/// (before a byte of the body is read: a refused upload costs nothing).
public enum StreamStart {
    case accept(BodySink)
    case refuse(Response)
}

/// Starts a streamed request from its head (the `Request` has an empty body).
public typealias StreamingHandler = @Sendable (Request) -> StreamStart

/// What a route runs.
public enum RouteAction: Sendable {
    case immediate(Handler)
    case deferred(DeferredHandler)
    /// The body goes to a `BodySink` as it arrives, without a total limit.
    case streaming(StreamingHandler)
}

/// One route: a method, a pattern such as `/v1/customers/{id}`, its body limit and its action.
/// A class: a request carries its route from lookup to dispatch, and passing a reference costs
/// one retain where a struct of strings and closures costs one per field.
public final class Route: Sendable {
    /// The route's position in `Router.routes`.
    public let index: Int
    public let method: HTTPMethod
    public let pattern: String
    /// The body limit for this route; nil means `HTTPLimits.maxBodyBytes`.
    public let maxBodyBytes: Int?
    public let action: RouteAction

    init(index: Int, method: HTTPMethod, pattern: String, maxBodyBytes: Int?, action: RouteAction) {
        self.index = index; self.method = method; self.pattern = pattern; self.maxBodyBytes = maxBodyBytes; self.action = action
    }
}

/// The result of looking a request up.
public enum RouteMatch: Sendable {
    case found(Route, parameters: [String: String])
    case notFound
    /// The path exists for other methods, listed for the `Allow` header.
    case methodNotAllowed(allow: [String])
    case invalidPath(String)
}

/// Method + path routing with `{param}` segments, built once before the server starts.
/// Segments are percent-decoded one at a time, so `%2F` inside a segment stays in it.
/// A GET route also answers HEAD.
public struct Router: Sendable {
    private final class Node: @unchecked Sendable {
        // Written only while routes are added, before the server starts; read-only after, so
        // the per-access exclusivity check of a class property buys nothing here.
        /// Literal children: their names' bytes end to end in `names`, compared with memcmp, so
        /// that finding one builds no String and retains nothing but the child found.
        @exclusivity(unchecked) private var names: [UInt8] = []
        @exclusivity(unchecked) private var spans: [(start: Int, count: Int)] = []
        @exclusivity(unchecked) private var children: [Node] = []
        @exclusivity(unchecked) var parameter: (name: String, node: Node)?
        @exclusivity(unchecked) private(set) var routes: [HTTPMethod: Route] = [:]
        /// `routes` of the standard methods by `HTTPMethod.slot`: found without hashing.
        @exclusivity(unchecked) private var standard: [Route?] = Array(repeating: nil, count: HTTPMethod.standardCount)

        func literal(matching segment: UnsafeBufferPointer<UInt8>) -> Node? {
            let found: Int? = spans.withUnsafeBufferPointer { spans in
                names.withUnsafeBufferPointer { names in
                    for i in 0..<spans.count where spans[i].count == segment.count {
                        if segment.isEmpty || memcmp(names.baseAddress! + spans[i].start, segment.baseAddress!, segment.count) == 0 { return i }
                    }
                    return nil
                }
            }
            return found.map { children[$0] }
        }

        func literal<S: StringProtocol>(_ segment: S) -> Node? {
            var text = String(segment)
            return text.withUTF8 { literal(matching: $0) }
        }

        func addLiteral(_ segment: Substring) -> Node {
            let child = Node()
            spans.append((names.count, segment.utf8.count))
            names.append(contentsOf: segment.utf8)
            children.append(child)
            return child
        }

        func route(_ method: HTTPMethod) -> Route? {
            if let slot = method.slot { return standard[slot] }
            return routes[method]
        }

        func setRoute(_ route: Route) {
            routes[route.method] = route
            if let slot = route.method.slot { standard[slot] = route }
        }
    }

    private let root = Node()
    public private(set) var routes: [Route] = []

    public init() {}

    /// Adds a route. Traps on a pattern that does not start with `/`, on two routes for the same
    /// method and path, and on two parameter names at one position: all programming errors.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, maxBodyBytes: Int? = nil, _ handler: @escaping Handler) {
        add(method, pattern, maxBodyBytes: maxBodyBytes, action: .immediate(handler))
    }

    /// Adds a route whose answer comes later through a `Responder`.
    public mutating func addDeferred(_ method: HTTPMethod, _ pattern: String, maxBodyBytes: Int? = nil, _ handler: @escaping DeferredHandler) {
        add(method, pattern, maxBodyBytes: maxBodyBytes, action: .deferred(handler))
    }

    /// Adds a route whose body is streamed to the `BodySink` that `handler` returns.
    public mutating func addStreaming(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping StreamingHandler) {
        add(method, pattern, maxBodyBytes: Int.max, action: .streaming(handler))
    }

    private mutating func add(_ method: HTTPMethod, _ pattern: String, maxBodyBytes: Int?, action: RouteAction) {
        let route = Route(index: routes.count, method: method, pattern: pattern, maxBodyBytes: maxBodyBytes, action: action)
        precondition(route.pattern.hasPrefix("/"), "route pattern must start with /: \(route.pattern)")
        var node = root
        for segment in route.pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            if segment.hasPrefix("{"), segment.hasSuffix("}") {
                let name = String(segment.dropFirst().dropLast())
                if let existing = node.parameter {
                    precondition(existing.name == name, "conflicting parameter names at \(route.pattern)")
                    node = existing.node
                } else {
                    let child = Node()
                    node.parameter = (name, child)
                    node = child
                }
            } else {
                node = node.literal(segment) ?? node.addLiteral(segment)
            }
        }
        precondition(node.routes[route.method] == nil, "duplicate route \(route.method) \(route.pattern)")
        node.setRoute(route)
        routes.append(route)
    }

    /// Finds the route for `method` and the raw (percent-encoded) `path`.
    public func match(_ method: HTTPMethod, path: Substring) -> RouteMatch {
        if let found = path.utf8.withContiguousStorageIfAvailable({ matchLiteral(method, $0) }) ?? nil { return found }
        let utf8 = path.utf8
        guard utf8.first == UInt8(ascii: "/") else { return .notFound }
        var node = root
        var parameters: [String: String] = [:]
        var start = utf8.index(after: utf8.startIndex)
        while true {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
            let raw = path[start..<end]
            // Most segments hold no escape: compare their bytes with the literals, no String made.
            if !raw.utf8.contains(UInt8(ascii: "%")),
               let child = raw.utf8.withContiguousStorageIfAvailable({ node.literal(matching: $0) }) ?? node.literal(raw) {
                node = child
            } else {
                guard let segment = RequestTarget.percentDecode(raw, plusAsSpace: false) else {
                    return .invalidPath("the path holds a malformed percent-encoding or bytes that are not UTF-8")
                }
                if let child = node.literal(segment) {
                    node = child
                } else if let (name, child) = node.parameter, !segment.isEmpty {
                    parameters[name] = segment
                    node = child
                } else {
                    return .notFound
                }
            }
            if end == utf8.endIndex { break }
            start = utf8.index(after: end)
        }
        if let route = node.route(method) { return .found(route, parameters: parameters) }
        if method == .head, let route = node.route(.get) { return .found(route, parameters: parameters) }
        if node.routes.isEmpty { return .notFound }
        var allow = node.routes.keys.map(\.description)
        if node.routes[.get] != nil { allow.append("HEAD") }
        return .methodNotAllowed(allow: allow.sorted())
    }

    /// The route for a path made only of literal segments without escapes (most requests),
    /// walked over the bytes; nil sends the request to the general path (parameters, escapes,
    /// HEAD answered by GET, 404 and 405).
    private func matchLiteral(_ method: HTTPMethod, _ bytes: UnsafeBufferPointer<UInt8>) -> RouteMatch? {
        guard bytes.first == UInt8(ascii: "/") else { return nil }
        var node = root
        var start = 1
        while true {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "/") {
                if bytes[end] == UInt8(ascii: "%") { return nil }
                end += 1
            }
            guard let child = node.literal(matching: UnsafeBufferPointer(rebasing: bytes[start..<end])) else { return nil }
            node = child
            if end == bytes.count { break }
            start = end + 1
        }
        return node.route(method).map { .found($0, parameters: [:]) }
    }
}
