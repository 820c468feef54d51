import Foundation
import Glibc

/// Syncs the open segment's file on a thread of its own, so that the writer never waits for
/// the disk to flush (an `fdatasync` of a second of lines can take longer than a loop's buffer
/// lasts under load). It also hands work to the maintenance thread, in order: a segment is
/// closed only after its last sync, and an erasure runs only after the closings before it.
final class Syncer: @unchecked Sendable {
    private struct Item {
        /// A descriptor to sync and close (the syncer owns it), with its path for errors.
        var fd: Int32?
        var path = ""
        var jobs: [Maintenance.Job] = []
    }

    private let condition = NSCondition()
    private var items: [Item] = []
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)
    private let maintenance: Maintenance?
    private let failed: @Sendable (String) -> Void

    init(maintenance: Maintenance?, failed: @escaping @Sendable (String) -> Void) {
        self.maintenance = maintenance
        self.failed = failed
        startThread(named: "hush-log-sync") { [self] in run() }
    }

    /// Syncs and closes `fd` (the syncer's from here on), then queues `jobs`.
    func sync(_ fd: Int32?, path: String, then jobs: [Maintenance.Job] = []) {
        condition.lock()
        items.append(Item(fd: fd, path: path, jobs: jobs))
        condition.signal()
        condition.unlock()
    }

    /// Syncs waiting: the writer skips a periodic sync while one is still under way.
    var isBusy: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !items.isEmpty
    }

    /// Finishes what is queued, then stops.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        done.wait()
    }

    private func run() {
        while true {
            condition.lock()
            while items.isEmpty && !stopping { condition.wait() }
            if items.isEmpty { condition.unlock(); break }
            let item = items[0]
            condition.unlock()
            if let fd = item.fd {
                if fdatasync(fd) != 0 { failed("cannot sync \(item.path): \(File.errorText())") }
                close(fd)
            }
            for job in item.jobs { maintenance?.enqueue(job) }
            condition.lock()
            items.removeFirst()
            condition.unlock()
        }
        done.signal()
    }
}
