import Foundation
import HushStore
import Synchronization

/// One import as `GET /v1/import/jobs/{id}` shows it: what it is, where it is, and its counts.
/// The sink updates it as the body streams in, the writer as rows are written.
final class ImportJob: Sendable {
    enum State: String, Sendable {
        /// The body is streaming in: rows are read, validated and staged.
        case receiving
        /// Every row was valid: the writer is writing them, all or nothing.
        case writing
        /// Committed (or, for a dry run, counted and rolled back).
        case done
        /// Nothing was written: bad lines, too many rows, a cut-off upload, or a store error.
        case failed
    }

    struct Progress: Sendable {
        var state = State.receiving
        var rowsRead = 0
        var rowsValid = 0
        var rowsWritten = 0
        var badLines = 0
        var lines: [ImportSink.BadLine] = []
        var writingSince: Date?
        var finishedAt: Date?
        var imported: Int?
        var unchanged: Int?
        var error: String?
    }

    let id: String
    let kind: ImportSink.Kind
    let dryRun: Bool
    let actor: String
    let startedAt: Date
    private let progress = Mutex(Progress())

    init(kind: ImportSink.Kind, dryRun: Bool, actor: String, now: Date) {
        id = StoreRows.newID(now: now)
        self.kind = kind
        self.dryRun = dryRun
        self.actor = actor
        startedAt = now
    }

    func update(_ change: (inout Progress) -> Void) { progress.withLock { change(&$0) } }
    var current: Progress { progress.withLock { $0 } }

    /// Ends the job (once: a later end changes nothing).
    func finish(imported: Int? = nil, unchanged: Int? = nil, error: String? = nil, now: Date = Date()) {
        update { p in
            guard p.state == .receiving || p.state == .writing else { return }
            p.state = error == nil ? .done : .failed
            p.imported = imported
            p.unchanged = unchanged
            p.error = error
            p.finishedAt = now
        }
    }

    /// Ends a job still receiving its body (the upload was cut off); any other state stays.
    func abandon(_ reason: String, now: Date = Date()) {
        update { p in
            guard p.state == .receiving else { return }
            p.state = .failed
            p.error = reason
            p.finishedAt = now
        }
    }

    var isFinished: Bool { let s = current.state; return s == .done || s == .failed }

    /// The job as JSON: `rows_per_second` is the current phase's (reading, then writing) or,
    /// once finished, the whole import's.
    func write(_ w: inout JSONWriter, now: Date = Date()) {
        let p = current
        w.objectStart()
        w.key("job_id"); w.string(id)
        w.key("kind"); w.string(kind.rawValue)
        w.key("state"); w.string(p.state.rawValue)
        w.key("dry_run"); w.bool(dryRun)
        w.key("by"); w.string(actor)
        w.key("started_at"); w.time(startedAt)
        w.key("finished_at"); w.time(p.finishedAt)
        w.key("lines_read"); w.integer(p.rowsRead)
        w.key("rows_valid"); w.integer(p.rowsValid)
        w.key("rows_written"); w.integer(p.rowsWritten)
        let rate: Double
        switch p.state {
        case .receiving: rate = Double(p.rowsRead) / max(now.timeIntervalSince(startedAt), 0.001)
        case .writing: rate = Double(p.rowsWritten) / max(now.timeIntervalSince(p.writingSince ?? startedAt), 0.001)
        case .done, .failed: rate = Double(p.rowsRead) / max((p.finishedAt ?? now).timeIntervalSince(startedAt), 0.001)
        }
        w.key("rows_per_second"); w.integer(Int(rate.rounded()))
        w.key("errors"); w.integer(p.badLines)
        ImportSink.writeLines(&w, p.lines)
        if dryRun {
            w.key("would_import"); p.imported.map { w.integer($0) } ?? w.null()
        } else {
            w.key("imported"); p.imported.map { w.integer($0) } ?? w.null()
        }
        w.key("unchanged"); p.unchanged.map { w.integer($0) } ?? w.null()
        w.key("error"); w.string(p.error)
        w.objectEnd()
    }
}

/// The imports this server has seen: every running one, and the most recent finished ones (at
/// most `keptFinished`, none older than `keptFor`), for `GET /v1/import/jobs`.
final class ImportJobs: Sendable {
    static let keptFinished = 100
    static let keptFor: TimeInterval = 24 * 3600
    private let jobs = Mutex<[ImportJob]>([])

    func add(_ job: ImportJob) {
        jobs.withLock { jobs in
            jobs.append(job)
            Self.prune(&jobs, now: job.startedAt)
        }
    }

    func job(_ id: String) -> ImportJob? { jobs.withLock { $0.first { $0.id == id } } }

    /// Newest first.
    func all(now: Date = Date()) -> [ImportJob] {
        jobs.withLock { jobs in
            Self.prune(&jobs, now: now)
            return jobs.reversed()
        }
    }

    private static func prune(_ jobs: inout [ImportJob], now: Date) {
        var finished = 0
        // Newest first, so the oldest finished jobs are the ones dropped.
        jobs = jobs.reversed().filter { job in
            guard job.isFinished else { return true }
            finished += 1
            return finished <= keptFinished && now.timeIntervalSince(job.current.finishedAt ?? job.startedAt) < keptFor
        }.reversed()
    }
}
