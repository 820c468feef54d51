import CSQLite
import Foundation
import Synchronization

/// What the writer reports for `/metrics`: how long its transactions take to commit, and when it
/// last checkpointed the write-ahead log.
public struct WriterReport: Sendable, Equatable {
    /// Upper bounds of the commit-time buckets, in seconds.
    public static let bounds: [Double] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
    /// Commits at or under each bound (not cumulative), then those over the last.
    public var buckets = [UInt64](repeating: 0, count: WriterReport.bounds.count + 1)
    public var commits: UInt64 = 0
    public var commitSeconds: Double = 0
    public var checkpoints: UInt64 = 0
    public var lastCheckpoint: Date?

    public init() {}
}

final class WriterStats: Sendable {
    private let report = Mutex(WriterReport())

    func committed(seconds: Double) {
        let bucket = WriterReport.bounds.firstIndex { seconds <= $0 } ?? WriterReport.bounds.count
        report.withLock { r in
            r.buckets[bucket] += 1
            r.commits += 1
            r.commitSeconds += seconds
        }
    }

    func checkpointed(at date: Date) {
        report.withLock { r in
            r.checkpoints += 1
            r.lastCheckpoint = date
        }
    }

    var current: WriterReport { report.withLock { $0 } }
}

/// The write-ahead log's size after the writer's last commit, from SQLite's WAL hook: the
/// writer checkpoints itself once it passes `WALWatch.checkpointPages`, instead of SQLite's
/// automatic checkpoint inside a commit, so that it knows when it did. Touched on the writer's
/// thread only.
final class WALWatch {
    /// SQLite's own threshold for its automatic checkpoint.
    static let checkpointPages: Int32 = 1000
    var pages: Int32 = 0

    /// Installs the hook on the writer's connection (replacing the automatic checkpoint).
    func install(on handle: OpaquePointer) {
        sqlite3_wal_hook(handle, { context, _, _, pages in
            guard let context else { return SQLITE_OK }
            Unmanaged<WALWatch>.fromOpaque(context).takeUnretainedValue().pages = pages
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }
}
