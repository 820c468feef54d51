import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over the socket calls, one per call, in the manner of anet.c.
enum Socket {
    /// A listening TCP socket on `host:port` (`port` 0: the kernel picks one). Non-blocking,
    /// close-on-exec, with `SO_REUSEADDR` so a restart does not wait out TIME-WAIT.
    static func listen(host: String, port: Int, backlog: Int32) throws(SysError) -> (fd: Int32, port: Int) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw SysError(call: "getaddrinfo \(host): \(String(cString: gai_strerror(rc)))", errno: 0)
        }
        defer { freeaddrinfo(list) }
        let info = first.pointee
        guard let fd = try sys("socket", { socket(info.ai_family, info.ai_socktype | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0) }) else {
            throw SysError(call: "socket", errno: EAGAIN)
        }
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR")
            _ = try sys("bind \(host):\(port)") { bind(fd, info.ai_addr, info.ai_addrlen) }
            _ = try sys("listen") { Glibc.listen(fd, backlog) }
            return (fd, try boundPort(fd))
        } catch {
            closeFD(fd)
            throw error
        }
    }

    static func boundPort(_ fd: Int32) throws(SysError) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SysError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SysError) in
                try sys("getsockname") { getsockname(fd, address, &length) }
            }
        }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        default:
            return 0
        }
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ label: String) throws(SysError) {
        var value = value
        _ = try sys("setsockopt \(label)") { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// Sets `TCP_NODELAY`: an answer leaves in one write, and Nagle would hold the next
    /// pipelined one back until the peer's delayed ACK, about 40 ms on Linux.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// Starts a detached-from-Foundation POSIX thread running `body`; join it with `pthread_join`.
func spawnThread(name: String, _ body: @escaping @Sendable () -> Void) throws(SysError) -> pthread_t {
    final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, box)
    guard rc == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        throw SysError(call: "pthread_create", errno: rc)
    }
    _ = pthread_setname_np(thread, String(name.prefix(15)))
    return thread
}

/// Monotonic time in nanoseconds.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

extension Duration {
    var nanoseconds: UInt64 {
        let (s, a) = components
        return UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, a / 1_000_000_000))
    }
}
