import Synchronization
import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// Deadlines and deferred answers: time-outs swept once a turn, and answers that come back
/// from another thread (or from the handler itself, inline).
extension EventLoop {
    // MARK: - Deadlines

    func setPhaseDeadline(_ connection: Connection, _ deadline: UInt64) {
        connection.phaseDeadline = deadline
        noteDeadline(deadline)
    }

    func noteDeadline(_ deadline: UInt64) {
        if deadline != 0, deadline < nextDeadline { nextDeadline = deadline }
    }

    /// Closes or times out every connection past its deadline and finds the next one: O(N), run
    /// only when the earliest deadline passed, which under load is about once per timeout period.
    func sweepDeadlines() {
        for case let connection? in connections {
            let deadline = connection.effectiveDeadline
            if deadline != 0, deadline <= now { expire(connection) }
        }
        var next: UInt64 = .max
        for case let connection? in connections {
            let deadline = connection.effectiveDeadline
            if deadline > now { next = min(next, deadline) }
        }
        nextDeadline = next
    }

    func expire(_ connection: Connection) {
        guard connection.output.isEmpty else { close(connection); return }
        switch connection.phase {
        case .head, .body:
            // RFC 9110 §15.5.9: 408, then close.
            failRequest(connection, .timeout)
            if connections[Int(connection.fd)] === connection { flush(connection) }
        case .waiting:
            break
        case .idle, .closing, .lingering:
            close(connection)
        }
    }

    // MARK: - Deferred answers

    /// A responder for the connection's current request, which now waits for it. With
    /// `updatingInterest: false` the caller updates the epoll interest itself, once it knows
    /// whether the answer came at once (then nothing changes, and no epoll_ctl is spent).
    func makeResponder(for connection: Connection, keepAlive: Bool, isHead: Bool, version: HTTPVersion,
                       updatingInterest: Bool = true) -> Responder {
        let sequence = nextSequence
        nextSequence += 1
        connection.phase = .waiting(.init(sequence: sequence, isHead: isHead, keepAlive: keepAlive, version: version))
        if updatingInterest { updateInterest(connection) }
        return Responder(loop: self, fd: connection.fd, sequence: sequence)
    }

    /// Writes an inline answer for the request `sequence` on `fd`; false when that request is
    /// not the one waiting there (it never happens inside its own handler, but is checked).
    func answerInline(fd: Int32, sequence: UInt64, _ status: HTTPStatus, fixedFields: StaticString, body: UnsafeRawBufferPointer) -> Bool {
        guard !answeredInline, inlineAnswer == nil, Int(fd) < connections.count, let connection = connections[Int(fd)],
              case .waiting(let pending) = connection.phase, pending.sequence == sequence else { return false }
        writeHead(connection, status, bodyCount: body.count, bodyWritten: !pending.isHead, fixedFields: fixedFields, keepAlive: pending.keepAlive && !draining,
                  version: pending.version)
        if !pending.isHead, status.hasBody { connection.output.append(body) }
        answeredInline = true
        return true
    }

    func deliverDeferred(fd: Int32, sequence: UInt64, _ response: Response) {
        guard Int(fd) < connections.count, let connection = connections[Int(fd)],
              case .waiting(let pending) = connection.phase, pending.sequence == sequence else { return }
        writeResponse(connection, response, isHead: pending.isHead, keepAlive: pending.keepAlive && !draining, version: pending.version)
        finishExchange(connection, keepAlive: pending.keepAlive && !draining)
        process(connection)
        guard connections[Int(fd)] === connection else { return }
        flush(connection)
    }

    func control(_ op: Int32, _ fd: Int32, _ events: UInt32) throws(SysError) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        _ = try sys("epoll_ctl") { epoll_ctl(epollFD, op, fd, &event) }
    }
}

/// The way back to a connection for a deferred handler. `send` may be called from any thread,
/// once; a second call, or a call after the connection closed, is ignored.
public struct Responder: Sendable {
    let loop: EventLoop
    let fd: Int32
    let sequence: UInt64

    public func send(_ response: consuming Response) {
        // Answered by the handler itself, on the loop's thread, before it returned: no hop.
        if isInline {
            loop.inlineAnswer = consume response
            return
        }
        loop.post(.respond(fd: fd, sequence: sequence, response))
    }

    /// The answer `make` returns, made on the loop's thread (at once when called there, inside
    /// the handler): for answers rendered after work done on another thread.
    public func send(rendering make: @escaping @Sendable () -> Response) {
        if isInline { return send(make()) }
        loop.post(.render(fd: fd, sequence: sequence, make))
    }

    /// Runs `work` on the loop's thread with this responder (its answer then goes out as any
    /// deferred one): for a handler that must wait for something on another thread and then
    /// do its work where the loop's own state is.
    public func resume(_ work: @escaping @Sendable (Responder) -> Void) {
        loop.post(.resume(fd: fd, sequence: sequence, work))
    }

    /// An answer whose body is `body` and whose fields are `fixedFields` (each starting with
    /// CRLF, as `Response.fixedFields`). Given before the handler returned, it is written
    /// straight into the connection's output: no `Response`, no copy of the body but that one.
    public func send(_ status: HTTPStatus, fixedFields: StaticString, body: UnsafeRawBufferPointer) {
        if isInline, loop.answerInline(fd: fd, sequence: sequence, status, fixedFields: fixedFields, body: body) { return }
        send(Response(status: status, fixedFields: fixedFields, body: Array(body)))
    }

    /// On the loop's thread, inside the handler that got this responder.
    private var isInline: Bool {
        if let thread = loop.thread, pthread_equal(thread, pthread_self()) != 0, loop.dispatching == sequence { return true }
        return false
    }
}
