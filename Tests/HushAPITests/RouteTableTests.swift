import Foundation
import Testing
import HushLog
@testable import HushAPI
import HushHTTP
import HushStore

/// The route table without sockets: requests are parsed, matched by the router made from
/// `API.routes` and answered by their handlers in process. Routes answered on the loop
/// (`.read`) are answered here; the key and query checks run for every kind of route first.
@Suite final class RouteTableTests {
    let directory: URL
    let store: SQLiteStore
    let api: API
    let router: Router

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-routes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = [UInt8](repeating: 2, count: 32)
        let hasher = try SharedTombstoneHasher(key: key)
        store = try SQLiteStore(path: directory.appendingPathComponent("hush.db").path, tombstoneHash: hasher.hash,
                                    renderHistory: JSONWriter.render)
        var config = Config()
        config.auth.keys = [Config.APIKey(name: "reader", sha256: Authenticator.sha256(Array("k-read-0123456789abcdef".utf8)), scopes: [.read])]
        api = try API(store: store, config: config, erasureKey: key, writerHasher: hasher, loops: 1, decisionLog: .off())
        router = api.makeRouter()
    }

    deinit {
        store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Status and error code (nil for a success) of `method target` with `body`, answered in
    /// process, or nil when the route answers through a responder (a write, a stream).
    func answer(_ method: String, _ target: String, _ body: String? = nil, key: String? = "k-read-0123456789abcdef") throws -> (Int, String?)? {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: x\r\n"
        if let key { text += "Authorization: Bearer \(key)\r\n" }
        if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        var parser = RequestHeadParser(limits: HTTPLimits())
        let bytes = Array(text.utf8)
        guard case .complete(let head, let consumed) = bytes.withUnsafeBytes({ parser.parse($0) }) else {
            Issue.record("not a request: \(text)")
            return nil
        }
        let (path, query) = RequestTarget.split(head.target)
        let response: Response
        switch router.match(head.method, path: path) {
        case .found(let route, let parameters):
            guard case .immediate(let handler) = route.action else { return nil }
            let request = Request(head: head, path: String(path), pathParameters: parameters,
                                  query: try query.map { try QueryParameters(decoding: $0) } ?? QueryParameters(), body: Array(bytes[consumed...]),
                                  notes: ExchangeNotes())
            response = handler(request)
        case .notFound: response = api.errorResponse(.http(.noRoute(method: method, path: String(path))), pretty: false)
        case .methodNotAllowed(let allow): response = api.errorResponse(.http(.methodNotAllowed(method: method, allow: allow)), pretty: false)
        case .invalidPath(let why): response = api.errorResponse(.http(.invalidPath(why)), pretty: false)
        }
        let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        return (response.status.code, (json?["error"] as? [String: Any])?["code"] as? String)
    }

    @Test(arguments: [
        ("GET", "/healthz", nil, 200, nil),
        ("GET", "/healthz?anything=1", nil, 200, nil),
        ("GET", "/openapi.json", nil, 200, nil),
        ("GET", "/openapi.json?x=1", nil, 400, "invalid_field"),
        ("GET", "/v1/holds", nil, 200, nil),
        ("GET", "/v1/holds?limit=1001", nil, 400, "invalid_field"),
        ("GET", "/v1/holds?active=maybe", nil, 400, "invalid_field"),
        ("GET", "/v1/holds/h-1", nil, 404, "not_found"),
        ("GET", "/v1/cases/k-1", nil, 404, "not_found"),
        ("GET", "/v1/customers/c-1", nil, 404, "not_found"),
        ("GET", "/v1/suppressions?customer_id=c&address=a@b.co", nil, 400, "invalid_field"),
        ("GET", "/v1/suppressions?limit=10&cursor=", nil, 400, "invalid_field"),
        ("GET", "/v1/suppressions?colour=red", nil, 400, "invalid_field"),
        ("GET", "/v1/decisions?customer_id=c&channel=email", nil, 403, "forbidden"),
        ("GET", "/v1/nowhere", nil, 404, "not_found"),
        ("DELETE", "/v1/decisions", nil, 405, "method_not_allowed"),
        ("GET", "/v1/cases/%zz", nil, 400, "malformed_request"),
    ] as [(String, String, String?, Int, String?)])
    func readRoutes_AnswerWithTheirStatusAndCode(method: String, target: String, body: String?, status: Int, code: String?) throws {
        let answer = try #require(try answer(method, target, body))
        #expect(answer.0 == status, "\(method) \(target)")
        #expect(answer.1 == code, "\(method) \(target)")
    }

    @Test func keysAndQueries_AreCheckedBeforeAnyHandler() throws {
        #expect(try answer("GET", "/v1/holds", key: nil)?.0 == 401)
        #expect(try answer("GET", "/v1/holds", key: "k-wrong-0123456789abcdef")?.1 == "unauthorized")
        #expect(try answer("GET", "/healthz", key: nil)?.0 == 200, "open")
        #expect(try answer("GET", "/metrics", key: nil)?.0 == 200, "open unless auth.protect_metrics")
    }

    /// Every route of the table is routed, under the name the metrics use.
    @Test func theRouter_HasEveryRouteOfTheTable() {
        #expect(router.routes.map { "\($0.method) \($0.pattern)" } == API.routes.map(\.name))
        #expect(Set(API.routes.map(\.name)).count == API.routes.count, "no route twice")
    }
}
