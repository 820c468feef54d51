import Foundation
import HushCore
import HushHTTP
import HushLog
#if canImport(Glibc)
import Glibc
#endif

/// hush's own log: one JSON line on standard error for each answer (the access log) and for
/// each event an operator should know of (start, drain, stop, problems). The lines go through
/// the decision log's stream writer: each event loop appends to a buffer of its own and one
/// thread writes them out, a turn's lines in one write, so that no loop waits on a slow
/// terminal or collector, and lines from several threads never interleave. When a buffer is
/// full, lines are dropped and counted (`/metrics`), never waited for.
///
///     {"time":"2026-12-03T09:12:01.123Z","level":"info","event":"request","method":"POST",
///      "route":"/v1/decisions","status":200,"duration_us":153,"bytes_in":98,"bytes_out":412,
///      "request_id":"4f1c2a9e0b7d3e55","key":"marketing"}
///     {"time":"…","level":"info","event":"draining","message":"…"}
///
/// No line holds a customer id, an address or an API key: the route is the template
/// (`/v1/customers/{id}`), never the path, and the caller is the key's name.
public final class ServiceLog: Sendable {
    public typealias Level = Config.LogSettings.Level
    let level: Level
    let access: Config.LogSettings.Access
    private let lines: DecisionLog
    private let loops: [LoopLines]
    /// The buffer of lines from threads other than the loops (one lock, rarely taken): the
    /// first, which the writer drains first, so that the start line comes before any answer's.
    private let others = 0
    private let routeNames: [String]
    private let output: Int32
    private let sampledRoutes: [Bool]

    /// `routes`: the templates by route index; `sampled`: by route index, whether it is a
    /// decision, whose successful answers a sampling rate thins out.
    public init(settings: Config.LogSettings, loops: Int, routes: [String], sampled: [Bool],
                output: Int32 = STDERR_FILENO) throws {
        level = settings.level
        access = settings.access
        var options = DecisionLog.Options()
        options.sink = .stdout
        options.output = output
        options.whenFull = .drop
        options.loops = loops + 1
        options.bufferBytes = 1 << 20
        lines = try DecisionLog(options: options)
        self.loops = (0..<loops).map { _ in LoopLines() }
        routeNames = routes
        sampledRoutes = sampled
        self.output = output
    }

    /// Lines dropped because a buffer was full or standard error could not be written.
    public var dropped: Int { lines.stats.dropped }

    /// Writes what is buffered and stops the writer; later lines go straight to the output.
    public func close() { lines.close() }

    /// Whether a message of `level` is written.
    public func enabled(_ level: Level) -> Bool { level <= self.level }

    /// A message, from any thread. Lines of one thread keep their order; `ordered` also puts
    /// it after every line the loops appended before (it waits for the writer): for the few
    /// messages, such as the drain's, that an operator reads against the answers around them.
    public func message(_ level: Level, _ event: StaticString, _ text: String, ordered: Bool = false) {
        guard enabled(level) else { return }
        if ordered { lines.flush() }
        let line = Self.line(level, event, text)
        let appended = line.withUnsafeBytes { bytes in
            // The log adds the newline itself.
            lines.append(loop: others, ms: 0, customer: 0, address: 0, line: UnsafeRawBufferPointer(rebasing: bytes.dropLast()))
        }
        if appended == .recorded { return }
        // The writer has stopped (shutdown) or its buffer is full: straight out, whole.
        _ = line.withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
    }

    /// A message's line, newline included: for the log, and for what is written before it
    /// exists (a start-up that fails).
    public static func line(_ level: Level, _ event: StaticString, _ text: String) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.objectStart()
        w.key("time"); w.timeMillis(Date())
        w.key("level"); w.string(level.rawValue)
        w.key("event"); w.string(event.description)
        w.key("message"); w.string(text)
        w.objectEnd()
        return w.bytes + [0x0A]
    }

    /// The access-log line of one answer, on its loop's thread.
    func answered(_ answer: borrowing Answered) {
        let keep: Bool
        switch access {
        case .off: return
        case .all: keep = true
        case .errors: keep = answer.status >= 400
        case .sampled(let rate):
            let isDecision = answer.route.map { $0 < sampledRoutes.count && sampledRoutes[$0] } ?? false
            keep = !isDecision || !(200..<300).contains(answer.status) || loops[answer.loop % loops.count].sample(rate)
        }
        guard keep else { return }
        let loop = loops[answer.loop % loops.count]
        loop.render { w in
            w.reset()
            w.objectStart()
            w.key("time"); w.timeMillis(Date())
            w.key("level"); w.string(answer.status >= 500 ? "error" : answer.status >= 400 ? "warn" : "info")
            w.key("event"); w.string("request")
            w.key("method")
            if let method = answer.method { w.string(method.description) } else { w.null() }
            w.key("route")
            if let route = answer.route, route < routeNames.count { w.string(routeNames[route]) } else { w.null() }
            w.key("status"); w.integer(answer.status)
            w.key("duration_us"); w.integer(answer.nanoseconds / 1000)
            w.key("bytes_in"); w.integer(answer.bytesIn)
            w.key("bytes_out"); w.integer(answer.bytesOut)
            // The id is letters, digits and -._: (the server checked): no escape needed.
            w.key("request_id"); w.string { $0(answer.requestID.assumingMemoryBound(to: UInt8.self)) }
            w.key("key")
            if let principal = answer.principal { w.string(principal) } else { w.null() }
            w.objectEnd()
            w.withBytes { line in _ = lines.append(loop: 1 + answer.loop % loops.count, ms: 0, customer: 0, address: 0, line: line) }
        }
    }
}

/// A loop's line writer and sampling state, touched only on that loop's thread.
private final class LoopLines: @unchecked Sendable {
    private var writer = JSONWriter(capacity: 512)
    private var state = UInt64.random(in: 1...UInt64.max)

    func render(_ body: (inout JSONWriter) -> Void) { body(&writer) }

    /// True with probability `rate` (xorshift64*).
    func sample(_ rate: Double) -> Bool {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        let r = state &* 0x2545_F491_4F6C_DD1D
        return Double(r >> 11) * 0x1p-53 < rate
    }
}
