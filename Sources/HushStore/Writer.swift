import CLinux
import Foundation
import Synchronization

/// The one writer: a thread with its own connection that runs queued jobs. Jobs that are queued
/// together share a transaction (each inside its own savepoint, so one failing job does not undo
/// the others), and a job's completion runs only after that transaction committed with
/// `synchronous=FULL`: a write is acknowledged once it is on disk, never before.
final class Writer: @unchecked Sendable {
    /// Handed from the submitting thread to the writer, which runs it exactly once; the submitter
    /// keeps no reference, so nothing is shared.
    struct Job: @unchecked Sendable {
        /// Runs the work; returns the completion to call once the transaction committed (or failed).
        let run: (SQLiteTransaction) -> (_ committed: StoreError?) -> Void
        /// Reports a failure without running the work (the transaction could not begin).
        let fail: (StoreError) -> Void
    }

    private let queue = Mutex<(jobs: [Job], stopping: Bool)>(([], false))
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    /// Most jobs in one transaction; more wait for the next.
    static let batchLimit = 512
    /// Most jobs waiting; past it a write is refused at once (unavailable) rather than queued
    /// without bound while the disk falls behind.
    let maxQueuedJobs: Int
    private let commits: CommitCounter
    /// Commit times and checkpoints, for `/metrics`.
    let stats = WriterStats()

    init(maxQueuedJobs: Int, commits: CommitCounter, context: @escaping @Sendable () throws(StoreError) -> SQLiteTransaction) throws(StoreError) {
        self.maxQueuedJobs = maxQueuedJobs
        self.commits = commits
        let ready = DispatchSemaphore(value: 0)
        let failure = Mutex<StoreError?>(nil)
        let thread = Thread { [self] in
            // Foundation does not pass the name to the kernel: `top -H` shows this one.
            _ = pthread_setname_np(pthread_self(), "hush-writer")
            let writeContext: SQLiteTransaction
            do {
                writeContext = try context()
            } catch {
                failure.withLock { $0 = error as? StoreError ?? StoreError(kind: .internalError, message: "\(error)") }
                ready.signal()
                done.signal()
                return
            }
            ready.signal()
            // Kept alive for the loop: the hook's context pointer is not retained by SQLite.
            let watch = WALWatch()
            watch.install(on: writeContext.database.handle)
            withExtendedLifetime(watch) { loop(writeContext, watch) }
            done.signal()
        }
        thread.name = "hush-writer"
        thread.start()
        ready.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Queues `work`; `completion` runs on the writer thread after the commit, with the result.
    func submit<T>(_ work: @escaping (SQLiteTransaction) throws(StoreError) -> T, completion: @escaping (Result<T, StoreError>) -> Void) {
        let job = Job(run: { context in
            let result: Result<T, StoreError>
            do throws(StoreError) {
                let value = try work(context)
                // The records of the customers this job changed, in the same savepoint.
                try context.rebuildTouched(now: context.clock())
                result = .success(value)
            } catch {
                context.failed = true
                context.touched.removeAll()
                result = .failure(error)
            }
            return { commitError in
                if let commitError, case .success = result { completion(.failure(commitError)) } else { completion(result) }
            }
        }, fail: { error in completion(.failure(error)) })
        let refusal = queue.withLock { state -> StoreError? in
            guard !state.stopping else { return StoreError(kind: .unavailable, message: "the store is closed") }
            guard state.jobs.count < maxQueuedJobs else {
                return StoreError(kind: .unavailable, message: "the writer has \(maxQueuedJobs) writes waiting; try again shortly")
            }
            state.jobs.append(job)
            return nil
        }
        if let refusal { completion(.failure(refusal)) } else { wake.signal() }
    }

    /// Runs `work` and waits for its commit. For tools and tests; the server uses `submit`.
    func perform<T>(_ work: @escaping (SQLiteTransaction) throws(StoreError) -> T) throws(StoreError) -> T {
        try perform(work, every: .infinity) {}
    }

    /// `perform`, calling `waiting` on the calling thread every `interval` seconds until the
    /// work is done.
    func perform<T>(_ work: @escaping (SQLiteTransaction) throws(StoreError) -> T, every interval: TimeInterval,
                    _ waiting: () -> Void) throws(StoreError) -> T {
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<T, StoreError>?
        submit(work) { result in
            outcome = result
            finished.signal()
        }
        if interval.isFinite {
            while finished.wait(timeout: .now() + interval) == .timedOut { waiting() }
        } else {
            finished.wait()
        }
        return try outcome!.get()
    }

    /// Finishes queued jobs, then stops the thread.
    func stop() {
        let first = queue.withLock { state -> Bool in
            defer { state.stopping = true }
            return !state.stopping
        }
        guard first else { return }
        wake.signal()
        done.wait()
    }

    var queueDepth: Int { queue.withLock { $0.jobs.count } }

    private func loop(_ context: SQLiteTransaction, _ watch: WALWatch) {
        while true {
            wake.wait()
            while true {
                let (batch, stopping) = queue.withLock { state in
                    let taken = Array(state.jobs.prefix(Self.batchLimit))
                    state.jobs.removeFirst(taken.count)
                    return (taken, state.stopping)
                }
                if batch.isEmpty {
                    if stopping {
                        // Fold the WAL back into the database file, so the next start (and every
                        // reader) reads pages from the mapped file rather than the log.
                        if (try? context.database.exec("PRAGMA wal_checkpoint(TRUNCATE)")) != nil { stats.checkpointed(at: Date()) }
                        return
                    }
                    break
                }
                runBatch(batch, context)
                if watch.pages >= WALWatch.checkpointPages {
                    // PASSIVE: waits for no reader; what readers still use is folded back later.
                    if (try? context.database.exec("PRAGMA wal_checkpoint(PASSIVE)")) != nil { stats.checkpointed(at: Date()) }
                    watch.pages = 0
                }
            }
        }
    }

    private func runBatch(_ batch: [Job], _ context: SQLiteTransaction) {
        var completions: [(StoreError?) -> Void] = []
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            try context.database.exec("BEGIN IMMEDIATE")
        } catch {
            for job in batch { job.fail(error) }
            return
        }
        for job in batch {
            do { try context.database.exec("SAVEPOINT job") } catch {
                job.fail(error)
                continue
            }
            let tombstonesBefore = context.pendingTombstones.count
            let completion = job.run(context)
            // A job that threw leaves its savepoint to be rolled back; a job that succeeded is kept.
            if context.failed || context.discard {
                try? context.database.exec("ROLLBACK TO job")
                context.pendingTombstones.removeSubrange(tombstonesBefore...)
                context.failed = false
                context.discard = false
            }
            try? context.database.exec("RELEASE job")
            completions.append(completion)
        }
        var commitError: StoreError?
        do { try context.database.exec("COMMIT") } catch {
            commitError = error
            try? context.database.exec("ROLLBACK")
        }
        if commitError == nil { stats.committed(seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9) }
        // Readers see new tombstones only once they are on disk, and drop snapshots older than this commit.
        if commitError == nil {
            context.tombstones.insert(context.pendingTombstones)
            commits.advance()
        }
        context.pendingTombstones.removeAll()
        if commitError != nil || context.holdsChanged { context.reloadHolds() }
        if context.erased {
            context.erased = false
            // Readers hold snapshots for one loop turn at most; the busy timeout waits them out.
            if (try? context.database.exec("PRAGMA wal_checkpoint(TRUNCATE)")) != nil { stats.checkpointed(at: Date()) }
        }
        for completion in completions { completion(commitError) }
    }
}
