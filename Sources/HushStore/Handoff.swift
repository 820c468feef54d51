import CLinux
import Foundation

/// A bounded queue of batches from one thread to another, so that an import's two halves run on
/// two cores: the upload's rows are validated while the previous batch is staged, and the staged
/// rows are read and decoded while the writer writes the previous batch.
///
/// The producer `put`s batches and ends with `finish` (with the error that stopped it, if any);
/// the consumer `take`s them until nil, and ends with `end` (with the error that stopped it, if
/// any). Each side can then wait for the other's end, so that nothing either holds outlives the
/// work: the producer with `waitForConsumer()`, the consumer with `waitForProducer()`.
final class Handoff<Batch>: @unchecked Sendable {
    private let condition = NSCondition()
    private var batches: [Batch] = []
    private let capacity: Int
    private var finished = false
    private var producerError: StoreError?
    private var ended = false
    private var consumerError: StoreError?

    /// Holds at most `capacity` batches; the producer waits for room past that.
    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Hands a batch over, waiting for room; false when the consumer has ended (the batch is
    /// dropped, and the producer should stop).
    func put(_ batch: Batch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while batches.count >= capacity && !ended { condition.wait() }
        guard !ended else { return false }
        batches.append(batch)
        condition.broadcast()
        return true
    }

    /// The producer's last call: no more batches, and why, if it stopped on an error. With
    /// `dropQueued`, the batches not yet taken are dropped (the work is abandoned).
    func finish(_ error: StoreError?, dropQueued: Bool = false) {
        condition.lock()
        defer { condition.unlock() }
        finished = true
        producerError = error
        if dropQueued { batches.removeAll() }
        condition.broadcast()
    }

    /// The next batch, waiting for one; nil once the producer has finished and every batch was
    /// taken; the producer's error, if it stopped on one, after the batches it handed over.
    func take() throws(StoreError) -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty && !finished { condition.wait() }
        if !batches.isEmpty {
            condition.broadcast()
            return batches.removeFirst()
        }
        if let producerError { throw producerError }
        return nil
    }

    /// The consumer's last call: it takes nothing more, and why, if it stopped on an error.
    func end(_ error: StoreError?) {
        condition.lock()
        defer { condition.unlock() }
        ended = true
        consumerError = error
        batches.removeAll()
        condition.broadcast()
    }

    /// The consumer's error so far (it has ended on one), without waiting.
    var consumerFailure: StoreError? {
        condition.lock()
        defer { condition.unlock() }
        return consumerError
    }

    /// Waits until the producer has finished; its error, if it stopped on one.
    func waitForProducer() -> StoreError? {
        condition.lock()
        defer { condition.unlock() }
        while !finished { condition.wait() }
        return producerError
    }

    /// Waits until the consumer has ended; its error, if it stopped on one.
    func waitForConsumer() -> StoreError? {
        condition.lock()
        defer { condition.unlock() }
        while !ended { condition.wait() }
        return consumerError
    }

    /// Runs `body` on a thread of its own named `name` (at most 15 bytes).
    static func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
        precondition(name.utf8.count <= 15, "thread names are at most 15 bytes")
        let thread = Thread {
            _ = pthread_setname_np(pthread_self(), name)
            body()
        }
        thread.name = name
        thread.start()
    }
}
