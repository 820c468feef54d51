import HushCore
import HushLog
import HushStore
import Synchronization

/// Counters for `GET /metrics` (Prometheus text format 0.0.4). Every counter is an atomic in
/// a table sized at start, so that recording takes no lock and allocates nothing. Each event
/// loop counts its requests and decisions in a tally of its own (another for every other
/// thread), so that loops on different cores never write the same cache line; `/metrics` adds
/// the tallies up.
final class Metrics: Sendable {
    /// The statuses counted by name; any other is counted as `other`.
    static let statuses = [200, 201, 400, 401, 403, 404, 405, 408, 409, 413, 414, 415, 431, 500, 501, 503, 505]
    /// Request duration buckets, in seconds (upper bounds).
    static let buckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    static let maxRoutes = 64
    /// Route names by index, set once the router is built.
    private let routes = Mutex<[String]>([])
    /// One for each loop, then one for every other thread.
    private let tallies: [Tally]
    let storeErrors = Counter()

    final class Counter: Sendable {
        private let value = Atomic<UInt64>(0)
        func add(_ n: UInt64 = 1) { value.add(n, ordering: .relaxed) }
        var current: UInt64 { value.load(ordering: .relaxed) }
    }

    /// What one loop counts: every counter in one block of atomics, at the slots `Metrics`
    /// lays out, so that counting a request retains nothing but the tally.
    final class Tally: @unchecked Sendable {
        // Unchecked: the block is only read and written through its atomics, and freed with the tally.
        private let block: UnsafeMutablePointer<Atomic<UInt64>>
        private let count: Int

        init(slots: Int) {
            count = slots
            block = .allocate(capacity: slots)
            for i in 0..<slots { (block + i).initialize(to: Atomic(0)) }
        }

        deinit {
            block.deinitialize(count: count)
            block.deallocate()
        }

        @inline(__always) func add(_ slot: Int, _ n: UInt64 = 1) {
            precondition(slot >= 0 && slot < count, "no such counter")
            block[slot].add(n, ordering: .relaxed)
        }

        func current(_ slot: Int) -> UInt64 {
            precondition(slot >= 0 && slot < count, "no such counter")
            return block[slot].load(ordering: .relaxed)
        }
    }

    /// A tally's slots: requests by route (the last is "no route") and status (the last is
    /// "other"), then the duration buckets, the count and sum of durations, the allowed and
    /// suppressed decisions, and the reasons by rank.
    private let columns: Int
    private let bucketSlot, durationCountSlot, durationSumSlot, allowedSlot, suppressedSlot, reasonSlot: Int

    init(loops: Int) {
        columns = Self.statuses.count + 1
        bucketSlot = (Self.maxRoutes + 1) * columns
        durationCountSlot = bucketSlot + Self.buckets.count
        durationSumSlot = durationCountSlot + 1
        allowedSlot = durationSumSlot + 1
        suppressedSlot = allowedSlot + 1
        reasonSlot = suppressedSlot + 1
        let slots = reasonSlot + ReasonCode.allCases.count
        tallies = (0...max(1, loops)).map { _ in Tally(slots: slots) }
    }

    func name(routes: [String]) { self.routes.withLock { $0 = routes } }

    /// The bucket bounds in nanoseconds, and each status's column, worked out once.
    private let bucketNanos = Metrics.buckets.map { UInt64($0 * 1e9) }
    private let statusColumn: [Int] = (0..<600).map { Metrics.statuses.firstIndex(of: $0) ?? Metrics.statuses.count }

    /// The tally of `loop`; nil (or a loop past those counted) is any other thread's.
    private func tally(_ loop: Int?) -> Tally {
        guard let loop, loop >= 0, loop < tallies.count - 1 else { return tallies[tallies.count - 1] }
        return tallies[loop]
    }

    func request(loop: Int?, route: Int?, status: Int, nanoseconds: UInt64) {
        let tally = tally(loop)
        let row = route.map { min($0, Self.maxRoutes) } ?? Self.maxRoutes
        let column = status >= 0 && status < statusColumn.count ? statusColumn[status] : Self.statuses.count
        tally.add(row * columns + column)
        tally.add(durationCountSlot)
        tally.add(durationSumSlot, nanoseconds)
        for (bucket, bound) in bucketNanos.enumerated() where nanoseconds <= bound {
            tally.add(bucketSlot + bucket)
            return
        }
    }

    func decision(_ decision: Decision, loop: Int?) {
        let tally = tally(loop)
        if decision.allowed {
            tally.add(allowedSlot)
            return
        }
        tally.add(suppressedSlot)
        let reasons = reasonSlot
        for reason in decision.reasons { tally.add(reasons + reason.code.rank) }
    }

    /// A counter's total over every tally.
    private func total(_ slot: Int) -> UInt64 { tallies.reduce(0) { $0 + $1.current(slot) } }

    /// The exposition text. `openConnections` and `writerQueueDepth` are gauges read now.
    func render(openConnections: Int, writerQueueDepth: Int, log: DecisionLog.Stats, process: ProcessGauges = ProcessGauges()) -> String {
        let routes = self.routes.withLock { $0 }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        /// A family of one value.
        func one(_ name: String, _ type: String, _ help: String, _ value: String) {
            family(name, type, help)
            out += "\(name) \(value)\n"
        }
        /// A histogram's lines from counts per bucket (not cumulative; one for each bound, any
        /// more ignored), the count of all, and the sum.
        func histogram(_ name: String, _ help: String, _ bounds: [Double], _ counts: [UInt64], total: UInt64, sum: Double) {
            family(name, "histogram", help)
            var cumulative: UInt64 = 0
            for (i, bound) in bounds.enumerated() {
                cumulative += i < counts.count ? counts[i] : 0
                out += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "\(name)_bucket{le=\"+Inf\"} \(total)\n\(name)_sum \(sum)\n\(name)_count \(total)\n"
        }
        family("hush_build_info", "gauge", "The running build: hush's version and the SQLite library's.")
        out += "hush_build_info{version=\"\(Hush.version)\",sqlite=\"\(SQLiteLibrary.version)\"} 1\n"
        family("hush_database_bytes", "gauge", "Size on disk of the database file and of its write-ahead log.")
        out += "hush_database_bytes{file=\"database\"} \(process.databaseBytes)\n"
        out += "hush_database_bytes{file=\"wal\"} \(process.walBytes)\n"
        one("hush_log_lines_dropped_total", "counter", "Lines of hush's own log (access log and messages) dropped because standard error could not keep up.", "\(process.logLinesDropped)")
        family("hush_rows_pruned_total", "counter", "Rows retention removed: contacts and interactions past the longest window, expired suppressions and ended holds past retention.expired_days.")
        out += "hush_rows_pruned_total{table=\"contacts\"} \(process.pruned.contacts)\n"
        out += "hush_rows_pruned_total{table=\"interactions\"} \(process.pruned.interactions)\n"
        out += "hush_rows_pruned_total{table=\"suppressions\"} \(process.pruned.suppressions)\n"
        out += "hush_rows_pruned_total{table=\"holds\"} \(process.pruned.holds)\n"
        histogram("hush_writer_commit_seconds", "Time from a write transaction's BEGIN to its COMMIT on disk (synchronous=FULL).",
                  WriterReport.bounds, process.writer.buckets, total: process.writer.commits,
                  sum: process.writer.commitSeconds)
        one("hush_wal_checkpoints_total", "counter", "Checkpoints of the write-ahead log into the database file.", "\(process.writer.checkpoints)")
        one("hush_wal_last_checkpoint_timestamp_seconds", "gauge", "When the last checkpoint ran (Unix time; 0: none since start).", "\(Int(process.writer.lastCheckpoint?.timeIntervalSince1970 ?? 0))")
        if let replica = process.replica {
            one("hush_replica_lag_seconds", "gauge", "How far behind the PostgreSQL primary this node's image may be (-1 until known).", "\(replica.lagSeconds ?? -1)")
            one("hush_replica_snapshots_total", "counter", "Snapshots the image loaded (more than one: reloaded after a failover).", "\(replica.snapshots)")
            one("hush_replica_waiting", "gauge", "Writes and requests waiting for the image to apply a transaction.", "\(replica.waiting)")
            histogram("hush_replica_apply_lag_seconds", "From a transaction's commit on the primary to its being applied in this node's image.",
                      ReplicaReport.applyLagBounds, replica.applyLag, total: replica.applyLag.reduce(0, +),
                      sum: replica.applyLagSum)
            one("hush_replica_streaming", "gauge", "1 while the image follows the primary's stream, 0 while it cannot.", "\(replica.failure == nil ? 1 : 0)")
        }
        family("hush_http_requests_total", "counter", "HTTP answers by route and status.")
        for r in 0...Self.maxRoutes {
            let route = r < routes.count ? routes[r] : r < Self.maxRoutes ? "route \(r)" : "none"
            for s in 0...Self.statuses.count {
                let count = total(r * columns + s)
                guard count > 0 else { continue }
                let status = s < Self.statuses.count ? String(Self.statuses[s]) : "other"
                out += "hush_http_requests_total{route=\"\(route)\",status=\"\(status)\"} \(count)\n"
            }
        }
        histogram("hush_http_request_duration_seconds", "Time from a request's head to its answer.",
                  Self.buckets, Self.buckets.indices.map { b in total(bucketSlot + b) },
                  total: total(durationCountSlot), sum: Double(total(durationSumSlot)) / 1e9)
        family("hush_decisions_total", "counter", "Decisions by outcome.")
        out += "hush_decisions_total{decision=\"allow\"} \(total(allowedSlot))\n"
        out += "hush_decisions_total{decision=\"suppress\"} \(total(suppressedSlot))\n"
        family("hush_decision_reasons_total", "counter", "Reasons given in suppress decisions.")
        for code in ReasonCode.allCases {
            out += "hush_decision_reasons_total{reason=\"\(code.rawValue)\"} \(total(reasonSlot + code.rank))\n"
        }
        one("hush_open_connections", "gauge", "Connections open now.", "\(openConnections)")
        one("hush_store_errors_total", "counter", "Store failures (unavailable or internal).", "\(storeErrors.current)")
        one("hush_writer_queue_depth", "gauge", "Writes waiting for the writer.", "\(writerQueueDepth)")
        family("hush_decision_log_lines_total", "counter", "Decision log lines by what became of them: written, dropped (drop policy, or a sink that cannot write), refused (hold policy: the decision answered 503), erased (left out: their customer was erased while they waited).")
        out += "hush_decision_log_lines_total{outcome=\"written\"} \(log.written)\n"
        out += "hush_decision_log_lines_total{outcome=\"dropped\"} \(log.dropped)\n"
        out += "hush_decision_log_lines_total{outcome=\"refused\"} \(log.refused)\n"
        out += "hush_decision_log_lines_total{outcome=\"erased\"} \(log.erasedUnwritten)\n"
        one("hush_decision_log_bytes", "gauge", "Bytes the decision log's segments take on disk.", "\(log.bytes)")
        one("hush_decision_log_segments", "gauge", "Decision log segments kept.", "\(log.segments)")
        one("hush_decision_log_erasures_pending", "gauge", "Erasures whose log lines are not yet removed from every segment.", "\(log.pendingErasures)")
        one("hush_decision_log_failing", "gauge", "1 while the decision log's sink cannot write.", "\(log.failure == nil ? 0 : 1)")
        return out
    }
}

/// Gauges read from outside the counters when `/metrics` is asked.
struct ProcessGauges {
    var databaseBytes = 0, walBytes = 0, logLinesDropped = 0
    var pruned = PruneCounts()
    var writer = WriterReport()
    /// How current the node's copy of a replicated store is; nil for SQLite.
    var replica: ReplicaReport?
}
