import Foundation
import HushPostgres
import HushStore
import Synchronization

/// Keeps a node's image current on a thread of its own: a new image is loaded from the slot's
/// snapshot, an image that has a position resumes the slot from there, and the stream is then
/// applied transaction by transaction and acknowledged. A lost connection or server is retried
/// with a growing pause (up to 2 s); what went wrong is kept for `/readyz` and the log.
public final class ImageFollower: @unchecked Sendable {
    public struct Status: Sendable, Equatable {
        /// The end of the last transaction the image applied.
        public var applied: LSN?
        /// The furthest the primary's WAL was known to reach, and when it last spoke.
        public var serverEnd = LSN(0)
        public var lastContact: Date?
        /// Why the follower is not streaming now, if it is not.
        public var failure: String?
    }

    private let store: SQLiteStore
    private let conninfo: String
    private let slot: String
    private let publication: String
    private let state = Mutex(Status())
    private let stopping = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private var thread: Thread?

    public init(store: SQLiteStore, conninfo: String, slot: String, publication: String = "hush") throws(PGError) {
        guard PGReplicationStream.isValidSlotName(slot) else { throw PGError("a slot name is lower-case letters, digits and _, at most 63: \(slot)") }
        self.store = store
        self.conninfo = conninfo
        self.slot = slot
        self.publication = publication
    }

    public var status: Status { state.withLock { $0 } }

    public func start() {
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "hush-replica"
        self.thread = thread
        thread.start()
    }

    /// Stops following; returns once the thread has (within its next second).
    public func stop() {
        guard thread != nil, !stopping.exchange(true, ordering: .relaxed) else { return }
        done.wait()
    }

    /// Waits until the image has applied `position` (a write's commit on the primary): true when
    /// it has within `timeout`.
    public func waitUntil(applied position: LSN, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let applied = status.applied, applied >= position { return true }
            usleep(2_000)
        }
        return status.applied.map { $0 >= position } ?? false
    }

    private func run() {
        let applier = ImageApplier(store: store)
        var pause = 0.1
        while !stopping.load(ordering: .relaxed) {
            do throws(PGError) {
                try follow(applier)
            } catch {
                state.withLock { $0.failure = error.description }
                Thread.sleep(forTimeInterval: pause)
                pause = min(2, pause * 2)
                continue
            }
        }
    }

    /// One connection's worth of following; returns when stopping, throws when the stream fails.
    private func follow(_ applier: ImageApplier) throws(PGError) {
        let stream = try PGReplicationStream(conninfo)
        var position = applier.position
        if position == nil {
            // A new image (or one whose load a crash cut short): a fresh slot and its snapshot.
            let created: PGReplicationStream.Slot
            do {
                created = try stream.createSlot(slot)
            } catch where error.sqlState == "42710" {
                try PGConnection(conninfo).query("SELECT pg_drop_replication_slot($1)", [slot])
                created = try stream.createSlot(slot)
            }
            try ImageSnapshot.load(into: store, from: try PGConnection(conninfo), slot: created)
            position = created.consistentPoint
        }
        try stream.start(slot: slot, at: position!, publication: publication)
        state.withLock { $0.applied = position; $0.failure = nil }
        while !stopping.load(ordering: .relaxed) {
            let event = try stream.next(timeout: 1)
            let contact = Date()
            switch event {
            case .message(_, let message):
                if let end = try applier.apply(message) {
                    try stream.acknowledge(end)
                    state.withLock { $0.applied = end }
                }
            case .keepalive(_, let reply):
                if reply, let applied = status.applied { try stream.acknowledge(applied) }
            case .idle:
                continue
            }
            let serverEnd = stream.serverEnd
            state.withLock { $0.lastContact = contact; $0.serverEnd = serverEnd }
        }
    }
}
