import Foundation
import HushPostgres
import HushStore
import Synchronization

/// Keeps a node's image current on a thread of its own: a new image is loaded from the slot's
/// snapshot, an image that has a position resumes the slot from there, and the stream is then
/// applied transaction by transaction and acknowledged. A lost connection or server is retried
/// with a growing pause (up to 2 s); what went wrong is kept for `/readyz` and the log. When the
/// slot is gone (the primary failed over: PostgreSQL 15 keeps no logical slot on a standby),
/// the image is emptied and loaded again from a new slot's snapshot.
///
/// How current the image is comes from pings: every `pingInterval` the follower writes a
/// non-transactional message into the primary's WAL (`pg_logical_emit_message`) carrying the
/// time it was sent. The stream delivers it after every transaction that committed before it,
/// so when it arrives the image is known to hold everything committed on the primary up to
/// that time. A node that hears no ping (primary gone, stream stalled, image behind) grows stale.
public final class ImageFollower: @unchecked Sendable {
    public struct Status: Sendable, Equatable {
        /// The end of the last transaction the image applied.
        public var applied: LSN?
        /// The furthest the primary's WAL was known to reach, and when it last spoke.
        public var serverEnd = LSN(0)
        public var lastContact: Date?
        /// Why the follower is not streaming now, if it is not.
        public var failure: String?
        /// Snapshots loaded since the follower started (a second one follows a failover).
        public var snapshots = 0
        /// Commit-to-applied times, as `ReplicaReport.applyLag` counts them.
        public var applyLag = [UInt64](repeating: 0, count: ReplicaReport.applyLagBounds.count + 1)
        public var applyLagSum = 0.0
    }

    /// The newest commit-to-applied times in seconds (up to 100,000), for benchmarks.
    public var recentApplyLags: [Double] { lags.withLock { $0.values } }
    private let lags = Mutex(Ring(capacity: 100_000))

    struct Ring {
        let capacity: Int
        private(set) var values: [Double] = []
        private var next = 0
        init(capacity: Int) { self.capacity = capacity }
        mutating func append(_ value: Double) {
            if values.count < capacity { values.append(value) } else { values[next] = value }
            next = (next + 1) % capacity
        }
    }

    /// Most transactions written to the image together; a batch is also written once it has
    /// waited 20 ms, or when nothing more arrived for `groupWait`.
    static let batchLimit = 500
    /// How long a staged group waits for the next transaction before it is written.
    static let groupWait = 0.001
    /// How often a node tells the primary it is alive while its image applies a large
    /// transaction: well within `wal_sender_timeout` (60 s by default, and a few seconds where
    /// operators want dead nodes noticed fast); one small message a second costs nothing.
    static let statusInterval = 1.0

    /// The prefix of the ping messages in the WAL.
    public static let pingPrefix = "hush-ping"

    private let store: SQLiteStore
    private let conninfo: String
    private let slot: String
    private let publication: String
    private let pingInterval: Double
    /// A slot whose node has not been seen for this long (seconds) is dropped by the others.
    private let dropIdleSlotAfter: Double
    private let state = Mutex(Status())
    /// The image holds everything committed on the primary up to this time, in milliseconds since
    /// 1970 (the send time of the newest ping that came back through the stream; 0: none yet).
    /// Written by the follower's thread only, read by every decision.
    private let currentAsOfMillis = Atomic<Int64>(0)
    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let janitorDone = DispatchSemaphore(value: 0)
    private var thread: Thread?
    /// Writes and requests waiting for the image.
    public let waiters = ApplyWaiters()
    /// Called with each failure of the stream (for hush's own log).
    private let report: (@Sendable (String) -> Void)?
    /// Called with what the follower did that an operator may want to know (a new image loaded).
    private let inform: (@Sendable (String) -> Void)?
    private let onLogErasure: (@Sendable ([String]) -> Void)?

    public init(store: SQLiteStore, conninfo: String, slot: String, publication: String = "hush", pingInterval: Double = 0.25,
                dropIdleSlotAfter: Double = 600, report: (@Sendable (String) -> Void)? = nil,
                inform: (@Sendable (String) -> Void)? = nil,
                onLogErasure: (@Sendable ([String]) -> Void)? = nil) throws(PGError) {
        self.report = report
        self.inform = inform
        self.onLogErasure = onLogErasure
        self.dropIdleSlotAfter = max(1, dropIdleSlotAfter)
        guard PGReplicationStream.isValidSlotName(slot) else { throw PGError("a slot name is lower-case letters, digits and _, at most 63: \(slot)") }
        self.store = store
        self.conninfo = conninfo
        self.slot = slot
        self.publication = publication
        self.pingInterval = max(0.01, pingInterval)
    }

    public var status: Status { state.withLock { $0 } }

    /// How far behind the primary the image may be, in seconds: the age of the newest ping that
    /// came back; nil before the first.
    public func lag(now: Date = Date()) -> Double? {
        // Read by every decision: one atomic load, no lock.
        let millis = currentAsOfMillis.load(ordering: .acquiring)
        return millis == 0 ? nil : max(0, now.timeIntervalSince1970 - Double(millis) / 1000)
    }

    public func start() {
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "hush-replica"
        self.thread = thread
        thread.start()
        // The janitor's writes may wait (a primary whose synchronous standby is gone holds every
        // commit): on a thread of its own, they never hold up the stream.
        let janitor = Thread { [self] in
            var db: PGConnection?
            while !stopping.load(ordering: .relaxed) {
                if db == nil { db = try? PGConnection(conninfo) }
                if let connection = db, !tidy(connection) { db = nil }
                let next = Date().addingTimeInterval(min(5, dropIdleSlotAfter / 4))
                while !stopping.load(ordering: .relaxed), Date() < next { Thread.sleep(forTimeInterval: 0.05) }
            }
            janitorDone.signal()
        }
        janitor.name = "hush-replica-janitor"
        janitor.start()
    }

    /// Stops following; returns once the follower's thread has (within its next second), and
    /// the janitor's, unless a write of its own waits on the primary (then after 2 s).
    public func stop() {
        guard thread != nil, !stopping.exchange(true, ordering: .relaxed) else { return }
        done.wait()
        _ = janitorDone.wait(timeout: .now() + 2)
    }

    private func run() {
        let applier = ImageApplier(store: store, onLogErasure: onLogErasure)
        if let position = applier.position { waiters.reached(position, xid: nil) }
        var pause = 0.1
        while !stopping.load(ordering: .relaxed) {
            do throws(PGError) {
                try follow(applier)
            } catch {
                state.withLock { $0.failure = error.description }
                report?(error.description)
                Thread.sleep(forTimeInterval: pause)
                pause = min(2, pause * 2)
                continue
            }
        }
    }

    /// One connection's worth of following; returns when stopping, throws when the stream fails.
    private func follow(_ applier: ImageApplier) throws(PGError) {
        do {
            try stream(applier)
        } catch where error == ImageApplier.truncated {
            // The stream's connection is closed by now: the slot can be dropped and made again.
            report?(error.message)
            try forgetImage(applier)
            try follow(applier)
        }
    }

    /// Empties the image and what was known of its position: it is to be loaded from scratch.
    private func forgetImage(_ applier: ImageApplier) throws(PGError) {
        try applier.clear()
        waiters.forget()
        state.withLock { $0.applied = nil }
        currentAsOfMillis.store(0, ordering: .releasing)
    }

    /// One stream's worth of following: resumes the slot from the image's position, or makes a
    /// new slot and loads its snapshot; returns when stopping, throws when the stream fails.
    private func stream(_ applier: ImageApplier) throws(PGError) {
        let stream = try PGReplicationStream(conninfo)
        var position = applier.position
        if let resume = position {
            do {
                try stream.start(slot: slot, at: resume, publication: publication)
            } catch where error.sqlState == "42704" {
                // The slot is gone: a failover, or an operator dropped it. What the image holds
                // may be ahead of or behind the new primary: it is loaded again from scratch.
                try forgetImage(applier)
                position = nil
                return try self.stream(applier)
            }
        } else {
            // A new image (or one whose load a crash cut short): a fresh slot and its snapshot.
            let created: PGReplicationStream.Slot
            do {
                created = try stream.createSlot(slot)
            } catch where error.sqlState == "42710" {
                try PGConnection(conninfo).query("SELECT pg_drop_replication_slot($1)", [slot])
                created = try stream.createSlot(slot)
            }
            try applier.clear()
            try ImageSnapshot.load(into: store, from: try PGConnection(conninfo), slot: created, onLogErasure: onLogErasure, report: inform)
            position = created.consistentPoint
            state.withLock { $0.snapshots += 1 }
            try stream.start(slot: slot, at: created.consistentPoint, publication: publication)
        }
        waiters.reached(position!, xid: nil)
        state.withLock { $0.applied = position; $0.failure = nil }
        let pinger = try PGConnection(conninfo)
        var nextPing = Date()
        var stagedSince: Date?
        /// Writes what was staged, in one SQLite transaction, and tells the stream and the waiters.
        func flush() throws(PGError) {
            stagedSince = nil
            // A large transaction may take the image minutes: meanwhile the primary hears every
            // few seconds that this node is alive, at the position it had applied.
            var silent: PGError?
            let done = try applier.flush(every: Self.statusInterval) {
                guard silent == nil, let applied = status.applied else { return }
                do throws(PGError) { try stream.acknowledge(applied) } catch { silent = error }
            }
            guard let last = done.last else { return }
            try stream.acknowledge(last.end)
            let now = Date()
            state.withLock { status in
                status.applied = last.end
                for transaction in done {
                    let lag = max(0, now.timeIntervalSince(transaction.committedAt))
                    status.applyLag[ReplicaReport.applyLagBounds.firstIndex { lag <= $0 } ?? ReplicaReport.applyLagBounds.count] += 1
                    status.applyLagSum += lag
                }
            }
            lags.withLock { ring in for transaction in done { ring.append(max(0, now.timeIntervalSince(transaction.committedAt))) } }
            for transaction in done { waiters.reached(transaction.end, xid: transaction.xid) }
        }
        while !stopping.load(ordering: .relaxed) {
            let now = Date()
            if now >= nextPing {
                // The ping's time is this node's clock, read again where it comes back.
                try pinger.query("SELECT pg_logical_emit_message(false, $1, $2)",
                                 [Self.pingPrefix, "\(slot) \(Int64((now.timeIntervalSince1970 * 1000).rounded()))"])
                nextPing = now.addingTimeInterval(pingInterval)
            }
            // With transactions staged, what arrives within a millisecond joins them before they
            // are written: one sync to disk for a group, at the cost of a millisecond when the
            // stream is quiet.
            let event = try stream.next(timeout: applier.staged > 0 ? Self.groupWait : max(0.001, nextPing.timeIntervalSinceNow))
            let contact = Date()
            switch event {
            case .message(let at, .logical(false, _, Self.pingPrefix, let content)):
                // Everything before the ping is written first: the slot may then let go of the WAL before it.
                try flush()
                if let sent = pingTime(content) {
                    let millis = Int64((sent.timeIntervalSince1970 * 1000).rounded())
                    if millis > currentAsOfMillis.load(ordering: .relaxed) { currentAsOfMillis.store(millis, ordering: .releasing) }
                    try stream.acknowledge(at)
                }
            case .message(_, let message):
                if try applier.take(message) {
                    let since = stagedSince ?? contact
                    stagedSince = since
                    if applier.staged >= Self.batchLimit || contact.timeIntervalSince(since) > 0.02 { try flush() }
                }
            case .keepalive(_, let reply):
                // A walsender that waits for WAL while this node's acknowledgement is behind what
                // it sent says so after nearly every transaction: staged transactions keep
                // waiting for their group rather than being written one or two at a time.
                if reply, let applied = status.applied { try stream.acknowledge(applied) }
            case .idle:
                try flush()
                continue
            }
            let serverEnd = stream.serverEnd
            state.withLock { $0.lastContact = contact; $0.serverEnd = serverEnd }
        }
    }

    /// Notes that this node is alive (`nodes.seen_at`), and drops the slots of nodes not seen
    /// for `dropIdleSlotAfter` whose slot no one streams, or whose WAL the server already let go
    /// (`max_slot_wal_keep_size`): a node gone for good must not hold the primary's WAL. A node
    /// that comes back after that finds its slot gone and loads its image again. A failure here
    /// is reported and tried again later; it does not stop the stream. False when the
    /// connection should be made again.
    private func tidy(_ db: PGConnection) -> Bool {
        do throws(PGError) {
            try db.query("INSERT INTO nodes (slot, seen_at) VALUES ($1, now()) ON CONFLICT (slot) DO UPDATE SET seen_at = now()", [slot])
            let dropped = try db.query("""
                WITH gone AS (
                    SELECT s.slot_name FROM pg_replication_slots s JOIN nodes n ON n.slot = s.slot_name
                    WHERE NOT s.active AND s.slot_name <> $1
                    AND (n.seen_at < now() - make_interval(secs => $2::double precision) OR s.wal_status = 'lost'))
                SELECT slot_name, pg_drop_replication_slot(slot_name) FROM gone
                """, [slot, String(dropIdleSlotAfter)]).rows.compactMap { $0.first ?? nil }
            if !dropped.isEmpty {
                try db.query("DELETE FROM nodes WHERE slot = ANY($1::text[])", ["{" + dropped.joined(separator: ",") + "}"])
                inform?("dropped the replication slot of a node not seen for \(Int(dropIdleSlotAfter)) s: \(dropped.joined(separator: ", "))")
            }
        } catch {
            report?("the slot janitor failed: \(error.description)")
            return !error.isConnectionLost
        }
        return true
    }

    /// The send time of one of this node's own pings (`<slot> <milliseconds>`); nil for another node's.
    private func pingTime(_ content: [UInt8]) -> Date? {
        let text = String(decoding: content, as: UTF8.self)
        let parts = text.split(separator: " ")
        guard parts.count == 2, parts[0] == slot, let millis = Int64(parts[1]) else { return nil }
        return Date(timeIntervalSince1970: Double(millis) / 1000)
    }
}
