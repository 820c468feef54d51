import Foundation
import HushCore
import HushPostgres
import HushStore
import Synchronization

/// The store of a hush node when several share PostgreSQL: writes go to the primary (a few
/// writer threads, each with its own connection, so that one slow commit does not hold up the
/// rest), and decisions and reads come from the node's SQLite image, which an `ImageFollower`
/// keeps current from the primary's logical replication. A write is acknowledged only after it
/// committed on the primary (and, with a synchronous standby, on a second machine) and the image
/// applied it: a decision on this node after the answer sees the write.
public final class PostgresStore: FactStore, @unchecked Sendable {
    public struct Options: Sendable {
        /// A libpq connection string or URL; several hosts with `target_session_attrs=read-write`.
        public var url: String
        /// This node's replication slot: one per node, kept across restarts.
        public var slot: String
        /// Connections that run writes at once.
        public var writers = 8
        /// Writes waiting for a writer; past it a write is refused at once (unavailable).
        public var maxQueuedWrites = 10_000
        /// The image may be this far behind the primary (seconds) before decisions fail closed.
        public var maxLag = 1.0
        /// How long a write waits for this node's image to apply it before answering unavailable.
        public var applyTimeout = 5.0
        /// How long a write keeps trying to reach a primary (a failover) before answering unavailable.
        public var failoverWait = 15.0
        /// A node not seen for this long (seconds) loses its slot, dropped by the others.
        public var dropIdleSlotAfter = 600.0
        /// Told why the stream failed, each time it does (hush's own log).
        public var report: (@Sendable (String) -> Void)?
        /// Told what the node did that an operator may want to know: a new image loaded, with
        /// how long it took; a gone node's slot dropped.
        public var inform: (@Sendable (String) -> Void)?
        /// Given the decision-log subjects each erasure (through any node) made unreachable.
        public var onLogErasure: (@Sendable ([String]) -> Void)?

        public init(url: String, slot: String) {
            self.url = url
            self.slot = slot
        }
    }

    public let options: Options
    /// The node's SQLite image: what decisions and reads use.
    public let image: SQLiteStore
    public let follower: ImageFollower
    private let queue: WriteQueue
    private var threads: [Thread] = []
    private let stopped = DispatchSemaphore(value: 0)
    private let clock: @Sendable () -> Date
    private let renderHistory: HistoryRenderer
    private let stats = Mutex(WriterReport())
    private let retention = Mutex<Retention?>(nil)
    /// `options.maxLag` in milliseconds.
    private let maxLagMillis: Int64

    /// Applies PostgreSQL's migrations, opens the image at `imagePath` and starts following and
    /// writing. Throws `.unavailable` with a one-line reason when PostgreSQL cannot be reached or
    /// its schema is newer than this hush.
    ///
    /// `retention`, when given, prunes the primary on its schedule (every node does; a row goes once).
    public init(options: Options, imagePath: String, lookback: TimeInterval, clock: @escaping @Sendable () -> Date = { Date() },
                tombstoneHash: @escaping @Sendable (Subject) -> [UInt8], renderHistory: @escaping HistoryRenderer,
                retention: RetentionPolicy? = nil) throws(StoreError) {
        self.options = options
        self.clock = clock
        self.renderHistory = renderHistory
        maxLagMillis = Int64(options.maxLag * 1000)
        do {
            _ = try PGMigrations.apply(to: PGConnection(options.url))
        } catch {
            throw StoreError(kind: .unavailable, message: "PostgreSQL (store.postgres.url): \(error.message)")
        }
        image = try SQLiteStore(path: imagePath, lookback: lookback, clock: clock, tombstoneHash: tombstoneHash, renderHistory: renderHistory)
        do {
            follower = try ImageFollower(store: image, conninfo: options.url, slot: options.slot, pingInterval: options.maxLag / 5,
                                     dropIdleSlotAfter: options.dropIdleSlotAfter, report: options.report, inform: options.inform,
                                     onLogErasure: options.onLogErasure)
        } catch {
            image.close()
            throw StoreError(kind: .unavailable, message: "store.postgres.slot: \(error.message)")
        }
        queue = WriteQueue(limit: options.maxQueuedWrites)
        follower.start()
        for index in 0..<max(1, options.writers) {
            let thread = Thread { [self] in
                var db: PGConnection?
                while let job = queue.take() { job(&db) }
                stopped.signal()
            }
            thread.name = "hush-pg-writer-\(index)"
            threads.append(thread)
            thread.start()
        }
        if let retention {
            let expiredAfter = TimeInterval(retention.expiredDays) * 86_400
            let runner = Retention(policy: retention) { [self] done in
                write(as: Retention.actor, { (w: any StoreTransaction) throws(StoreError) -> PruneCounts in
                    guard let transaction = w as? PGTransaction else { return PruneCounts() }
                    return try transaction.prune(now: clock(), lookback: lookback, expiredAfter: expiredAfter, limit: retention.rowsPerJob)
                }, committed: { result, _ in
                    // A failed prune (the primary gone) is tried again at the next interval.
                    if case .success(let removed) = result { done(removed) }
                })
            }
            self.retention.withLock { $0 = runner }
        }
    }

    public func makeReader() throws(StoreError) -> any StoreReader { try image.makeReader() }

    public var holds: [Hold] { image.holds }

    public var holdsGeneration: UInt64 { image.holdsGeneration }

    public var writerQueueDepth: Int { queue.depth }

    /// What this node's retention removed from the primary since it started.
    public var pruned: PruneCounts { retention.withLock { $0 }?.removed ?? PruneCounts() }

    public var writerReport: WriterReport { stats.withLock { $0 } }

    public func write<T>(as actor: Actor, _ job: @escaping (any StoreTransaction) throws(StoreError) -> T,
                         completion: @escaping (Result<T, StoreError>) -> Void) {
        write(as: actor, job) { result, _ in completion(result) }
    }

    public func write<T>(as actor: Actor, _ job: @escaping (any StoreTransaction) throws(StoreError) -> T,
                         committed: @escaping (Result<T, StoreError>, ConsistencyToken?) -> Void) {
        let accepted = queue.push { [self] db in execute(actor, job, db: &db, committed) }
        if !accepted {
            committed(.failure(StoreError(kind: .unavailable, message: "\(options.maxQueuedWrites) writes are waiting for PostgreSQL")), nil)
        }
    }

    public func writeAndWait<T>(as actor: Actor, _ job: @escaping (any StoreTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<T, StoreError>?
        write(as: actor, job) { result, _ in
            outcome = result
            done.signal()
        }
        done.wait()
        return try outcome!.get()
    }

    public func whenCurrent(through token: ConsistencyToken, timeout: Double, _ done: @escaping @Sendable (Bool) -> Void) {
        follower.waiters.wait(position: LSN(token.value), timeout: timeout) { done($0 != nil) }
    }

    public func isCurrent(through token: ConsistencyToken) -> Bool {
        follower.waiters.applied.map { $0.value >= token.value } ?? false
    }

    public func staleness(now: Date) -> String? {
        guard let lag = follower.lag(now: now) else { return "this node's copy of the data is still being loaded" }
        guard lag * 1000 > Double(maxLagMillis) else { return nil }
        return "this node's copy of the data is \(Int(lag * 1000)) ms behind the primary (store.max_lag_ms \(maxLagMillis))"
    }

    public var replicaReport: ReplicaReport? {
        let status = follower.status
        var report = ReplicaReport(lagSeconds: follower.lag(), applied: status.applied.map { ConsistencyToken($0.value) }, snapshots: status.snapshots,
                                   failure: status.failure, waiting: follower.waiters.count)
        report.applyLag = status.applyLag
        report.applyLagSum = status.applyLagSum
        return report
    }

    public func close() {
        retention.withLock { $0 }?.stop()
        queue.stop()
        for _ in threads { stopped.wait() }
        follower.stop()
        image.close()
    }

    // MARK: Running a write

    /// Runs `job` on the primary until it commits, fails for good, or no primary answers within
    /// `failoverWait`. A job that failed before its commit (a lost connection, a conflict between
    /// transactions, a server that turned read-only mid-failover) runs again; one whose commit
    /// was cut off is not, since it may have committed: it answers unavailable instead, so that
    /// nothing unacknowledged is written twice.
    private func execute<T>(_ actor: Actor, _ job: (any StoreTransaction) throws(StoreError) -> T, db: inout PGConnection?,
                            _ committed: @escaping (Result<T, StoreError>, ConsistencyToken?) -> Void) {
        let deadline = Date().addingTimeInterval(options.failoverWait)
        var lastFailure = "no attempt"
        while true {
            if db == nil {
                do { db = try PGConnection(options.url) } catch { lastFailure = error.message }
            }
            if let connection = db {
                switch attempt(actor, job, connection, committed) {
                case .finished: return
                case .finishedDroppingConnection:
                    db = nil
                    return
                case .again(let reconnect, let reason):
                    lastFailure = reason
                    if reconnect { db = nil }
                }
            }
            guard Date() < deadline else {
                committed(.failure(StoreError(kind: .unavailable, message: "no PostgreSQL primary took the write within \(Int(options.failoverWait)) s: \(lastFailure)")), nil)
                return
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    /// What became of one attempt: answered (keeping the connection, or dropping it when its
    /// state is unknown), or to be run again.
    private enum Attempt { case finished, finishedDroppingConnection, again(reconnect: Bool, reason: String) }

    /// A job's value and its completion, handed to whichever thread sees the image apply the write.
    private struct Reply<T>: @unchecked Sendable {
        let value: T
        let committed: (Result<T, StoreError>, ConsistencyToken?) -> Void
    }

    private func attempt<T>(_ actor: Actor, _ job: (any StoreTransaction) throws(StoreError) -> T, _ db: PGConnection,
                            _ committed: @escaping (Result<T, StoreError>, ConsistencyToken?) -> Void) -> Attempt {
        func again(_ error: PGError) -> Attempt? {
            if error.isConnectionLost || error.sqlState == "25006" { return .again(reconnect: true, reason: error.message) }
            if error.isTransient { return .again(reconnect: false, reason: error.message) }
            return nil
        }
        let started = Date()
        do throws(PGError) { try db.execute("BEGIN") } catch { return again(error) ?? .again(reconnect: true, reason: error.message) }
        let transaction = PGTransaction(db: db, actor: actor, clock: clock, renderHistory: renderHistory)
        let value: T
        do {
            value = try job(transaction)
        } catch {
            try? db.execute("ROLLBACK")
            if let failure = transaction.failure, let retry = again(failure) { return retry }
            committed(.failure(error), nil)
            return .finished
        }
        if transaction.discard || transaction.changed == 0 {
            do throws(PGError) { try db.execute("ROLLBACK") } catch { return again(error) ?? .again(reconnect: true, reason: error.message) }
            committed(.success(value), follower.waiters.applied.map { ConsistencyToken($0.value) })
            return .finished
        }
        // In one round trip: the transaction's id (which the stream names at its begin: the
        // image has the write once it applied that transaction), the commit, and a position at
        // or after it (an image that loads a new snapshot instead of streaming the transaction
        // has it once it is that far).
        let results: [PGRows]
        do throws(PGError) {
            results = try db.batch("SELECT pg_current_xact_id_if_assigned()::text; COMMIT; SELECT pg_current_wal_lsn()::text")
        } catch {
            if error.isConnectionLost {
                // The commit may or may not have happened: answered, not tried again.
                committed(.failure(StoreError(kind: .unavailable, message: "the connection to PostgreSQL was lost during the commit; the write may or may not have been made")), nil)
                return .finishedDroppingConnection
            }
            try? db.execute("ROLLBACK")
            if let retry = again(error) { return retry }
            committed(.failure(PGTransaction.storeError(error)), nil)
            return .finished
        }
        record(commitSeconds: Date().timeIntervalSince(started))
        guard results.count == 3, let full = (results[0].rows.first?.first ?? nil).flatMap({ UInt64($0) }) else {
            // Rows changed without a transaction id: nothing was written after all.
            committed(.success(value), follower.waiters.applied.map { ConsistencyToken($0.value) })
            return .finished
        }
        // A large transaction (an import) takes the image longer to apply: a second more for
        // every 10,000 rows it changed.
        let timeout = options.applyTimeout + Double(transaction.changed) / 10_000
        let reply = Reply(value: value, committed: committed)
        let handle = follower.waiters.wait(xid: UInt32(truncatingIfNeeded: full), timeout: timeout) { end in
            guard let end else {
                reply.committed(.failure(StoreError(kind: .unavailable, message: "the write committed on PostgreSQL but this node's copy did not apply it within \(Int(timeout * 1000)) ms")), nil)
                return
            }
            reply.committed(.success(reply.value), ConsistencyToken(end.value))
        }
        if let text = results[2].rows.first?.first ?? nil, let position = LSN(text) {
            follower.waiters.add(position: position, to: handle)
        }
        if transaction.erased { vacuumAfterErasure(db) }
        return .finished
    }

    /// Vacuums the tables an erasure deleted from, so that the erased rows' dead versions go now
    /// rather than at the next autovacuum (README, "Erasure on PostgreSQL").
    private func vacuumAfterErasure(_ db: PGConnection) {
        try? db.execute("VACUUM profiles, cases, suppressions, contacts, interactions, history")
    }

    private func record(commitSeconds: Double) {
        stats.withLock { report in
            report.commits += 1
            report.commitSeconds += commitSeconds
            let bucket = WriterReport.bounds.firstIndex { commitSeconds <= $0 } ?? WriterReport.bounds.count
            report.buckets[bucket] += 1
        }
    }
}

/// Jobs for the writer threads: first in, first out, bounded; `take` blocks until there is one
/// or the queue stopped and is empty.
final class WriteQueue: @unchecked Sendable {
    typealias Job = (inout PGConnection?) -> Void
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var stopping = false
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - head
    }

    /// False when the queue is full or stopped.
    func push(_ job: @escaping Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, jobs.count - head < limit else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    func take() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count {
            if stopping { return nil }
            condition.wait()
        }
        let job = jobs[head]
        head += 1
        if head > 1024, head * 2 > jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }
}
