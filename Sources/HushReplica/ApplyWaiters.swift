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
        /// The waiters of each transaction id, and every waiter that has a position, nearest
        /// first: the image calls `reached` for every transaction it applies, so finding whom
        /// that satisfies must not mean looking at every waiter (thousands, under load).
        var byXid: [UInt32: [Handle]] = [:]
        var byPosition = PositionHeap()
        /// The newest transactions applied, by id, with their end: a waiter may come after the
        /// image applied its transaction (the writer learns the id in the commit's round trip).
        var recent: [UInt32: LSN] = [:]
        var recentOrder: [UInt32] = []

        /// Removes the waiter `handle` and its entry by id; the heap's entry is skipped when it comes up.
        mutating func remove(_ handle: Handle) -> Waiter? {
            guard let waiter = waiting.removeValue(forKey: handle) else { return nil }
            if let xid = waiter.xid, var handles = byXid[xid] {
                handles.removeAll { $0 == handle }
                byXid[xid] = handles.isEmpty ? nil : handles
            }
            return waiter
        }

        /// Drops the heap's entries of waiters already gone (called by id, timed out), once they
        /// outnumber the living: an image that stopped moving must not let them pile up.
        mutating func compact() {
            guard byPosition.count > 2 * waiting.count + 1_024 else { return }
            byPosition = PositionHeap()
            for (handle, waiter) in waiting { if let position = waiter.position { byPosition.push(position, handle) } }
        }
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
            if let xid { state.byXid[xid, default: []].append(state.next) }
            if let position { state.byPosition.push(position, state.next) }
            return (state.next, nil)
        }
        if let reached {
            fire(reached)
            return handle
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + max(0, timeout)) { [self] in
            let waiter = state.withLock { state in
                defer { state.compact() }
                return state.remove(handle)
            }
            waiter?.fire(nil)
        }
        return handle
    }

    /// Adds a position to a transaction's waiter, once its commit returned: the image has it
    /// when it reached that far, even if it took the transaction from a snapshot.
    public func add(position: LSN, to handle: Handle) {
        let reached: (Waiter, LSN)? = state.withLock { state in
            guard var waiter = state.waiting[handle] else { return nil }
            if let applied = state.applied, applied >= position {
                _ = state.remove(handle)
                return (waiter, applied)
            }
            waiter.position = position
            state.waiting[handle] = waiter
            state.byPosition.push(position, handle)
            return nil
        }
        if let (waiter, applied) = reached { waiter.fire(applied) }
    }

    /// Forgets a waiter without calling it (its transaction failed); false when it was called already.
    @discardableResult
    public func cancel(_ handle: Handle) -> Bool {
        state.withLock { $0.remove(handle) } != nil
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
            if let xid, let handles = state.byXid[xid] {
                for handle in handles { if let waiter = state.remove(handle) { ready.append((waiter, end)) } }
            }
            while let (position, handle) = state.byPosition.min, position <= end {
                state.byPosition.pop()
                if let waiter = state.remove(handle) { ready.append((waiter, end)) }
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

/// Positions and their waiters, the nearest on top (a binary min-heap).
struct PositionHeap {
    private var items: [(LSN, ApplyWaiters.Handle)] = []

    var min: (LSN, ApplyWaiters.Handle)? { items.first }
    var count: Int { items.count }

    mutating func push(_ position: LSN, _ handle: ApplyWaiters.Handle) {
        items.append((position, handle))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].0 < items[parent].0 else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count, items[left].0 < items[smallest].0 { smallest = left }
            if right < items.count, items[right].0 < items[smallest].0 { smallest = right }
            guard smallest != parent else { return }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
