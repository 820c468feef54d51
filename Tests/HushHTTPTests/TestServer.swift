import Foundation
import Synchronization
import HushHTTP
import HushTestSupport

/// Deferred requests parked by `/deferred` until a test releases them.
final class ParkedResponders: Sendable {
    private let parked = Mutex<[Responder]>([])
    func park(_ responder: Responder) { parked.withLock { $0.append(responder) } }
    var count: Int { parked.withLock { $0.count } }
    func releaseAll(_ body: String) {
        let all = parked.withLock { p in defer { p.removeAll() }; return p }
        for responder in all { responder.send(Response(status: .ok, contentType: "application/json", body: Array(body.utf8))) }
    }
}

/// A server on a free loopback port with routes that echo what they were sent.
/// Requests the test servers' `/counted` route has answered (one test uses it).
let countedRequests = Atomic<Int>(0)

func makeTestServer(limits: HTTPLimits = HTTPLimits(), threads: Int = 1, tls: TLSOptions? = nil,
                    drain: Duration = .seconds(5), parked: ParkedResponders = ParkedResponders()) throws -> Server {
    var router = Router()
    router.add(.get, "/healthz") { _ in Response(status: .ok, contentType: "application/json", body: Array(#"{"status":"ok"}"#.utf8)) }
    router.add(.get, "/a") { _ in Response(status: .ok, body: Array("a".utf8)) }
    router.add(.get, "/loop") { request in Response(status: .ok, body: Array("\(request.loop)".utf8)) }
    router.add(.get, "/b") { _ in Response(status: .ok, body: Array("b".utf8)) }
    router.add(.get, "/") { _ in Response(status: .ok) }
    router.add(.post, "/") { request in Response(status: .ok, body: request.body) }
    router.add(.post, "/echo") { request in
        Response(status: .ok, headers: [("X-Method", "\(request.method)")], body: request.body)
    }
    router.add(.post, "/counted") { request in
        countedRequests.add(1, ordering: .relaxed)
        return Response(status: .ok, body: request.body)
    }
    router.add(.post, "/small", maxBodyBytes: 16) { request in Response(status: .ok, body: request.body) }
    router.add(.get, "/params/{id}") { request in
        let q = request.query.all("q").joined(separator: ",")
        return Response(status: .ok, body: Array("id=\(request.pathParameters["id"] ?? "")&q=\(q)".utf8))
    }
    router.add(.get, "/big") { _ in Response(status: .ok, body: [UInt8](repeating: 0x61, count: 32 << 20)) }
    router.add(.get, "/splitting") { _ in
        Response(status: .ok, headers: [("X-Bad", "a\r\nSet-Cookie: x=1"), ("X-Good", "fine")], body: [])
    }
    router.addDeferred(.get, "/deferred") { _, responder in parked.park(responder) }
    router.addDeferred(.get, "/inline") { request, responder in
        responder.send(Response(status: .ok, body: Array("inline \(request.query.first("n") ?? "")".utf8)))
    }
    router.addDeferred(.get, "/direct") { request, responder in
        var body = "direct \(request.query.first("n") ?? "")"
        body.withUTF8 { responder.send(.ok, fixedFields: "\r\nX-Direct: yes", body: UnsafeRawBufferPointer($0)) }
        if request.query.first("twice") != nil { responder.send(Response(status: .internalServerError, body: Array("second".utf8))) }
    }
    router.addDeferred(.get, "/direct-thread") { request, responder in
        let body = Array("direct from thread \(request.query.first("n") ?? "")".utf8)
        Thread.detachNewThread { body.withUnsafeBytes { responder.send(.created, fixedFields: "\r\nX-Direct: yes", body: $0) } }
    }
    router.addDeferred(.get, "/thread") { request, responder in
        let name = request.query.first("n") ?? ""
        Thread.detachNewThread { responder.send(Response(status: .ok, body: Array("from thread \(name)".utf8))) }
    }
    router.addStreaming(.post, "/stream") { request in
        if request.query.first("refuse") != nil { return .refuse(Response(status: .forbidden, body: Array("no".utf8))) }
        return .accept(CountingSink())
    }
    var options = ServerOptions()
    options.port = 0
    options.threads = threads
    options.limits = limits
    options.tls = tls
    options.drainTimeout = drain
    options.log = { _ in }
    // The failure itself as the body, so that tests see which value the server reported.
    options.failureResponse = { failure in Response(status: failure.status, contentType: "text/x-failure", body: Array("\(failure)".utf8)) }
    return try Server(options: options, router: router)
}

/// A short pause between the parts of a request, so the server sees them in separate reads.
func pace() { usleep(2_000) }

/// Counts a streamed body's bytes and sums them, holding nothing: answers `count sum pieces`.
final class CountingSink: BodySink {
    var count = 0, sum = 0, pieces = 0
    func consume(_ bytes: UnsafeRawBufferPointer) {
        count += bytes.count
        pieces += 1
        for b in bytes { sum &+= Int(b) }
    }
    func finish(_ request: Request, _ responder: Responder) {
        responder.send(Response(status: .ok, body: Array("\(count) \(sum) \(pieces)".utf8)))
    }
}
