import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How the server listens and runs.
public struct ServerOptions: Sendable {
    /// Address to bind: an IPv4 or IPv6 literal, or a name such as `localhost`.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 lets the kernel choose (see `Server.port`).
    public var port: Int = 8080
    /// Event loop threads; default one per core.
    public var threads: Int = ServerOptions.coreCount
    public var limits = HTTPLimits()
    /// Longest a graceful shutdown waits for in-flight requests before closing everything.
    public var drainTimeout: Duration = .seconds(10)
    /// Serve HTTPS with this certificate and key; nil serves plain HTTP.
    public var tls: TLSOptions?
    /// Called on each event loop's thread, with its index, after every turn of the loop (the
    /// requests of one `epoll_wait`): for per-loop state that should not outlive a turn, such
    /// as a database read snapshot.
    public var turnEnded: (@Sendable (Int) -> Void)?
    /// Called on the loop's thread for every answer written: the route's index in
    /// `Router.routes` (nil when no route matched), the status code, and the nanoseconds since
    /// the request's head was read. For metrics; it must be quick.
    public var observe: (@Sendable (borrowing Answered) -> Void)?
    /// The answer to a request the server refuses itself, before or instead of a route (a
    /// request it cannot read, no route, a method the path does not allow). The server adds
    /// `Allow` to a 405 and closes the connection where the framing is lost; the body is the
    /// caller's: plain text unless told otherwise.
    public var failureResponse: @Sendable (HTTPFailure) -> Response = { failure in
        Response(status: failure.status, contentType: "text/plain; charset=utf-8", body: Array((failure.message + "\n").utf8))
    }
    /// The listen(2) backlog.
    public var backlog: Int32 = 1024
    /// Where the server reports problems that no client sees (accept failures, descriptor exhaustion).
    public var log: @Sendable (String) -> Void = { message in
        let line = Array("hush: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    public init() {}

    /// The online cores. Not the affinity mask: under `taskset`, pass `threads` explicitly.
    public static var coreCount: Int {
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}

/// What every loop of one server shares: read-only settings plus the connection count.
final class ServerShared: Sendable {
    let listenerFD: Int32
    let limits: HTTPLimits
    let router: Router
    let turnEnded: (@Sendable (Int) -> Void)?
    let observe: (@Sendable (borrowing Answered) -> Void)?
    let tls: TLSContext?
    let failureResponse: @Sendable (HTTPFailure) -> Response
    let openConnections = Atomic<Int>(0)
    /// The connections each loop holds (by loop index), counted when a connection is given to a
    /// loop and until it closes: where the next one goes.
    let loopLoads: [LoopLoad]
    /// The loops, for handing a connection to another; set once, before any loop runs.
    private let loops = Mutex<[WeakLoop]>([])
    // The timeouts in nanoseconds, converted once: Duration arithmetic per request is not free.
    let headerTimeoutNanos: UInt64, bodyTimeoutNanos: UInt64, idleTimeoutNanos: UInt64, writeTimeoutNanos: UInt64
    private let logSink: @Sendable (String) -> Void
    private let lastThrottledLog = Atomic<UInt64>(0)

    init(listenerFD: Int32, options: ServerOptions, router: Router, tls: TLSContext?) {
        loopLoads = (0..<max(1, options.threads)).map { _ in LoopLoad() }
        turnEnded = options.turnEnded
        observe = options.observe
        failureResponse = options.failureResponse
        self.listenerFD = listenerFD
        let limits = options.limits
        self.limits = limits
        headerTimeoutNanos = limits.headerTimeout.nanoseconds
        bodyTimeoutNanos = limits.bodyTimeout.nanoseconds
        idleTimeoutNanos = limits.idleTimeout.nanoseconds
        writeTimeoutNanos = limits.writeTimeout.nanoseconds
        self.router = router
        self.tls = tls
        logSink = options.log
    }

    func log(_ message: String) { logSink(message) }

    func setLoops(_ all: [EventLoop]) { loops.withLock { $0 = all.map { WeakLoop(loop: $0) } } }

    func loop(_ index: Int) -> EventLoop? { loops.withLock { index < $0.count ? $0[index].loop : nil } }

    /// The loop with the fewest connections, `preferred` among equals; counts the new one.
    func assignConnection(preferring preferred: Int) -> Int {
        var best = preferred, least = loopLoads[preferred].count.load(ordering: .relaxed)
        for (i, load) in loopLoads.enumerated() where i != preferred {
            let n = load.count.load(ordering: .relaxed)
            if n < least { best = i; least = n }
        }
        loopLoads[best].count.add(1, ordering: .relaxed)
        return best
    }

    /// Logs at most once a second, for conditions that can repeat thousands of times.
    func logThrottled(_ message: String) {
        let now = monotonicNanos()
        let last = lastThrottledLog.load(ordering: .relaxed)
        if now &- last > 1_000_000_000, lastThrottledLog.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged {
            logSink(message)
        }
    }
}

final class LoopLoad: Sendable {
    let count = Atomic<Int>(0)
}

struct WeakLoop: @unchecked Sendable {
    weak var loop: EventLoop?
}

/// The HTTP/1.1 server: one listening socket, watched by N event loops, each on its own
/// thread. The loop that `EPOLLEXCLUSIVE` wakes accepts, and gives each new connection to the
/// loop holding the fewest (itself among equals): a burst of connections, as a client opening
/// its pool makes, would otherwise all land on the loop that woke first.
///
/// `SIGPIPE` is ignored for the whole process when a server starts: writes to a closed peer
/// fail with `EPIPE` instead of killing the process.
public final class Server: Sendable {
    /// The port actually bound (the chosen one when the options said 0).
    public let port: Int
    public let host: String
    private let shared: ServerShared
    private let loops: [EventLoop]
    private let threads: Mutex<[pthread_t]>
    private let drainTimeout: Duration

    /// Binds and starts serving. Throws `SysError` when the address cannot be bound,
    /// `TLSError` when the certificate or key is unusable.
    public convenience init(options: ServerOptions, router: Router) throws {
        try self.init(listener: try Listener(options: options), options: options, router: router)
    }

    /// Starts serving on a socket bound beforehand; the server owns it from here on.
    public init(listener: Listener, options: ServerOptions, router: Router) throws {
        signal(SIGPIPE, SIG_IGN)
        let (fd, port, tls) = (try listener.take(), listener.port, listener.tls)
        let shared = ServerShared(listenerFD: fd, options: options, router: router, tls: tls)
        var loops: [EventLoop] = []
        do {
            for i in 0..<max(1, options.threads) { loops.append(try EventLoop(index: i, shared: shared)) }
        } catch {
            closeFD(fd)
            throw error
        }
        shared.setLoops(loops)
        var threads: [pthread_t] = []
        for loop in loops {
            threads.append(try spawnThread(name: "hush-loop-\(loop.index)") { loop.run() })
        }
        self.port = port
        self.host = options.host
        self.shared = shared
        self.loops = loops
        self.threads = Mutex(threads)
        self.drainTimeout = options.drainTimeout
    }

    /// Connections open right now, over all loops.
    public var openConnections: Int { shared.openConnections.load(ordering: .relaxed) }

    /// Stops accepting, closes idle connections, lets in-flight requests finish (their answers
    /// say `Connection: close`), then closes whatever is left once `drainTimeout` has passed.
    /// Returns when every loop has stopped. Safe to call more than once.
    public func shutdown() {
        let threads = self.threads.withLock { threads in
            let taken = threads
            threads.removeAll()
            return taken
        }
        guard !threads.isEmpty else { return }
        for loop in loops { loop.post(.drain) }
        // Stops listening at once: new connections are refused instead of waiting in a backlog
        // nobody accepts from. The descriptor stays open until the loops are gone, so its
        // number cannot be reused under them.
        _ = Glibc.shutdown(shared.listenerFD, Int32(SHUT_RDWR))
        let deadline = monotonicNanos() + drainTimeout.nanoseconds
        // Waits on the loops with a bounded poll: pthread has no timed join in POSIX.
        while shared.openConnections.load(ordering: .relaxed) > 0, monotonicNanos() < deadline {
            var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
            nanosleep(&pause, nil)
        }
        for loop in loops { loop.post(.stop) }
        for thread in threads { pthread_join(thread, nil) }
        closeFD(shared.listenerFD)
    }
}

/// A bound, listening socket and the TLS context to serve it with: made first, so that a
/// start-up that cannot bind (a port in use) or load its certificate fails before anything
/// else (a database, a key file) is created. Closed when dropped unless a server took it.
public final class Listener: Sendable {
    /// The port actually bound (the chosen one when the options said 0).
    public let port: Int
    let tls: TLSContext?
    private let fd: Int32
    private let taken = Atomic<Bool>(false)

    public init(options: ServerOptions) throws {
        tls = try options.tls.map { try TLSContext($0) }
        (fd, port) = try Socket.listen(host: options.host, port: options.port, backlog: options.backlog)
    }

    /// The descriptor, for the one server that serves it.
    func take() throws(SysError) -> Int32 {
        guard !taken.exchange(true, ordering: .relaxed) else { throw SysError(call: "listen", errno: EBADF) }
        return fd
    }

    deinit {
        if !taken.load(ordering: .relaxed) { closeFD(fd) }
    }
}
