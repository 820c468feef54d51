import Synchronization
import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// One thread with its own epoll set, its own connections (an array indexed by fd, like
/// redis's `events[fd]`) and an eventfd through which other threads reach it. The only
/// blocking call is `epoll_wait`, whose timeout is the nearest connection deadline.
final class EventLoop: @unchecked Sendable {
    enum Message: Sendable {
        /// A deferred handler's answer.
        case respond(fd: Int32, sequence: UInt64, Response)
        /// A deferred handler's answer, made on the loop's thread.
        case render(fd: Int32, sequence: UInt64, @Sendable () -> Response)
        /// A deferred handler's work, run again on the loop's thread (after a wait elsewhere).
        case resume(fd: Int32, sequence: UInt64, @Sendable (Responder) -> Void)
        /// Stop accepting, close idle connections, finish the others.
        case drain
        /// Close everything now.
        case stop
        /// A connection another loop accepted for this one.
        case adopt(fd: Int32)
    }

    let index: Int
    let shared: ServerShared
    let epollFD: Int32
    let wakeFD: Int32
    private let inbox = Mutex<[Message]>([])

    // Everything below is touched by the loop thread only.
    // Loop state is touched only by its own thread, several times a request: the per-access
    // exclusivity check of a class property buys nothing here.
    @exclusivity(unchecked) var connections: [Connection?] = []
    var liveConnections = 0
    var now: UInt64 = 0
    var nextDeadline: UInt64 = .max
    var date = HTTPDate()
    var draining = false
    private var stopping = false
    var listenerRegistered = false
    var acceptPausedUntil: UInt64 = 0
    /// A spare descriptor, given up to accept and close one connection when the process is out
    /// of descriptors, so the backlog drains instead of waking the loop forever (libev/nginx's trick).
    var spareFD: Int32 = -1
    var nextSequence: UInt64 = 1
    /// The state of the request ids this loop makes up (a Weyl sequence from a random start,
    /// mixed: unique on the loop, unguessable across loops and restarts).
    var requestIDState = UInt64.random(in: 0...UInt64.max)
    /// The loop's thread, set when `run` starts: a Responder used on it answers inline.
    private(set) var thread: pthread_t?
    /// The deferred request whose handler is running now, and the answer it gave before
    /// returning, if it did: written at once, without a trip through the inbox.
    var dispatching: UInt64 = 0
    @exclusivity(unchecked) var inlineAnswer: Response?
    /// The handler being dispatched wrote its answer into the output itself (`Responder.send(_:fixedFields:body:)`).
    @exclusivity(unchecked) var answeredInline = false
    /// TLS connections whose read budget ran out while OpenSSL still held input: epoll would
    /// not report them again, so they are read again on the next turn of the loop.
    private var rereads: [Connection] = []

    init(index: Int, shared: ServerShared) throws(SysError) {
        self.index = index
        self.shared = shared
        guard let epollFD = try sys("epoll_create1", { epoll_create1(Int32(EPOLL_CLOEXEC)) }) else {
            throw SysError(call: "epoll_create1", errno: EAGAIN)
        }
        self.epollFD = epollFD
        guard let wakeFD = try sys("eventfd", { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) }) else {
            closeFD(epollFD)
            throw SysError(call: "eventfd", errno: EAGAIN)
        }
        self.wakeFD = wakeFD
        try control(EPOLL_CTL_ADD, wakeFD, EPOLLIN.rawValue)
        // EPOLLEXCLUSIVE: one loop is woken per new connection, not all of them.
        try control(EPOLL_CTL_ADD, shared.listenerFD, EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue)
        listenerRegistered = true
        spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    deinit {
        // Connections handed over after the loop stopped reading its inbox.
        for case .adopt(let fd) in inbox.withLock({ $0 }) { dropAssigned(fd) }
        closeFD(epollFD)
        closeFD(wakeFD)
        if spareFD >= 0 { closeFD(spareFD) }
    }

    /// Hands a message to the loop from any thread.
    func post(_ message: Message) {
        inbox.withLock { $0.append(message) }
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    // MARK: - The loop

    func run() {
        thread = pthread_self()
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while !(stopping || (draining && liveConnections == 0)) {
            now = monotonicNanos()
            let timeout = epollTimeout()
            let count = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, Int32($0.count), timeout) }
            now = monotonicNanos()
            date.refresh()
            if count < 0 {
                if errno == EINTR { continue }
                shared.log("epoll_wait: \(String(cString: strerror(errno)))")
                break
            }
            for i in 0..<Int(count) {
                let fd = events[i].data.fd
                let flags = events[i].events
                if fd == wakeFD {
                    handleMessages()
                } else if fd == shared.listenerFD {
                    acceptConnections()
                } else {
                    handleEvents(fd: fd, flags: flags)
                }
            }
            if !rereads.isEmpty {
                let pending = rereads
                rereads.removeAll(keepingCapacity: true)
                for connection in pending where connections[Int(connection.fd)] === connection { readAndProcess(connection) }
            }
            if now >= nextDeadline { sweepDeadlines() }
            if acceptPausedUntil != 0, now >= acceptPausedUntil { resumeAccepting() }
            shared.turnEnded?(index)
        }
        for case let connection? in connections { close(connection) }
        if listenerRegistered { _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, shared.listenerFD, nil) }
    }

    private func epollTimeout() -> Int32 {
        if !rereads.isEmpty { return 0 }
        var deadline = nextDeadline
        if acceptPausedUntil != 0 { deadline = min(deadline, acceptPausedUntil) }
        if deadline == .max { return -1 }
        if deadline <= now { return 0 }
        // Round up, so the loop never wakes a hair before the deadline and spins.
        return Int32(min((deadline - now + 999_999) / 1_000_000, 60_000))
    }

    private func handleMessages() {
        var counter: UInt64 = 0
        _ = Glibc.read(wakeFD, &counter, 8)
        let messages = inbox.withLock { messages in
            let taken = messages
            messages.removeAll(keepingCapacity: true)
            return taken
        }
        for message in messages {
            switch message {
            case .respond(let fd, let sequence, let response):
                deliverDeferred(fd: fd, sequence: sequence, response)
            case .render(let fd, let sequence, let make):
                deliverDeferred(fd: fd, sequence: sequence, make())
            case .resume(let fd, let sequence, let work):
                work(Responder(loop: self, fd: fd, sequence: sequence))
            case .drain:
                beginDrain()
            case .stop:
                stopping = true
            case .adopt(let fd):
                if draining || stopping { dropAssigned(fd) } else { register(fd) }
            }
        }
    }

    private func beginDrain() {
        guard !draining else { return }
        draining = true
        if listenerRegistered {
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, shared.listenerFD, nil)
            listenerRegistered = false
        }
        for case let connection? in connections {
            if case .idle = connection.phase, connection.output.isEmpty { close(connection) }
        }
    }

    // MARK: - Readiness

    private func handleEvents(fd: Int32, flags: UInt32) {
        guard Int(fd) < connections.count, let connection = connections[Int(fd)] else { return }
        if flags & (EPOLLERR.rawValue) != 0 {
            close(connection)
            return
        }
        if flags & EPOLLOUT.rawValue != 0 {
            flush(connection)
            guard connections[Int(fd)] === connection else { return }
            if connection.tlsReadWantsWrite {
                connection.tlsReadWantsWrite = false
                readAndProcess(connection)
                return
            }
        }
        if flags & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLRDHUP.rawValue) != 0 {
            readAndProcess(connection)
        }
    }

    func readAndProcess(_ connection: Connection) {
        var sawEOF = false
        var budget = 16
        reading: while connection.wantsRead, budget > 0 {
            budget -= 1
            connection.input.reserve(2048)
            let space = connection.input.writable
            switch connection.read(into: space) {
            case .bytes(let n):
                // Lingering: the bytes are read only to be dropped.
                if case .lingering = connection.phase { continue reading }
                connection.input.commitWrite(n)
                // A TLS session may hold decrypted bytes that epoll cannot see: read until it blocks.
                if n < space.count, connection.tls == nil { break reading }
                if connection.input.readableBytes > 256 * 1024 { break reading }
            case .wouldBlock(let needsWritable):
                if needsWritable {
                    connection.tlsReadWantsWrite = true
                    updateInterest(connection)
                }
                break reading
            case .eof:
                sawEOF = true
                break reading
            case .failed:
                close(connection)
                return
            }
        }
        if case .lingering = connection.phase {
            connection.input.consume(connection.input.readableBytes)
            if sawEOF { close(connection) }
            return
        }
        process(connection)
        guard connections[Int(connection.fd)] === connection else { return }
        if !sawEOF, connection.wantsRead, connection.tls?.hasBufferedInput == true { rereads.append(connection) }
        if sawEOF {
            // The peer will send nothing more: answer what is complete, then close.
            if connection.output.isEmpty, !connection.isWaiting { close(connection); return }
            connection.phase = connection.isWaiting ? connection.phase : .closing
        }
        flush(connection)
    }

    /// Writes pending output; closes once a closing connection has said everything.
    func flush(_ connection: Connection) {
        while !connection.output.isEmpty {
            switch connection.write(connection.output.readable) {
            case .bytes(let n):
                connection.output.consume(n)
                connection.writeDeadline = now + shared.writeTimeoutNanos
            case .wouldBlock:
                connection.writeBlocked = true
                if connection.writeDeadline == 0 || connection.writeDeadline < now {
                    connection.writeDeadline = now + shared.writeTimeoutNanos
                }
                noteDeadline(connection.writeDeadline)
                updateInterest(connection)
                return
            case .eof, .failed:
                close(connection)
                return
            }
        }
        connection.writeDeadline = 0
        connection.writeBlocked = false
        connection.output.shrink(to: 4096, above: 64 * 1024)
        switch connection.phase {
        case .closing:
            startLingering(connection)
            return
        default:
            break
        }
        if connection.readPaused {
            connection.readPaused = false
            updateInterest(connection)
            process(connection)
            guard connections[Int(connection.fd)] === connection else { return }
            if !connection.output.isEmpty { flush(connection); return }
        }
        updateInterest(connection)
    }

    private func startLingering(_ connection: Connection) {
        connection.tls?.shutdown()
        _ = shutdown(connection.fd, Int32(SHUT_WR))
        connection.phase = .lingering
        connection.input.consume(connection.input.readableBytes)
        // Long enough for a client to read our answer before its unread bytes could reset it.
        setPhaseDeadline(connection, now + min(2_000_000_000, shared.idleTimeoutNanos))
        updateInterest(connection)
    }

    func updateInterest(_ connection: Connection) {
        var events = EPOLLRDHUP.rawValue
        if connection.wantsRead { events |= EPOLLIN.rawValue }
        // Writable events only after a write blocked: an answer waiting for the flush that
        // follows at once must not cost two epoll_ctl calls.
        if connection.writeBlocked || connection.tlsReadWantsWrite { events |= EPOLLOUT.rawValue }
        guard events != connection.registeredEvents else { return }
        connection.registeredEvents = events
        _ = try? control(EPOLL_CTL_MOD, connection.fd, events)
    }

    func close(_ connection: Connection) {
        let fd = connection.fd
        guard Int(fd) < connections.count, connections[Int(fd)] === connection else { return }
        connections[Int(fd)] = nil
        liveConnections -= 1
        shared.openConnections.subtract(1, ordering: .relaxed)
        shared.loopLoads[index].count.subtract(1, ordering: .relaxed)
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
        connection.tls = nil
        closeFD(fd)
    }
}
