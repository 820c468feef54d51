import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One `GET` over a fresh connection, plain or TLS, with a deadline: what `hush healthcheck`
/// sends. The container has no curl; this needs nothing but the binary. TLS is not verified
/// (the check asks "is this process answering", usually over loopback, not "is this peer who
/// it claims to be").
struct HealthProbe {
    struct Target: Equatable {
        var tls: Bool, host: String, port: Int, path: String
    }

    /// `http://host:port/path` or `https://…`; IPv6 hosts in brackets. Nil for anything else.
    static func parse(_ url: String) -> Target? {
        let tls: Bool
        let rest: Substring
        if url.hasPrefix("http://") { tls = false; rest = url.dropFirst(7) } else if url.hasPrefix("https://") { tls = true; rest = url.dropFirst(8) } else { return nil }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !path.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) else { return nil }
        var host: Substring, port: Int = tls ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = p
        } else {
            host = authority
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        return Target(tls: tls, host: String(host), port: port, path: path)
    }

    /// The status code of the answer, or a one-line reason why there is none.
    static func status(of target: Target, timeout: Double) -> Result<Int, ProbeError> {
        let deadline = Date().addingTimeInterval(timeout)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(target.host, String(target.port), &hints, &list) == 0, let first = list else {
            return .failure(ProbeError("cannot resolve \(target.host)"))
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(ProbeError("socket: \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        // Connect without blocking, then wait for it until the deadline.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS, wait(fd, Int16(POLLOUT), deadline) else {
                return .failure(ProbeError("cannot connect to \(target.host):\(target.port): \(String(cString: strerror(errno)))"))
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { return .failure(ProbeError("cannot connect to \(target.host):\(target.port): \(String(cString: strerror(error)))")) }
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var seconds = timeval(tv_sec: Int(max(1, timeout.rounded(.up))), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        let hostField = target.host.contains(":") ? "[\(target.host)]" : target.host
        let request = Array("GET \(target.path) HTTP/1.1\r\nHost: \(hostField):\(target.port)\r\nConnection: close\r\n\r\n".utf8)
        var head: [UInt8] = []
        if target.tls {
            guard let context = SSL_CTX_new(TLS_client_method()) else { return .failure(ProbeError("OpenSSL could not make a TLS context")) }
            defer { SSL_CTX_free(context) }
            guard let ssl = SSL_new(context) else { return .failure(ProbeError("OpenSSL could not make a TLS session")) }
            defer { SSL_free(ssl) }
            SSL_set_fd(ssl, fd)
            guard SSL_connect(ssl) == 1 else { return .failure(ProbeError("TLS handshake with \(target.host):\(target.port) failed")) }
            guard request.withUnsafeBytes({ SSL_write(ssl, $0.baseAddress, Int32($0.count)) }) == Int32(request.count) else {
                return .failure(ProbeError("cannot send the request over TLS"))
            }
            head = readHead { buffer in Int(SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))) }
        } else {
            guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
                return .failure(ProbeError("cannot send the request: \(String(cString: strerror(errno)))"))
            }
            head = readHead { buffer in recv(fd, buffer.baseAddress, buffer.count, 0) }
        }
        // "HTTP/1.1 200 OK": the three digits after the first space.
        let line = String(decoding: head.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...599).contains(code) else {
            return .failure(ProbeError(head.isEmpty ? "no answer within \(timeout) s" : "not an HTTP answer: \(line.prefix(60))"))
        }
        return .success(code)
    }

    /// Reads until the status line is complete, the peer closes, or a read fails (at most 4 KiB).
    private static func readHead(_ read: (UnsafeMutableRawBufferPointer) -> Int) -> [UInt8] {
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while head.count < 4096, !head.contains(10) {
            let n = buffer.withUnsafeMutableBytes { read($0) }
            if n <= 0 { break }
            head += buffer[0..<n]
        }
        return head
    }

    private static func wait(_ fd: Int32, _ events: Int16, _ deadline: Date) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let milliseconds = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
        return poll(&entry, 1, milliseconds) == 1
    }
}

struct ProbeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
