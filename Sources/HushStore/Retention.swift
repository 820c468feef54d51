import Foundation
import HushCore
import Synchronization

/// What the store removes as it ages, and how: the writer prunes at start and then on a
/// schedule, in jobs of a bounded number of rows each, queued like any write, so that writes
/// behind a prune wait for one small transaction, never for the whole backlog.
public struct RetentionPolicy: Sendable, Equatable {
    /// Days an expired suppression or an ended hold is kept, for the customer view and audits,
    /// before it is removed. Its history stays (the removal is in it, by `retention`).
    public var expiredDays: Int
    /// Seconds between prunes.
    public var interval: TimeInterval
    /// Most rows of each kind one prune job removes.
    public var rowsPerJob: Int

    public init(expiredDays: Int = 90, interval: TimeInterval = 600, rowsPerJob: Int = 1000) {
        self.expiredDays = expiredDays
        self.interval = interval
        self.rowsPerJob = rowsPerJob
    }
}

/// Rows retention removed.
public struct PruneCounts: Sendable, Equatable {
    public var contacts = 0, interactions = 0, suppressions = 0, holds = 0

    public init(contacts: Int = 0, interactions: Int = 0, suppressions: Int = 0, holds: Int = 0) {
        self.contacts = contacts; self.interactions = interactions; self.suppressions = suppressions; self.holds = holds
    }

    static func + (a: PruneCounts, b: PruneCounts) -> PruneCounts {
        PruneCounts(contacts: a.contacts + b.contacts, interactions: a.interactions + b.interactions,
                    suppressions: a.suppressions + b.suppressions, holds: a.holds + b.holds)
    }

    /// Whether a job that removed these, at most `limit` of each, may have left more.
    func reached(_ limit: Int) -> Bool { contacts >= limit || interactions >= limit || suppressions >= limit || holds >= limit }
}

extension SQLiteTransaction {
    /// The suppressions a prune removes, oldest first (through `suppressions_expires`).
    static let expiredSuppressionsSQL = "SELECT id FROM suppressions WHERE expires_at IS NOT NULL AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2"
    /// The holds a prune removes, oldest first (through `holds_ends`).
    static let endedHoldsSQL = "SELECT id FROM holds WHERE ends_at IS NOT NULL AND ends_at <= ?1 ORDER BY ends_at LIMIT ?2"

    /// One prune, in the running job's transaction, at most `limit` rows of each kind: contacts
    /// and interactions older than the longest window any rule reads (decisions count none
    /// older, and none older is accepted), suppressions that expired and holds that ended more
    /// than `expiredAfter` before `now`. Those two go as the API deletes them: the customer's
    /// record is rebuilt and the history records the deletion under the job's actor.
    public func prune(now: Date, expiredAfter: TimeInterval, limit: Int) throws(StoreError) -> PruneCounts {
        var removed = PruneCounts()
        let window = SQLValue.integer(Codec.millis(now.addingTimeInterval(-recordLookback)))
        removed.contacts = try database.prepare("DELETE FROM contacts WHERE rowid IN (SELECT rowid FROM contacts WHERE at <= ?1 LIMIT ?2)")
            .run([window, .integer(Int64(limit))])
        removed.interactions = try database.prepare("DELETE FROM interactions WHERE rowid IN (SELECT rowid FROM interactions WHERE at <= ?1 LIMIT ?2)")
            .run([window, .integer(Int64(limit))])
        let expired = SQLValue.integer(Codec.millis(now.addingTimeInterval(-expiredAfter)))
        var ids: [String] = []
        try database.prepare(Self.expiredSuppressionsSQL)
            .query([expired, .integer(Int64(limit))]) { row in if let id = row.text(0) { ids.append(id) } }
        for id in ids { if try deleteSuppression(id) { removed.suppressions += 1 } }
        ids.removeAll()
        try database.prepare(Self.endedHoldsSQL)
            .query([expired, .integer(Int64(limit))]) { row in if let id = row.text(0) { ids.append(id) } }
        for id in ids { if try deleteHold(id) { removed.holds += 1 } }
        return removed
    }
}

/// Runs retention on a store: a prune job at start, then one every `policy.interval`; a job that
/// reached its row limit queues the next at once (behind the writes waiting by then). Counts
/// what it removed.
/// (`@unchecked`: the timer is only resumed here and cancelled in `stop`, both safe from any thread.)
public final class Retention: @unchecked Sendable {
    public static let actor = Actor(name: "retention", via: .retention)
    let policy: RetentionPolicy
    private final class State: Sendable {
        let totals = Mutex(PruneCounts())
        let stopped = Atomic<Bool>(false)
    }
    private let state = State()
    private let timer: DispatchSourceTimer

    /// `run` queues one prune job and calls back with what it removed (not at all when it failed:
    /// the next interval tries again).
    public init(policy: RetentionPolicy, run: @escaping @Sendable (@escaping @Sendable (PruneCounts) -> Void) -> Void) {
        self.policy = policy
        let timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        self.timer = timer
        let state = self.state
        // A prune, then another at once while one fills its limit.
        @Sendable func pass() {
            guard !state.stopped.load(ordering: .relaxed) else { return }
            run { removed in
                state.totals.withLock { $0 = $0 + removed }
                if removed.reached(policy.rowsPerJob) { pass() }
            }
        }
        timer.setEventHandler { pass() }
        timer.schedule(deadline: .now(), repeating: policy.interval)
        timer.resume()
    }

    public var removed: PruneCounts { state.totals.withLock { $0 } }

    public func stop() {
        state.stopped.store(true, ordering: .relaxed)
        timer.cancel()
    }
}
