import Foundation
import Synchronization
import Testing
import HushPostgres
@testable import HushReplica

/// Writes and tokens waiting for a node's image: each waiter called once, by its transaction or
/// its position, with where the image got to, or with nil at its timeout; never twice.
struct ApplyWaitersTests {
    /// What each waiter was called with, by name, and how many times.
    final class Calls: Sendable {
        private let calls = Mutex<[String: [LSN?]]>([:])
        func record(_ name: String) -> @Sendable (LSN?) -> Void { { at in self.calls.withLock { $0[name, default: []].append(at) } } }
        subscript(_ name: String) -> [LSN?]? { calls.withLock { $0[name] } }
        var names: Set<String> { calls.withLock { Set($0.keys) } }
    }

    @Test func aTransaction_FiresItsWaiter_AndOnlyIts() {
        let waiters = ApplyWaiters(), calls = Calls()
        waiters.wait(xid: 7, timeout: 60, calls.record("seven"))
        waiters.wait(xid: 8, timeout: 60, calls.record("eight"))
        waiters.reached(LSN(100), xid: 7)
        #expect(calls["seven"] == [LSN(100)])
        #expect(calls["eight"] == nil)
        #expect(waiters.count == 1)
        waiters.reached(LSN(200), xid: 8)
        #expect(calls["eight"] == [LSN(200)])
        #expect(waiters.count == 0)
    }

    @Test func positions_FireInOrder_AsTheImagePassesThem_WhateverOrderTheyCameIn() {
        let waiters = ApplyWaiters(), calls = Calls()
        for position in [500, 100, 300, 200, 400] as [UInt64] {
            waiters.wait(position: LSN(position), timeout: 60, calls.record("\(position)"))
        }
        waiters.reached(LSN(250), xid: nil)
        #expect(calls.names == ["100", "200"])
        #expect(calls["100"] == [LSN(250)])
        waiters.reached(LSN(300), xid: nil)
        #expect(calls.names == ["100", "200", "300"])
        waiters.reached(LSN(1_000), xid: nil)
        #expect(calls.names.count == 5)
        #expect(waiters.count == 0)
        // A position already reached answers at once.
        waiters.wait(position: LSN(900), timeout: 60, calls.record("late"))
        #expect(calls["late"] == [LSN(1_000)])
    }

    @Test func aWriteWaiter_FiredByItsTransaction_IsNotFiredAgainByItsPosition() {
        let waiters = ApplyWaiters(), calls = Calls()
        let handle = waiters.wait(xid: 9, timeout: 60, calls.record("write"))
        waiters.add(position: LSN(150), to: handle)
        waiters.reached(LSN(140), xid: 9)
        waiters.reached(LSN(160), xid: nil)
        #expect(calls["write"] == [LSN(140)])
    }

    @Test func aWriteWaiter_WhoseTransactionCameByASnapshot_IsFiredByItsPosition() {
        let waiters = ApplyWaiters(), calls = Calls()
        let handle = waiters.wait(xid: 11, timeout: 60, calls.record("write"))
        waiters.add(position: LSN(150), to: handle)
        waiters.reached(LSN(149), xid: nil)
        #expect(calls["write"] == nil)
        waiters.reached(LSN(150), xid: nil)
        #expect(calls["write"] == [LSN(150)])
    }

    @Test func aTransactionAppliedBeforeItsWaiterCame_AnswersAtOnce() {
        let waiters = ApplyWaiters(), calls = Calls()
        waiters.reached(LSN(300), xid: 12)
        waiters.wait(xid: 12, timeout: 60, calls.record("write"))
        #expect(calls["write"] == [LSN(300)])
        #expect(waiters.count == 0)
    }

    @Test func aTimeout_FiresNil_Once_AndTheTransactionLaterFiresNothing() async throws {
        let waiters = ApplyWaiters(), calls = Calls()
        waiters.wait(xid: 13, position: LSN(500), timeout: 0.05, calls.record("slow"))
        for _ in 0..<200 where calls["slow"] == nil { try await Task.sleep(for: .milliseconds(10)) }
        #expect(calls["slow"] == [nil])
        waiters.reached(LSN(600), xid: 13)
        #expect(calls["slow"] == [nil])
        #expect(waiters.count == 0)
    }

    @Test func cancelled_IsNeverCalled() {
        let waiters = ApplyWaiters(), calls = Calls()
        let handle = waiters.wait(xid: 14, position: LSN(10), timeout: 60, calls.record("cancelled"))
        #expect(waiters.cancel(handle))
        #expect(!waiters.cancel(handle))
        waiters.reached(LSN(20), xid: 14)
        #expect(calls["cancelled"] == nil)
    }

    @Test func thousandsOfWaiters_EachCalledExactlyOnce_ByTransactionsAppliedInBatches() {
        let waiters = ApplyWaiters(), calls = Calls()
        let count = 5_000
        for i in 0..<count {
            let handle = waiters.wait(xid: UInt32(i), timeout: 60, calls.record("\(i)"))
            if i % 3 == 0 { waiters.add(position: LSN(UInt64(i) * 10 + 5), to: handle) }
        }
        for i in 0..<count { waiters.reached(LSN(UInt64(i) * 10), xid: UInt32(i)) }
        #expect(waiters.count == 0)
        #expect(calls.names.count == count)
        #expect((0..<count).allSatisfy { calls["\($0)"] == [LSN(UInt64($0) * 10)] })
    }
}
