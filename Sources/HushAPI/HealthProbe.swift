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
        /// The `Host` field: IPv6 in brackets.
        var hostField: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }
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
        let connection: ClientConnection
        switch ClientConnection.open(target, timeout: timeout) {
        case .success(let opened): connection = opened
        case .failure(let error): return .failure(error)
        }
        let request = Array("GET \(target.path) HTTP/1.1\r\nHost: \(target.hostField)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ connection.send($0) }) else { return .failure(ProbeError("cannot send the request")) }
        let head = readHead { connection.receive(into: $0) }
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
}

struct ProbeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One client connection, plain or TLS (unverified: see `HealthProbe`), with a deadline for
/// connecting and a timeout for each read and write. For `hush healthcheck` and `hush import --url`.
final class ClientConnection {
    private let fd: Int32
    private let context: OpaquePointer?
    private let ssl: OpaquePointer?

    private init(fd: Int32, context: OpaquePointer?, ssl: OpaquePointer?) {
        self.fd = fd; self.context = context; self.ssl = ssl
    }

    deinit {
        if let ssl { SSL_free(ssl) }
        if let context { SSL_CTX_free(context) }
        close(fd)
    }

    static func open(_ target: HealthProbe.Target, timeout: Double) -> Result<ClientConnection, ProbeError> {
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
        // Connect without blocking, then wait for it until the deadline.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard errno == EINPROGRESS, poll(&entry, 1, Int32(max(0, deadline.timeIntervalSinceNow * 1000))) == 1 else {
                let reason = String(cString: strerror(errno == EINPROGRESS ? ETIMEDOUT : errno))
                close(fd)
                return .failure(ProbeError("cannot connect to \(target.host):\(target.port): \(reason)"))
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else {
                close(fd)
                return .failure(ProbeError("cannot connect to \(target.host):\(target.port): \(String(cString: strerror(error)))"))
            }
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var seconds = timeval(tv_sec: Int(max(1, timeout.rounded(.up))), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        guard target.tls else { return .success(ClientConnection(fd: fd, context: nil, ssl: nil)) }
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            close(fd)
            return .failure(ProbeError("OpenSSL could not make a TLS context"))
        }
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            close(fd)
            return .failure(ProbeError("OpenSSL could not make a TLS session"))
        }
        let connection = ClientConnection(fd: fd, context: context, ssl: ssl)
        SSL_set_fd(ssl, fd)
        guard SSL_connect(ssl) == 1 else { return .failure(ProbeError("TLS handshake with \(target.host):\(target.port) failed")) }
        return .success(connection)
    }

    /// Sends all of `bytes`; false when the peer or the timeout stopped it.
    func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n: Int
            if let ssl {
                n = Int(SSL_write(ssl, bytes.baseAddress! + offset, Int32(min(bytes.count - offset, 1 << 20))))
            } else {
                n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0, errno == EINTR { continue }
            }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// Reads what has arrived into `buffer`: the count, 0 at the end, negative on an error or timeout.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        if let ssl { return Int(SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))) }
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n < 0, errno == EINTR { continue }
            return n
        }
    }

    /// Everything until the peer closes (at most `limit` bytes).
    func receiveAll(limit: Int) -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while all.count < limit {
            let n = buffer.withUnsafeMutableBytes { receive(into: $0) }
            if n <= 0 { break }
            all += buffer[0..<n]
        }
        return all
    }
}
