#if canImport(Glibc)
import Glibc
#endif

/// Reading requests off a connection's input and writing their answers: the HTTP/1.1 cycle.
extension EventLoop {
    /// Parses and answers every complete request in the input, in order, until the input runs
    /// out, a deferred handler takes a request, or too many answers wait unread.
    func process(_ connection: Connection) {
        while connections[Int(connection.fd)] === connection {
            if connection.output.readableBytes > shared.limits.maxPendingOutputBytes {
                connection.readPaused = true
                updateInterest(connection)
                return
            }
            switch connection.phase {
            case .idle, .head:
                guard !connection.input.isEmpty else { return }
                if case .idle = connection.phase {
                    connection.phase = .head
                    // Set once per request, not per byte: a slow sender cannot stretch it.
                    setPhaseDeadline(connection, now + shared.headerTimeoutNanos)
                }
                switch connection.parser.parse(connection.input.readable) {
                case .incomplete:
                    return
                case .invalid(let error):
                    failRequest(connection, error)
                    return
                case .complete(let head, let consumed):
                    connection.input.consume(consumed)
                    connection.bytesIn = consumed
                    connection.parser.reset()
                    startRequest(connection, head)
                }
            case .body(var pending):
                connection.phase = .idle // hand `pending` over without a copy of its body
                switch readBody(connection, &pending) {
                case .needMore:
                    connection.phase = .body(pending)
                    return
                case .failed(let error):
                    connection.phase = .body(pending)
                    failRequest(connection, error)
                    return
                case .complete:
                    if let sink = pending.sink {
                        let parsed = pending.request
                        let request = Request(head: parsed.head, path: parsed.path, pathParameters: parsed.parameters, query: parsed.query, loop: index,
                                              notes: connection.notes)
                        let keepAlive = parsed.head.keepAlive && !draining
                        sink.finish(request, makeResponder(for: connection, keepAlive: keepAlive, isHead: false, version: parsed.head.version))
                    } else {
                        let parsed = pending.request
                        dispatch(connection, parsed.route, Request(head: parsed.head, path: parsed.path, pathParameters: parsed.parameters,
                                                                   query: parsed.query, body: pending.body, loop: index, notes: connection.notes))
                    }
                }
            case .waiting, .closing, .lingering:
                return
            }
        }
    }

    private enum BodyProgress { case needMore, complete, failed(HTTPParseError) }

    private func readBody(_ connection: Connection, _ pending: inout Connection.PendingBody) -> BodyProgress {
        let available = connection.input.readable
        if available.isEmpty { return .needMore }
        setPhaseDeadline(connection, now + shared.bodyTimeoutNanos)
        if pending.decoder != nil {
            do {
                let progress = try pending.decoder!.feed(available, into: &pending.body)
                if let sink = pending.sink, !pending.body.isEmpty {
                    pending.body.withUnsafeBytes { sink.consume($0) }
                    pending.body.removeAll(keepingCapacity: true)
                }
                switch progress {
                case .needMore:
                    connection.input.consume(available.count)
                    connection.bytesIn += available.count
                    return .needMore
                case .done(let consumed):
                    connection.input.consume(consumed)
                    connection.bytesIn += consumed
                    return .complete
                }
            } catch {
                return .failed(error)
            }
        }
        let take = min(pending.remaining, available.count)
        if let sink = pending.sink {
            sink.consume(UnsafeRawBufferPointer(rebasing: available[0..<take]))
        } else {
            pending.body.append(contentsOf: UnsafeRawBufferPointer(rebasing: available[0..<take]))
        }
        connection.input.consume(take)
        connection.bytesIn += take
        pending.remaining -= take
        return pending.remaining == 0 ? .complete : .needMore
    }

    private func startRequest(_ connection: Connection, _ head: consuming RequestHead) {
        connection.routeIndex = nil
        // When the loop woke to the bytes that completed the head: the time a request waited
        // behind others in the same turn counts, as the client waited it too.
        if shared.observe != nil { connection.requestStarted = now }
        connection.requestMethod = head.method
        connection.notes.principal = nil
        takeRequestID(connection, head.headers)
        let (rawPath, rawQuery) = RequestTarget.split(head.target)
        let hasBody = head.framing != .none && head.framing != .length(0)
        let method = head.method, version = head.version, keepAlive = head.keepAlive
        // An error before the body is read closes the connection if a body follows: its bytes
        // would otherwise be read as the next request. (The head itself is not captured: it is
        // moved into the request below.)
        func refuse(_ response: Response) {
            writeResponse(connection, response, isHead: method == .head, keepAlive: keepAlive && !hasBody && !draining, version: version)
            finishExchange(connection, keepAlive: keepAlive && !hasBody && !draining)
        }
        var query = QueryParameters()
        if let rawQuery {
            do throws(HTTPParseError) { query = try QueryParameters(decoding: rawQuery) } catch {
                refuse(shared.failureResponse(.unreadable(error)))
                return
            }
        }
        switch shared.router.match(head.method, path: rawPath) {
        case .notFound:
            refuse(shared.failureResponse(.noRoute(method: head.method.description, path: String(rawPath))))
        case .methodNotAllowed(let allow):
            var response = shared.failureResponse(.methodNotAllowed(method: head.method.description, allow: allow))
            response.headers.append(("Allow", allow.joined(separator: ", ")))
            refuse(response)
        case .invalidPath(let why):
            refuse(shared.failureResponse(.invalidPath(why)))
        case .found(let route, let parameters):
            connection.routeIndex = route.index
            let maxBodyBytes = route.maxBodyBytes ?? shared.limits.maxBodyBytes
            var sink: BodySink?
            if case .streaming(let start) = route.action {
                switch start(Request(head: copy head, path: String(rawPath), pathParameters: parameters, query: query, loop: index, notes: connection.notes)) {
                case .refuse(let response):
                    refuse(response)
                    return
                case .accept(let accepted):
                    sink = accepted
                }
                if !hasBody {
                    sink!.finish(Request(head: head, path: String(rawPath), pathParameters: parameters, query: query, loop: index, notes: connection.notes),
                                 makeResponder(for: connection, keepAlive: keepAlive && !draining, isHead: false, version: version))
                    return
                }
            }
            let remaining: Int, decoder: ChunkedDecoder?
            switch head.framing {
            case .none, .length(0):
                dispatch(connection, route, Request(head: head, path: String(rawPath), pathParameters: parameters, query: query, loop: index, notes: connection.notes))
                return
            case .length(let length):
                guard length <= maxBodyBytes else {
                    failRequest(connection, .bodyTooLarge(limit: maxBodyBytes))
                    return
                }
                // The usual case: the whole body came with the head. Take it at once, without
                // the body phase and its parsed request; a 100 Continue is owed only while no
                // byte of the body has arrived.
                if sink == nil, connection.input.readableBytes >= length {
                    let body = Array(UnsafeRawBufferPointer(rebasing: connection.input.readable[0..<length]))
                    connection.input.consume(length)
                    connection.bytesIn += length
                    dispatch(connection, route, Request(head: head, path: String(rawPath), pathParameters: parameters, query: query, body: body,
                                                        loop: index, notes: connection.notes))
                    return
                }
                (remaining, decoder) = (length, nil)
            case .chunked:
                (remaining, decoder) = (0, ChunkedDecoder(maxBodyBytes: maxBodyBytes, limits: shared.limits))
            }
            // The parsed request is kept while its body arrives in parts.
            beginBody(connection, Connection.ParsedRequest(head: head, route: route, path: String(rawPath), parameters: parameters,
                                                           query: query, maxBodyBytes: maxBodyBytes),
                      remaining: remaining, decoder: decoder, sink: sink)
        }
    }

    private func beginBody(_ connection: Connection, _ request: Connection.ParsedRequest, remaining: Int, decoder: ChunkedDecoder?,
                           sink: BodySink? = nil) {
        // RFC 9110 §10.1.1: a client that sent Expect: 100-continue may wait for this before the body.
        if request.head.expectContinue, connection.input.isEmpty {
            connection.output.append("HTTP/1.1 100 Continue\r\n\r\n" as StaticString)
        }
        var body: [UInt8] = []
        if remaining > 0, sink == nil { body.reserveCapacity(remaining) }
        connection.phase = .body(.init(request: request, remaining: remaining, decoder: decoder, body: body, sink: sink))
        setPhaseDeadline(connection, now + shared.bodyTimeoutNanos)
    }

    private func dispatch(_ connection: Connection, _ route: Route, _ request: Request) {
        let keepAlive = request.head.keepAlive && !draining
        let isHead = request.head.method == .head
        let version = request.head.version
        switch route.action {
        case .immediate(let handler):
            writeResponse(connection, handler(request), isHead: isHead, keepAlive: keepAlive, version: version)
            finishExchange(connection, keepAlive: keepAlive)
        case .deferred(let handler):
            let responder = makeResponder(for: connection, keepAlive: keepAlive, isHead: isHead, version: version,
                                          updatingInterest: false)
            dispatching = responder.sequence
            handler(request, responder)
            dispatching = 0
            if answeredInline {
                // A second answer from the same handler is dropped, as any answer after the first.
                answeredInline = false
                inlineAnswer = nil
                finishExchange(connection, keepAlive: keepAlive)
            } else if let answer = inlineAnswer.take() {
                writeResponse(connection, answer, isHead: isHead, keepAlive: keepAlive, version: version)
                finishExchange(connection, keepAlive: keepAlive)
            } else {
                // The answer comes later: read nothing more from this connection until then.
                updateInterest(connection)
            }
        case .streaming:
            preconditionFailure("a streaming route's body goes to its sink, not to dispatch")
        }
    }

    /// After an answer: back to idle for the next request, or closing.
    func finishExchange(_ connection: Connection, keepAlive: Bool) {
        guard keepAlive else {
            connection.phase = .closing
            updateInterest(connection)
            return
        }
        connection.phase = .idle
        if connection.input.readableBytes == 0 {
            connection.input.shrink(to: 4096, above: 64 * 1024)
            setPhaseDeadline(connection, now + shared.idleTimeoutNanos)
        }
        updateInterest(connection)
    }

    /// Answers a request that cannot be read and closes the connection after the answer.
    func failRequest(_ connection: Connection, _ error: HTTPParseError) {
        writeResponse(connection, shared.failureResponse(.unreadable(error)), isHead: false, keepAlive: false)
        connection.phase = .closing
        connection.input.consume(connection.input.readableBytes)
        updateInterest(connection)
    }

    /// Appends the whole answer, head and body, to the output, so it leaves in one write.
    func writeResponse(_ connection: Connection, _ response: borrowing Response, isHead: Bool, keepAlive: Bool, version: HTTPVersion = .http11) {
        writeHead(connection, response.status, bodyCount: response.body.count, bodyWritten: !isHead, fixedFields: response.fixedFields,
                  contentType: response.contentType, headers: response.headers, keepAlive: keepAlive, version: version)
        // RFC 9110 §9.3.2: a HEAD answer has the GET answer's fields and no content.
        if !isHead, response.status.hasBody { connection.output.append(response.body) }
    }

    /// An answer's head: status line, `Date`, `Content-Length`, the fields, `Connection`. Also
    /// reports the answer to `observe`.
    func writeHead(_ connection: Connection, _ status: HTTPStatus, bodyCount: Int, bodyWritten: Bool, fixedFields: StaticString?, contentType: String? = nil,
                   headers: [(name: String, value: String)] = [], keepAlive: Bool, version: HTTPVersion) {
        let out = connection.output
        let headStart = out.writeIndex
        // No id yet (none given, or an answer before any head was read: a 400, 408 or 431): one of its own.
        if connection.requestIDLength == 0 { makeRequestID(connection) }
        out.append(status.statusLine)
        out.append(date.bytes)
        if status.hasBody {
            out.append("\r\nContent-Length: " as StaticString)
            out.append(decimal: bodyCount)
        }
        if let fixedFields { out.append(fixedFields) }
        if let contentType { appendField(out, "Content-Type", contentType) }
        for (name, value) in headers { appendField(out, name, value) }
        out.append("\r\nX-Request-Id: " as StaticString)
        connection.requestID.withUnsafeBytes { out.append(UnsafeRawBufferPointer(rebasing: $0[0..<connection.requestIDLength])) }
        // RFC 9112 §9.3: HTTP/1.0 persists only when the answer says so.
        if !keepAlive {
            out.append("\r\nConnection: close\r\n\r\n" as StaticString)
        } else if version == .http10 {
            out.append("\r\nConnection: keep-alive\r\n\r\n" as StaticString)
        } else {
            out.append("\r\n\r\n" as StaticString)
        }
        if let observe = shared.observe {
            // A request that failed before its head was read (a 408 or 431) started when its phase did.
            let started = connection.requestStarted == 0 ? now : connection.requestStarted
            let bytesOut = out.writeIndex - headStart + (bodyWritten && status.hasBody ? bodyCount : 0)
            connection.requestID.withUnsafeBytes { all in
                let id = UnsafeRawBufferPointer(rebasing: all[0..<connection.requestIDLength])
                observe(Answered(loop: index, route: connection.routeIndex, method: connection.requestMethod, status: status.code,
                                 nanoseconds: monotonicNanos() &- started, bytesIn: connection.bytesIn, bytesOut: bytesOut, requestID: id,
                                 principal: connection.notes.principal))
            }
        }
        connection.routeIndex = nil
        connection.requestStarted = 0
        connection.requestMethod = nil
        connection.bytesIn = 0
        connection.requestIDLength = 0
    }

    /// Appends `\r\nname: value`, or nothing when the name is not a token or the value holds
    /// CR, LF or NUL: a handler's field must never split the answer.
    private func appendField(_ out: ByteBuffer, _ name: String, _ value: String) {
        let mark = out.writeIndex
        out.append("\r\n" as StaticString)
        var name = name, value = value
        let nameOK = name.withUTF8 { bytes in
            out.append(UnsafeRawBufferPointer(bytes))
            for b in bytes where !ASCII.isTchar(b) { return false }
            return !bytes.isEmpty
        }
        out.append(": " as StaticString)
        let valueOK = value.withUTF8 { bytes in
            out.append(UnsafeRawBufferPointer(bytes))
            for b in bytes where b == ASCII.cr || b == ASCII.lf || b == 0 { return false }
            return true
        }
        if !(nameOK && valueOK) { out.truncate(to: mark) }
    }
}

// MARK: - Request ids

extension EventLoop {
    /// The client's `X-Request-Id` when it is 1 to 64 letters, digits and `-._:`, so that it
    /// goes into the answer and the access log as it is; otherwise one is made up when the
    /// answer is written.
    func takeRequestID(_ connection: Connection, _ headers: HeaderFields) {
        connection.requestIDLength = headers.withFirstValue(lowercase: "x-request-id") { value in
            guard let value, let base = value.baseAddress, (1...64).contains(value.count), value.allSatisfy(Self.isRequestIDByte) else { return 0 }
            connection.requestID.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: base, count: value.count) }
            return value.count
        }
    }

    private static func isRequestIDByte(_ b: UInt8) -> Bool {
        let lower = ASCII.lower(b)
        return (b >= 0x30 && b <= 0x39) || (lower >= 0x61 && lower <= 0x7A) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: ":")
    }

    /// 16 hex digits: the next of the loop's sequence through SplitMix64's mix, a bijection,
    /// so no two ids a loop makes are the same.
    func makeRequestID(_ connection: Connection) {
        requestIDState &+= 0x9E37_79B9_7F4A_7C15
        var z = requestIDState
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let digits = ("0123456789abcdef" as StaticString).utf8Start
        connection.requestID.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            for i in 0..<16 { out[i] = digits[Int((z >> UInt64(60 - 4 * i)) & 0xF)] }
        }
        connection.requestIDLength = 16
    }
}
