import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client for tests: it writes raw bytes (so malformed HTTP can be sent) and
/// reads answers with a receive timeout, so no test can hang forever.
/// Sendable so that one thread may send while another reads; `pending` is touched by the reader only.
public final class RawClient: @unchecked Sendable {
    public let fd: Int32

    /// Connects to 127.0.0.1:`port`; `timeout` bounds every read.
    public init(port: Int, timeout: Double = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError("socket: \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw ClientError("connect: \(message)")
        }
    }

    deinit { Glibc.close(fd) }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw ClientError("send: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// Reads what is there (up to `max` bytes); empty when the peer closed; throws on timeout.
    public func readSome(max: Int = 65536) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, max, 0) }
        if n < 0 {
            if errno == ECONNRESET { return [] }
            throw ClientError("recv: \(String(cString: strerror(errno)))")
        }
        return Array(buffer[0..<n])
    }

    private var pending: [UInt8] = []

    /// Reads one whole answer (status line, fields, and a Content-Length body unless `head`).
    public func readResponse(head: Bool = false) throws -> HTTPResponse {
        while true {
            if let (response, used) = HTTPResponse.parse(pending, bodyless: head) {
                pending.removeFirst(used)
                return response
            }
            let more = try readSome()
            if more.isEmpty { throw ClientError("connection closed after \(pending.count) bytes: \(String(decoding: pending, as: UTF8.self))") }
            pending += more
        }
    }

    /// True when the server closed the connection (a read returns end of file or a reset)
    /// within the read timeout, having sent nothing more.
    public func isClosedByPeer() -> Bool {
        guard pending.isEmpty else { return false }
        guard let bytes = try? readSome() else { return false }
        return bytes.isEmpty
    }

    /// Everything until the server closes the connection.
    public func readToEnd() throws -> [UInt8] {
        var all = pending
        pending = []
        while true {
            let more = try readSome()
            if more.isEmpty { return all }
            all += more
        }
    }

    /// Half-closes our side for writing.
    public func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }
}

/// One parsed answer.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Parses one answer from the front of `bytes`; nil when it is not all there yet.
    public static func parse(_ bytes: [UInt8], bodyless: Bool = false) -> (HTTPResponse, Int)? {
        guard let end = find(bytes, [13, 10, 13, 10]) else { return nil }
        let headText = String(decoding: bytes[0..<end], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = HTTPResponse(status: status, headers: headers, body: [])
        let bodyStart = end + 4
        let length = bodyless || status < 200 || status == 204 ? 0 : Int(response.header("Content-Length") ?? "0") ?? 0
        guard bytes.count >= bodyStart + length else { return nil }
        response.body = Array(bytes[bodyStart..<(bodyStart + length)])
        return (response, bodyStart + length)
    }

    static func find(_ bytes: [UInt8], _ needle: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for i in 0...(bytes.count - needle.count) where bytes[i] == needle[0] {
            if Array(bytes[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}

public struct ClientError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Polls `condition` every 10 ms until it holds or `seconds` pass; returns whether it held.
public func waitUntil(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
