#if canImport(Glibc)
import Glibc
#endif

/// One client connection, owned by exactly one event loop thread.
final class Connection {
    /// Where the connection is in its request/answer cycle.
    enum Phase {
        /// Between requests (or before the first): no byte of the next request yet.
        case idle
        /// Some bytes of a request head have arrived.
        case head
        /// The head is parsed and its body is arriving. Boxed: the phase is read on every
        /// event, and an unboxed request would make each read a copy of it.
        indirect case body(PendingBody)
        /// A deferred handler has the request; nothing more is read until it answers.
        case waiting(DeferredRequest)
        /// The last answer is queued; close once it is written.
        case closing
        /// Our side is shut for writing; drain what the peer still sends, then close, so that
        /// unread request bytes do not turn our last answer into a reset (RFC 9112 §9.6).
        case lingering
    }

    struct PendingBody {
        var request: ParsedRequest
        var remaining: Int
        var decoder: ChunkedDecoder?
        var body: [UInt8]
        /// Where a streaming route's body goes instead of `body`.
        var sink: BodySink?
    }

    /// A request whose head was read and routed.
    struct ParsedRequest {
        var head: RequestHead
        var route: Route
        var path: String
        var parameters: [String: String]
        var query: QueryParameters
        var maxBodyBytes: Int
    }

    struct DeferredRequest {
        var sequence: UInt64
        var isHead: Bool
        var keepAlive: Bool
        var version: HTTPVersion
    }

    let fd: Int32
    let input: ByteBuffer
    let output: ByteBuffer
    // Touched only by the owning loop's thread, several times a request: see `EventLoop.connections`.
    @exclusivity(unchecked) var parser: RequestHeadParser
    @exclusivity(unchecked) var phase: Phase = .idle
    var tls: TLSSession?
    /// When the current phase times out (monotonic ns; 0: never).
    var phaseDeadline: UInt64 = 0
    /// When a stalled write times out (monotonic ns), while output is pending.
    var writeDeadline: UInt64 = 0
    /// The epoll events currently registered.
    var registeredEvents: UInt32 = 0
    /// The last write could not finish: wait for EPOLLOUT.
    var writeBlocked = false
    /// Reading stopped while too many answers wait for a slow reader.
    var readPaused = false
    /// The current request's route (its index in `Router.routes`), when it matched one, and
    /// when its head was read: for `ServerOptions.observe`.
    @exclusivity(unchecked) var routeIndex: Int?
    @exclusivity(unchecked) var requestStarted: UInt64 = 0
    /// The current request's method once its head was read, the bytes it took (head and
    /// body), and its id: the client's `X-Request-Id` when it is a plain token, else one made
    /// up; sent back on the answer. For `ServerOptions.observe`.
    /// Loop-confined like the phase: no per-access exclusivity check.
    @exclusivity(unchecked) var requestMethod: HTTPMethod?
    @exclusivity(unchecked) var bytesIn = 0
    /// The id's bytes (at most 64), written in place, and how many there are (0: none yet).
    @exclusivity(unchecked) var requestID = [UInt8](repeating: 0, count: 64)
    @exclusivity(unchecked) var requestIDLength = 0
    /// What the handler notes about the exchange (who asked), lent to it with the request.
    let notes = ExchangeNotes()
    /// TLS asked to write during a read (renegotiation, handshake); retry the read when writable.
    var tlsReadWantsWrite = false

    init(fd: Int32, limits: HTTPLimits, tls: TLSSession?) {
        self.fd = fd
        self.input = ByteBuffer(capacity: 4096)
        self.output = ByteBuffer(capacity: 4096)
        self.parser = RequestHeadParser(limits: limits)
        self.tls = tls
    }

    var effectiveDeadline: UInt64 {
        output.isEmpty ? phaseDeadline : writeDeadline
    }

    var isWaiting: Bool {
        if case .waiting = phase { return true }
        return false
    }

    var wantsRead: Bool {
        switch phase {
        case .waiting, .closing: return false
        case .lingering: return true
        default: return !readPaused
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        if let tls { return tls.read(into: buffer) }
        let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
        if n > 0 { return .bytes(n) }
        if n == 0 { return .eof }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlock(needsWritable: false)
        default: return .failed
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> IOResult {
        if let tls { return tls.write(bytes) }
        // MSG_NOSIGNAL: a peer that went away is an EPIPE here, not a SIGPIPE for the process.
        let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        if n >= 0 { return .bytes(n) }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlock(needsWritable: true)
        default: return .failed
        }
    }
}
