import Foundation
import Glibc

/// The file sink's background work, on a thread of its own so that the writer never waits for
/// it: writing the index of segments the writer closed, rewriting segments for erasures, and
/// deleting by retention.
final class Maintenance: @unchecked Sendable {
    enum Job: Equatable {
        /// Write the index of a segment whose last frame ended and was synced.
        case close(SegmentName)
        /// Remove the lines naming a subject (a customer or address hash, in hex) from every closed segment.
        case erase(String)
    }

    /// The erasures not yet carried out, one hash a line, kept until every segment was rewritten.
    static let pendingFile = "erasures.pending"

    let directory: String
    let retentionDays: Int
    let maxBytes: Int
    let clock: @Sendable () -> UInt64
    weak var log: DecisionLog?
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var stopping = false
    private var busy = false
    private let done = DispatchSemaphore(value: 0)
    private var started = false

    init(directory: String, retentionDays: Int, maxBytes: Int, clock: @escaping @Sendable () -> UInt64,
         report: @escaping @Sendable (String) -> Void) {
        self.report = report
        self.directory = directory
        self.retentionDays = retentionDays
        self.maxBytes = maxBytes
        self.clock = clock
    }

    func start() {
        started = true
        startThread(named: "hush-log-maint") { [self] in run() }
    }

    func enqueue(_ job: Job) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Returns once every queued job is done (tests and tools).
    func waitUntilIdle(seconds: Double = 30) {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        while (!jobs.isEmpty || busy) && condition.wait(until: deadline) {}
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        if started { done.wait() }
    }

    /// Segments that may wait to be closed at idle priority.
    static let maxWaitingCloses = 2

    /// Linux's SCHED_IDLE (sched.h defines it only under _GNU_SOURCE).
    private static let schedIdle: Int32 = 5

    private func run() {
        // Indexes and rewrites are work that can wait: at idle priority they take no time from
        // answering, and catch up when the loops leave the CPU (segments waiting for their index
        // stay searchable from memory meanwhile).
        // More than `maxWaitingCloses` segments waiting (each keeps its line table in memory)
        // and it runs at normal priority until they are closed, where Linux lets a thread leave
        // SCHED_IDLE (as root, or with an RLIMIT_NICE that allows nice 0; else it stays idle).
        var idle = false
        func prioritise(backlog: Int) {
            let wantIdle = backlog <= Self.maxWaitingCloses
            guard wantIdle != idle else { return }
            var parameters = sched_param()
            _ = pthread_setschedparam(pthread_self(), wantIdle ? Self.schedIdle : SCHED_OTHER, &parameters)
            idle = wantIdle
        }
        prioritise(backlog: 0)
        var lastRetention = ContinuousClock.now - .seconds(3600)
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping && ContinuousClock.now - lastRetention < .seconds(60) {
                _ = condition.wait(until: Date().addingTimeInterval(1))
            }
            if stopping { condition.unlock(); break }
            let job = jobs.isEmpty ? nil : jobs.removeFirst()
            let backlog = jobs.reduce(0) { if case .close = $1 { $0 + 1 } else { $0 } }
            busy = true
            condition.unlock()
            prioritise(backlog: backlog)
            if let job { perform(job) }
            if job == nil || ContinuousClock.now - lastRetention >= .seconds(60) {
                applyRetention()
                lastRetention = ContinuousClock.now
            }
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
        done.signal()
    }

    /// Where problems are reported (`DecisionLog.Options.report`).
    private let report: @Sendable (String) -> Void

    func perform(_ job: Job) {
        guard let log else { return }
        switch job {
        case .close(let name):
            do throws(LogError) {
                try close(name)
            } catch {
                // The segment stays searchable from memory; the next start rebuilds its index.
                report("cannot write the index of \(name.compressed): \(error.message)")
            }
            applyRetention()
        case .erase(let hex):
            guard let hash = DecisionLog.hash64(hex) else { return }
            let hexBytes = Array(hex.utf8)
            let segments = log.state.withLock { Array($0.closed.values) }
            var failed = false
            for segment in segments where (try? segment.mayHold(subject: hash)) != false {
                do throws(LogError) {
                    _ = try ClosedSegment.rewrite(name: segment.name, directory: directory) { !LineFacts.names($0, hexBytes) }
                    let reopened = try? ClosedSegment(name: segment.name, directory: directory)
                    log.state.withLock { $0.closed[segment.name] = reopened }
                } catch {
                    failed = true
                    report("cannot rewrite \(segment.name.compressed) for an erasure: \(error.message)")
                }
            }
            // A segment that could not be closed may still hold the lines: the erasure stays
            // pending, and the next start repairs the segment and tries again.
            let unclosed = log.state.withLock { state in state.open.values.contains { $0.mayHold(hash) } }
            guard !failed, !unclosed else { return }
            do throws(LogError) {
                try log.state.withLock { (state) throws(LogError) in
                    state.pendingErasures.removeAll { $0 == hex }
                    try File.replace(directory + "/" + Self.pendingFile, with: Array(state.pendingErasures.map { $0 + "\n" }.joined().utf8))
                }
            } catch {
                report(error.message)
            }
        }
    }

    /// Writes the index of a segment the writer closed, from its table in memory, and publishes
    /// it as closed.
    private func close(_ name: SegmentName) throws(LogError) {
        guard let log, let table = log.state.withLock({ $0.open[name] }) else { return }
        guard table.current == nil else { throw LogError("its last frame was not ended") }
        let indexPath = directory + "/" + name.index
        try File.replace(indexPath, with: SegmentIndex.encode(lines: table.lines, blocks: table.blocks, customers: table.customers))
        File.syncDirectory(directory)
        let closed = try ClosedSegment(name: name, directory: directory)
        log.state.withLock { state in
            state.closed[name] = closed
            state.open[name] = nil
        }
    }

    /// Deletes closed segments whose newest line is older than `retentionDays`, then the oldest
    /// ones while the log takes more than `maxBytes`. The open segment is never deleted.
    func applyRetention() {
        guard let log else { return }
        let cutoff = clock() &- UInt64(retentionDays) * 86_400_000
        let (expired, bySize): ([ClosedSegment], [ClosedSegment]) = log.state.withLock { state in
            let sorted = state.closed.values.sorted { $0.name < $1.name }
            let expired = sorted.filter { $0.maxMs < cutoff }
            var total = state.closed.values.reduce(0) { $0 + $1.bytes } + state.open.values.reduce(0) { $0 + Int($1.bytes) }
            var bySize: [ClosedSegment] = []
            for segment in sorted {
                total -= expired.contains { $0.name == segment.name } ? segment.bytes : 0
            }
            for segment in sorted where !expired.contains(where: { $0.name == segment.name }) {
                guard total > maxBytes else { break }
                bySize.append(segment)
                total -= segment.bytes
            }
            return (expired, bySize)
        }
        for segment in expired + bySize {
            log.state.withLock { _ = $0.closed.removeValue(forKey: segment.name) }
            unlink(segment.compressedPath)
            unlink(segment.indexPath)
        }
        if !(expired + bySize).isEmpty { File.syncDirectory(directory) }
    }
}
