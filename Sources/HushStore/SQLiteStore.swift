import Foundation
import HushCore
import Synchronization

/// The SQLite store behind one narrow interface: readers per thread, one writer, holds in memory.
public final class SQLiteStore: FactStore {
    public let path: String
    let holdCache: HoldCache
    let tombstones: TombstoneSet
    let commits: CommitCounter
    private let writer: Writer
    let recordKeyBits: Int
    private let retention = Mutex<Retention?>(nil)

    /// Opens (creating if missing) the database at `path`, applies migrations, loads the holds
    /// and tombstones, and starts the writer. `lookback` is the longest window decisions look
    /// back over (`Policy.longestWindow`): per-customer records keep contacts and interactions
    /// that far back, and are all rebuilt at start when it changed. Throws `.unavailable` with
    /// a one-line reason when it cannot.
    ///
    /// `clock` is the writer's "now", for trimming records (tests pin it). `maxQueuedWrites`
    /// bounds the writes waiting for the writer; past it a write fails at once as unavailable. `tombstoneHash` is
    /// the caller's keyed hash of an erased subject: the writer uses it to mark records of
    /// erased ids and addresses, so that decisions about known customers need no hashing.
    /// `renderHistory` renders records for the history of changes, as the API shows them.
    ///
    /// `retention`, when given, prunes what ages out (`RetentionPolicy`), at start and then on
    /// its schedule.
    ///
    /// `writerCacheKiB`, when given, is the writer connection's page cache (SQLite's default is
    /// 2,000 KiB). Writes that touch records all over a large file evict pages that the same
    /// transaction wrote and read them back from the WAL: generating 1,000,000 customers in jobs of
    /// 100,000 took 54 s with the default and 41 s with 256 MiB (`decisions-bench`). A sorted
    /// import gained nothing from it, so the service keeps the default.
    public convenience init(path: String, lookback: TimeInterval = Policy.standard.longestWindow,
                            clock: @escaping @Sendable () -> Date = { Date() }, maxQueuedWrites: Int = 100_000,
                            tombstoneHash: @escaping @Sendable (Subject) -> [UInt8],
                            renderHistory: @escaping HistoryRenderer, retention: RetentionPolicy? = nil,
                            writerCacheKiB: Int? = nil) throws(StoreError) {
        try self.init(path: path, lookback: lookback, clock: clock, maxQueuedWrites: maxQueuedWrites, tombstoneHash: tombstoneHash,
                      recordKeyBits: RecordKey.standardBits, renderHistory: renderHistory, writerCacheKiB: writerCacheKiB)
        if let retention { startRetention(retention, clock: clock) }
    }

    /// Queues prune jobs by `policy`, from now on.
    func startRetention(_ policy: RetentionPolicy, clock: @escaping @Sendable () -> Date) {
        let writer = self.writer
        let expiredAfter = TimeInterval(policy.expiredDays) * 86_400
        let runner = Retention(policy: policy) { done in
            writer.submit(Self.acting(Retention.actor) { (transaction: SQLiteTransaction) throws(StoreError) -> PruneCounts in
                try transaction.prune(now: clock(), expiredAfter: expiredAfter, limit: policy.rowsPerJob)
            }) { result in
                // A failed prune (a busy disk) is tried again at the next interval.
                if case .success(let removed) = result { done(removed) }
            }
        }
        retention.withLock { $0 = runner }
    }

    /// What retention has removed since the store opened.
    public var pruned: PruneCounts { retention.withLock { $0 }?.removed ?? PruneCounts() }

    /// `recordKeyBits`: the bits of `RecordKey` kept, fewer only in tests (to make ids share rows).
    init(path: String, lookback: TimeInterval, clock: @escaping @Sendable () -> Date, maxQueuedWrites: Int,
         tombstoneHash: @escaping @Sendable (Subject) -> [UInt8], recordKeyBits: Int,
         renderHistory: @escaping HistoryRenderer, writerCacheKiB: Int? = nil) throws(StoreError) {
        self.path = path
        self.recordKeyBits = recordKeyBits
        let cache = HoldCache(), tombstones = TombstoneSet(), commits = CommitCounter()
        holdCache = cache
        self.tombstones = tombstones
        self.commits = commits
        writer = try Writer(maxQueuedJobs: maxQueuedWrites, commits: commits) { () throws(StoreError) -> SQLiteTransaction in
            let database = try Database(path: path, mode: .readWrite)
            if let writerCacheKiB { try database.exec("PRAGMA cache_size=-\(max(16, writerCacheKiB))") }
            try Migrations.apply(to: database)
            let context = try SQLiteTransaction(database: database, holds: cache, tombstones: tombstones, recordLookback: lookback,
                                           clock: clock, tombstoneHash: tombstoneHash, recordKeyBits: recordKeyBits,
                                                renderHistory: renderHistory)
            context.reloadHolds()
            try context.loadTombstones()
            // An image whose snapshot load a crash cut short: its indexes back before anything reads it.
            try context.restoreIndexesAfterLoading()
            try context.rebuildAllRecordsIfNeeded(now: clock())
            return context
        }
    }

    /// A reader for the calling thread, on its own read-only connection. Its lookups share one
    /// read snapshot until `endSnapshot()` (call it at the end of each event-loop turn), any
    /// write commits, or `SQLiteReader.snapshotLimit` lookups: a write acknowledged before a
    /// lookup began is always seen.
    public func makeSQLiteReader() throws(StoreError) -> SQLiteReader {
        try SQLiteReader(database: Database(path: path, mode: .readOnly), tombstones: tombstones, commits: commits, recordKeyBits: recordKeyBits)
    }

    public func makeReader() throws(StoreError) -> any StoreReader {
        try makeSQLiteReader()
    }

    /// The environmental holds, as of the last committed write.
    public var holds: [Hold] { holdCache.current }

    public var holdsGeneration: UInt64 { holdCache.generation }

    /// Queues a write by `actor`; `completion` runs on the writer thread once it committed (or failed).
    public func write<T>(as actor: Actor, _ work: @escaping (any StoreTransaction) throws(StoreError) -> T,
                         completion: @escaping (Result<T, StoreError>) -> Void) {
        writer.submit(Self.acting(actor, work), completion: completion)
    }

    /// Runs a write by `actor` and waits for its commit.
    @discardableResult
    public func writeAndWait<T>(as actor: Actor, _ work: @escaping (any StoreTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
        try writer.perform(Self.acting(actor, work))
    }

    /// `writeSQLiteAndWait` without the wait: `completion` runs on the writer thread once the
    /// work committed or failed (a snapshot's batches, written while the next is read).
    public func writeSQLite<T>(_ work: @escaping (SQLiteTransaction) throws(StoreError) -> T,
                               completion: @escaping (Result<T, StoreError>) -> Void) {
        writer.submit(Self.acting(nil, work), completion: completion)
    }

    /// `writeAndWait` with the SQLite transaction itself, for what only this store has
    /// (pruning, a node's image). Without an actor, a change that the history keeps is refused.
    /// `waiting` is called on the calling thread every `interval` seconds while the work runs: a
    /// node applying a large transaction keeps its replication connection alive meanwhile.
    @discardableResult
    public func writeSQLiteAndWait<T>(as actor: Actor? = nil, every interval: TimeInterval = .infinity, whileWaiting waiting: () -> Void = {},
                                      _ work: @escaping (SQLiteTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
        try writer.perform(Self.acting(actor, work), every: interval, waiting)
    }

    /// `work`, run with the transaction's actor set to `actor` for its duration.
    private static func acting<T>(_ actor: Actor?, _ work: @escaping (SQLiteTransaction) throws(StoreError) -> T)
        -> (SQLiteTransaction) throws(StoreError) -> T {
        { (transaction: SQLiteTransaction) throws(StoreError) -> T in
            transaction.actor = actor
            defer { transaction.actor = nil }
            return try work(transaction)
        }
    }

    /// Jobs waiting for the writer.
    public var writerQueueDepth: Int { writer.queueDepth }

    /// The writer's commit times and checkpoints.
    public var writerReport: WriterReport { writer.stats.current }

    /// Finishes queued writes and closes the writer's connection.
    public func close() {
        retention.withLock { $0 }?.stop()
        writer.stop()
    }
}

/// Counts the writer's commits. The writer adds one after each COMMIT and before any completion
/// runs; a reader whose snapshot began under an older count starts a new one, so no lookup that
/// follows an acknowledgement reads from before it.
final class CommitCounter: Sendable {
    private let count = Atomic<UInt64>(0)
    var current: UInt64 { count.load(ordering: .acquiring) }
    func advance() { count.add(1, ordering: .releasing) }
}

/// The holds, shared by every reader; replaced by the writer after a commit that touched them.
/// `generation` counts the replacements, each after the holds it announces: a reader that saw a
/// generation and then read the holds has holds at least that new.
final class HoldCache: Sendable {
    private let holds = Mutex<[Hold]>([])
    private let replaced = Atomic<UInt64>(0)
    var current: [Hold] { holds.withLock { $0 } }
    var generation: UInt64 { replaced.load(ordering: .acquiring) }
    func replace(_ new: [Hold]) {
        holds.withLock { $0 = new }
        replaced.add(1, ordering: .releasing)
    }
}
