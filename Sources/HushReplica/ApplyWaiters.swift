import Foundation
import HushPostgres
import Synchronization

/// Those waiting for a node's image to apply something: a write this node committed (known by
/// its transaction id until the commit returns, then also by a position at or after its commit),
/// or a consistency token a request passed (a position). Each waiter is called exactly once:
/// with the position the image reached, or with nil when `timeout` ran out first.
public final class ApplyWaiters: Sendable {
    public typealias Handle = Int

    private struct Waiter {
        let xid: UInt32?
        var position: LSN?
        let fire: @Sendable (LSN?) -> Void
    }

    private struct State {
        var next: Handle = 0
        var applied: LSN?
        var waiting: [Handle: Waiter] = [:]
        /// The newest transactions applied, by id, with their end: a waiter may come after the
        /// image applied its transaction (the writer learns the id in the commit's round trip).
        var recent: [UInt32: LSN] = [:]
        var recentOrder: [UInt32] = []
    }

    /// How many applied transactions `recent` remembers.
    static let recentLimit = 65_536

    private let state = Mutex(State())

    public init() {}

    /// Where the image is: the end of the last transaction (or snapshot) it applied.
    public var applied: LSN? { state.withLock { $0.applied } }

    /// Waits for the transaction `xid` (its low 32 bits), or for the image to reach `position`.
    /// Calls `fire` at once when `position` was reached already.
    @discardableResult
    public func wait(xid: UInt32? = nil, position: LSN? = nil, timeout: Double, _ fire: @escaping @Sendable (LSN?) -> Void) -> Handle {
        let (handle, reached): (Handle, LSN?) = state.withLock { state in
            if let position, let applied = state.applied, applied >= position { return (-1, applied) }
            if let xid, let end = state.recent[xid] { return (-1, end) }
            state.next += 1
            state.waiting[state.next] = Waiter(xid: xid, position: position, fire: fire)
            return (state.next, nil)
        }
        if let reached {
            fire(reached)
            return handle
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + max(0, timeout)) { [self] in
            if let waiter = state.withLock({ $0.waiting.removeValue(forKey: handle) }) { waiter.fire(nil) }
        }
        return handle
    }

    /// Adds a position to a transaction's waiter, once its commit returned: the image has it
    /// when it reached that far, even if it took the transaction from a snapshot.
    public func add(position: LSN, to handle: Handle) {
        let reached: (Waiter, LSN)? = state.withLock { state in
            guard var waiter = state.waiting[handle] else { return nil }
            if let applied = state.applied, applied >= position {
                state.waiting[handle] = nil
                return (waiter, applied)
            }
            waiter.position = position
            state.waiting[handle] = waiter
            return nil
        }
        if let (waiter, applied) = reached { waiter.fire(applied) }
    }

    /// Forgets a waiter without calling it (its transaction failed); false when it was called already.
    @discardableResult
    public func cancel(_ handle: Handle) -> Bool {
        state.withLock { $0.waiting.removeValue(forKey: handle) } != nil
    }

    /// The image applied transaction `xid` (nil for a snapshot) and is now at `end`: calls the
    /// waiters that wanted it.
    func reached(_ end: LSN, xid: UInt32?) {
        let ready: [(Waiter, LSN)] = state.withLock { state in
            state.applied = max(state.applied ?? end, end)
            if let xid {
                if state.recent.updateValue(end, forKey: xid) == nil { state.recentOrder.append(xid) }
                if state.recentOrder.count > Self.recentLimit * 2 {
                    for old in state.recentOrder.prefix(Self.recentLimit) { state.recent[old] = nil }
                    state.recentOrder.removeFirst(Self.recentLimit)
                }
            }
            var ready: [(Waiter, LSN)] = []
            for (handle, waiter) in state.waiting {
                if let xid, waiter.xid == xid {
                    ready.append((waiter, end))
                } else if let position = waiter.position, position <= end {
                    ready.append((waiter, end))
                } else {
                    continue
                }
                state.waiting[handle] = nil
            }
            return ready
        }
        for (waiter, end) in ready { waiter.fire(end) }
    }

    /// The image was emptied for a new snapshot: it has no position until the snapshot is in.
    func forget() { state.withLock { $0.applied = nil } }

    /// Waiters not yet called.
    public var count: Int { state.withLock { $0.waiting.count } }
}
