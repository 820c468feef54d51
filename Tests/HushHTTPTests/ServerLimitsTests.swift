import Foundation
import Testing
import HushHTTP
import HushTestSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ServerLimitsTests {
    static var shortTimeouts: HTTPLimits {
        var limits = HTTPLimits()
        limits.headerTimeout = .milliseconds(300)
        limits.bodyTimeout = .milliseconds(300)
        limits.idleTimeout = .milliseconds(300)
        return limits
    }

    @Test func slowHeaderSection_Gets408ThenClose() throws {
        let server = try makeTestServer(limits: Self.shortTimeouts)
        defer { server.shutdown() }
        let client = try RawClient(port: server.port)
        try client.send("GET /a HTTP/1.1\r\nHo")
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(response.bodyText == "unreadable(HushHTTP.HTTPParseError.timeout)")
        #expect(client.isClosedByPeer())
    }

    @Test func trickledHeaderSection_DoesNotExtendTheDeadline() throws {
        let server = try makeTestServer(limits: Self.shortTimeouts)
        defer { server.shutdown() }
        let client = try RawClient(port: server.port)
        var status = 0
        // One byte every 50 ms would take 1.5 s for this head; the deadline is 300 ms from the first byte.
        for byte in Array("GET /a HTTP/1.1\r\nHost: x\r\nX-Slow: yes\r\n\r\n".utf8) {
            if (try? client.send([byte])) == nil { break }
            usleep(50_000)
            if let response = try? RawClient.pollResponse(client) { status = response.status; break }
        }
        #expect(status == 408)
    }

    @Test func slowBody_Gets408ThenClose() throws {
        let server = try makeTestServer(limits: Self.shortTimeouts)
        defer { server.shutdown() }
        let client = try RawClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(client.isClosedByPeer())
    }

    @Test func idleKeepAliveConnection_IsClosedSilently() throws {
        let server = try makeTestServer(limits: Self.shortTimeouts)
        defer { server.shutdown() }
        let client = try RawClient(port: server.port)
        try client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        #expect(try client.readToEnd().isEmpty)
        // A connection that never sends anything is closed too.
        let silent = try RawClient(port: server.port)
        #expect(try silent.readToEnd().isEmpty)
    }

    @Test func aReaderThatStopsReading_IsClosedAfterTheWriteTimeout() throws {
        var limits = HTTPLimits()
        limits.writeTimeout = .milliseconds(300)
        let server = try makeTestServer(limits: limits)
        defer { server.shutdown() }
        let client = try RawClient(port: server.port)
        try client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(waitUntil { server.openConnections == 1 })
        // 32 MiB cannot fit in the socket buffers; nobody reads, so the server gives up.
        #expect(waitUntil(seconds: 5) { server.openConnections == 0 })
    }

    @Test func connectionCap_ClosesNewConnectionsAtOnce() throws {
        var limits = HTTPLimits()
        limits.maxConnections = 2
        let server = try makeTestServer(limits: limits)
        defer { server.shutdown() }
        let a = try RawClient(port: server.port), b = try RawClient(port: server.port)
        for client in [a, b] {
            try client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().status == 200)
        }
        let c = try RawClient(port: server.port)
        #expect(c.isClosedByPeer())
        // Once one leaves, a new one is served again.
        try a.send("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _ = try a.readToEnd()
        #expect(waitUntil { server.openConnections < 2 })
        let d = try RawClient(port: server.port)
        try d.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try d.readResponse().bodyText == "b")
    }

    @Test func gracefulShutdown_FinishesInFlight_ClosesIdle_RefusesNew() throws {
        let parked = ParkedResponders()
        let server = try makeTestServer(threads: 2, parked: parked)
        let port = server.port
        let idle = try RawClient(port: port)
        try idle.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try idle.readResponse().status == 200)
        let busy = try RawClient(port: port)
        try busy.send("GET /deferred HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(waitUntil { parked.count == 1 })

        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { server.shutdown(); done.signal() }
        #expect(idle.isClosedByPeer())
        #expect(waitUntil { (try? RawClient(port: port)) == nil }, "new connections should be refused while draining")
        #expect(done.wait(timeout: .now() + 0.2) == .timedOut, "shutdown must wait for the in-flight request")
        parked.releaseAll(#"{"late":true}"#)
        let answer = try busy.readResponse()
        #expect(answer.bodyText == #"{"late":true}"#)
        #expect(answer.header("Connection") == "close")
        #expect(done.wait(timeout: .now() + 5) == .success)
    }

    @Test func shutdown_ClosesStragglersAfterTheDrainTimeout() throws {
        let parked = ParkedResponders()
        let server = try makeTestServer(drain: .milliseconds(200), parked: parked)
        let busy = try RawClient(port: server.port)
        try busy.send("GET /deferred HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(waitUntil { parked.count == 1 })
        server.shutdown()
        #expect(busy.isClosedByPeer())
        parked.releaseAll("{}") // an answer after the close goes nowhere, harmlessly
    }

    @Test func manyConnections_AreServedByAllLoops() throws {
        let server = try makeTestServer(threads: 2)
        defer { server.shutdown() }
        let clients = try (0..<200).map { _ in try RawClient(port: server.port) }
        for client in clients { try client.send("GET /loop HTTP/1.1\r\nHost: x\r\n\r\n") }
        var served = [0, 0]
        for client in clients { served[Int(try client.readResponse().bodyText)!] += 1 }
        #expect(served[0] + served[1] == 200)
        // Spread by their counts, each loop holds about half.
        #expect(served.allSatisfy { (60...140).contains($0) }, "connections per loop: \(served)")
        #expect(server.openConnections == 200)
    }

    @Test func slowReader_DoesNotMakeTheServerBufferWithoutLimit() throws {
        var limits = HTTPLimits()
        limits.maxPendingOutputBytes = 64 * 1024
        let server = try makeTestServer(limits: limits)
        defer { server.shutdown() }
        let client = try RawClient(port: server.port, timeout: 20)
        // The client takes at most 256 KiB of answers into its socket while it does not read
        // (without a cap, Linux lets a receive buffer grow to tcp_rmem's maximum, 32 MiB here).
        var receiveBuffer: Int32 = 256 * 1024
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, socklen_t(MemoryLayout<Int32>.size))
        // 40,000 pipelined requests for a 1 KiB answer each (43 MB of answers), and nobody
        // reading for now. A server that kept reading would answer every request and hold every
        // answer; one that stops reading while 64 KiB wait answers only what the sockets between
        // them hold: its send buffer (4 MiB at most here) and the client's 256 KiB.
        let count = 40_000
        let body = String(repeating: "x", count: 1024)
        let requests = Array(String(repeating: "POST /counted HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n" + body, count: count).utf8)
        let sent = Atomic<Int>(0)
        let answeredBefore = countedRequests.load(ordering: .relaxed)
        let sender = Thread {
            requests.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    // In pieces: a blocking write of everything would return only once all was taken.
                    let n = Glibc.write(client.fd, bytes.baseAddress! + offset, min(16 * 1024, bytes.count - offset))
                    if n <= 0 { break }
                    offset += n
                    sent.store(offset, ordering: .relaxed)
                }
            }
        }
        sender.start()
        // Wait (at most 10 s) until the sender has made no progress for 300 ms, or sent it all.
        var last = -1, stalledSince = Date()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let now = sent.load(ordering: .relaxed)
            if now == requests.count { break }
            if now != last { last = now; stalledSince = Date() } else if Date().timeIntervalSince(stalledSince) > 0.3 { break }
            usleep(10_000)
        }
        let answered = countedRequests.load(ordering: .relaxed) - answeredBefore
        #expect(answered < count / 4, "the server answered \(answered) of \(count) requests with nobody reading its answers")
        #expect(sent.load(ordering: .relaxed) < requests.count, "the sender stalls: the server stopped reading")
        var answers = 0
        while answers < count, let response = try? client.readResponse() {
            if response.body.count == 1024 { answers += 1 }
        }
        #expect(answers == count, "every answer arrives once the client reads")
    }
}

extension RawClient {
    /// A response if one arrives within 1 ms, else nil; throws nothing for a timeout.
    static func pollResponse(_ client: RawClient) throws -> HTTPResponse? {
        var pfd = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 1) == 1 else { return nil }
        return try client.readResponse()
    }
}
