import Foundation
import Synchronization
import HushPostgres
import HushStore

/// Applies the system of record's changes, as the `hush` publication streams them, to a node's
/// SQLite image: each PostgreSQL transaction becomes one writer job on the image, with the
/// stream position it reached, so that the image is always as of some commit on the primary,
/// and a restart resumes from where the image is. Relations are matched by name to the tables
/// both schemas share; a relation, column or value the image does not know is refused.
public final class ImageApplier {
    private let store: SQLiteStore
    /// Per relation id: the table, and for each of its columns the position in the stream's rows.
    private var relations: [UInt32: (table: ReplicatedTable, positions: [Int])] = [:]
    /// One row of a transaction: its table, its values (nil for a delete), its key, and whether
    /// the stream brought it as an insert.
    private struct Row {
        var table: ReplicatedTable
        var values: [String?]?
        var key: String
        var inserted: Bool
    }
    private var pending: [Row] = []
    /// The running transaction's rows once there were more than `spillRows` of them: in a
    /// scratch file beside the image, not in memory (an import of millions of rows is one
    /// transaction on the primary).
    private var pendingSpill: ReplicatedSpill?
    /// Rows of one transaction held in memory before they go to a spill file.
    private let spillRows: Int
    /// The default `spillRows`: about 10 MB of rows.
    public static let spillRows = 20_000
    /// The image writer's page cache while it applies a spilled transaction (then SQLite's
    /// default again): `SQLiteTransaction.withPageCache`.
    static let largeTransactionCacheKiB = 65_536
    private var inTransaction = false
    /// `log_erasures`, which the image does not keep: its rows go to `onLogErasure` instead.
    private var logErasures: (relation: UInt32, subjects: Int)?
    private var pendingLogErasures: [String] = []
    private let onLogErasure: (@Sendable ([String]) -> Void)?
    /// The running transaction's id on the primary (its low 32 bits, as the stream names it),
    /// and when it committed there.
    private var xid: UInt32 = 0
    private var committedAt = Date(timeIntervalSince1970: 0)

    /// `onLogErasure` gets the decision-log subjects each erasure named, once its transaction
    /// was applied.
    public init(store: SQLiteStore, onLogErasure: (@Sendable ([String]) -> Void)? = nil, spillRows: Int = ImageApplier.spillRows) {
        self.store = store
        self.onLogErasure = onLogErasure
        self.spillRows = max(1, spillRows)
    }

    /// What `take` throws when the stream truncates a table. hush never does; an operator may.
    /// The rows removed are not in the stream, so the image cannot follow it: the follower loads
    /// a new image from a new snapshot. (Its SQLSTATE is none PostgreSQL sends: it only tells
    /// this error from the others.)
    public static let truncated = PGError("the stream truncated a table, which names none of the rows it removed: the image is loaded again from a new snapshot",
                                          sqlState: "hush-truncate")

    /// The subjects of a `log_erasures` row: 32 hex digits each, comma-separated; refused otherwise.
    static func logSubjects(_ text: String?) throws(PGError) -> [String] {
        let subjects = (text ?? "").split(separator: ",").map(String.init)
        guard !subjects.isEmpty, subjects.allSatisfy({ $0.utf8.count == 32 && $0.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) } }) else {
            throw PGError("a log_erasures row whose subjects are not keyed hashes")
        }
        return subjects
    }

    /// A transaction the image applied: its id on the primary and the position after its commit.
    public struct Applied: Sendable, Equatable {
        public let xid: UInt32
        public let end: LSN
        /// When it committed on the primary (the primary's clock).
        public let committedAt: Date
    }

    /// Transactions committed on the primary and not yet written to the image, in order.
    private var batch: [(spill: ReplicatedSpill?, rows: [Row], applied: Applied, logSubjects: [String])] = []

    /// Transactions staged by `take` and not yet written by `flush`.
    public var staged: Int { batch.count }

    /// Feeds one message and, at a commit, writes the transaction at once and returns it, with
    /// its end position, which the stream may then acknowledge.
    @discardableResult
    public func apply(_ message: LogicalMessage) throws(PGError) -> Applied? {
        guard try take(message) else { return nil }
        return try flush().last
    }

    /// Writes every staged transaction into the image in one SQLite transaction (one sync to
    /// disk for all of them), with the position after the last, and passes on the decision-log
    /// erasures they named; returns them in order. Nothing is written if any fails.
    /// While the image writes, `waiting` is called every `interval` seconds on the calling thread
    /// (the follower tells the primary it is alive: past `wal_sender_timeout` without a word, a
    /// walsender drops the connection).
    public func flush(every interval: TimeInterval = .infinity, whileWaiting waiting: () -> Void = {}) throws(PGError) -> [Applied] {
        guard let last = batch.last?.applied else { return [] }
        let transactions = batch
        batch.removeAll()
        defer { for transaction in transactions { transaction.spill?.remove() } }
        do {
            try store.writeSQLiteAndWait(every: interval, whileWaiting: waiting) { (w: SQLiteTransaction) throws(StoreError) in
                func apply() throws(StoreError) {
                    for transaction in transactions {
                        // A spilled transaction's rows are all in its file; the customers they
                        // touch are rebuilt as they go past the bound, not all at the end.
                        try transaction.spill?.forEach { table, values, key, inserted throws(StoreError) in
                            try w.applyReplicated(table, values: values, key: key, inserted: inserted)
                            try w.settleTouched()
                        }
                        for row in transaction.rows {
                            try w.applyReplicated(row.table, values: row.values, key: row.key, inserted: row.inserted)
                        }
                    }
                    try w.setReplicatedPosition(last.end.value)
                }
                if transactions.contains(where: { $0.spill != nil }) {
                    try w.withPageCache(kib: Self.largeTransactionCacheKiB, apply)
                } else {
                    try apply()
                }
            }
        } catch {
            throw PGError("the image could not apply a transaction: \(error.message)")
        }
        let subjects = transactions.flatMap(\.logSubjects)
        if !subjects.isEmpty { onLogErasure?(subjects) }
        return transactions.map(\.applied)
    }

    /// Feeds one message; true when it was a commit, whose transaction is now staged for `flush`.
    public func take(_ message: LogicalMessage) throws(PGError) -> Bool {
        switch message {
        case .begin(_, let commitTime, let xid):
            inTransaction = true
            self.xid = xid
            committedAt = commitTime
            dropPending()
        case .relation(let id, "public", "log_erasures", let columns):
            guard let at = columns.firstIndex(where: { $0.name == "subjects" }) else { throw PGError("the stream's log_erasures has no column subjects") }
            logErasures = (id, at)
        case .insert(let relation, let new) where relation == logErasures?.relation:
            pendingLogErasures += try Self.logSubjects(new[safe: logErasures!.subjects]?.text)
        case .update(let relation, _, _) where relation == logErasures?.relation, .delete(let relation, _) where relation == logErasures?.relation:
            break
        case .relation(let id, let namespace, let name, let columns):
            guard namespace == "public", let table = ReplicatedTable(rawValue: name) else {
                throw PGError("the stream names a relation the image does not keep: \(namespace).\(name)")
            }
            let names = columns.map(\.name)
            var positions: [Int] = []
            for column in table.sourceColumns {
                guard let at = names.firstIndex(of: column) else { throw PGError("the stream's \(name) has no column \(column)") }
                positions.append(at)
            }
            relations[id] = (table, positions)
        case .insert(let relation, let new):
            try stageRow(relation, row: new, inserted: true)
        case .update(let relation, let old, let new):
            if let old, let (table, positions) = relations[relation], let oldKey = old[safe: positions[0]]?.text,
               let newKey = new[safe: positions[0]]?.text, oldKey != newKey {
                try keep(table, nil, oldKey)
            }
            try stageRow(relation, row: new, inserted: false)
        case .delete(let relation, let old):
            guard let (table, positions) = relations[relation] else { throw PGError("a delete for relation \(relation) before its description") }
            guard let key = old[safe: positions[0]]?.text else { throw PGError("a delete from \(table.rawValue) without its key") }
            try keep(table, nil, key)
        case .commit(_, let end, _):
            guard inTransaction else { throw PGError("a commit without its begin") }
            inTransaction = false
            if let pendingSpill {
                do throws(StoreError) { try pendingSpill.close() } catch { throw Self.spillError(error) }
            }
            batch.append((pendingSpill, pending, Applied(xid: xid, end: end, committedAt: committedAt), pendingLogErasures))
            pendingSpill = nil
            pending.removeAll()
            pendingLogErasures.removeAll()
            return true
        case .truncate:
            dropPending()
            inTransaction = false
            throw Self.truncated
        case .other, .logical:
            break
        }
        return false
    }

    private func stageRow(_ relation: UInt32, row: [LogicalMessage.Value], inserted: Bool) throws(PGError) {
        guard let (table, positions) = relations[relation] else { throw PGError("a row for relation \(relation) before its description") }
        var values: [String?] = []
        for at in positions {
            guard let value = row[safe: at] else { throw PGError("a \(table.rawValue) row with too few columns") }
            switch value {
            case .text(let text): values.append(text)
            case .null: values.append(nil)
            case .unchangedToast: throw PGError("a \(table.rawValue) row with a value the stream left out (unchanged TOAST)")
            }
        }
        guard let key = values[0] else { throw PGError("a \(table.rawValue) row without its key") }
        try keep(table, values, key, inserted: inserted)
    }

    /// Keeps a row of the running transaction: in memory, or past `spillRows` in its spill file.
    private func keep(_ table: ReplicatedTable, _ values: [String?]?, _ key: String, inserted: Bool = false) throws(PGError) {
        do throws(StoreError) {
            if let pendingSpill {
                try pendingSpill.append(table, values: values, key: key, inserted: inserted)
                return
            }
            pending.append(Row(table: table, values: values, key: key, inserted: inserted))
            guard pending.count >= spillRows else { return }
            let spill = try ReplicatedSpill(beside: store.path)
            pendingSpill = spill
            for row in pending { try spill.append(row.table, values: row.values, key: row.key, inserted: row.inserted) }
            pending.removeAll()
        } catch {
            throw Self.spillError(error)
        }
    }

    private static func spillError(_ error: StoreError) -> PGError {
        PGError("the image could not keep a large transaction's rows: \(error.message)")
    }

    /// Forgets the running transaction's rows (and removes its spill file).
    private func dropPending() {
        pending.removeAll()
        pendingSpill?.remove()
        pendingSpill = nil
        pendingLogErasures.removeAll()
    }

    /// Empties the image of everything the stream brings, and forgets its position, in one
    /// transaction: before a new snapshot, when the slot it followed is gone (a failover).
    public func clear() throws(PGError) {
        relations.removeAll()
        dropPending()
        for transaction in batch { transaction.spill?.remove() }
        batch.removeAll()
        inTransaction = false
        do {
            try store.writeSQLiteAndWait { (w: SQLiteTransaction) throws(StoreError) in try w.clearReplicated() }
        } catch {
            throw PGError("the image could not be emptied: \(error.message)")
        }
    }

    /// Where the image is: the end of the last transaction it applied, if any.
    public var position: LSN? {
        (try? store.writeSQLiteAndWait { (w: SQLiteTransaction) throws(StoreError) in try w.replicatedPosition() }).flatMap { $0 }.map(LSN.init)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// A new node's first image: every row of the published tables as of a slot's exported
/// snapshot, read in batches through a cursor (memory stays bounded however large the tables)
/// and written into the image in batches; then the slot's consistent point as the image's
/// position, last, so that an image cut short by a crash has none and is loaded again.
public enum ImageSnapshot {
    /// Rows a batch reads and writes, unless the caller says otherwise.
    public static let batchRows = 20_000

    /// Loads `slot`'s snapshot through `db` (a regular connection, not the replication one)
    /// into `store`, which must be empty; returns the rows loaded per table.
    @discardableResult
    /// Erasures named in `log_erasures` go to `onLogErasure` (a node's decision log may hold
    /// lines from before the gap the snapshot closes).
    public static func load(into store: SQLiteStore, from db: PGConnection, slot: PGReplicationStream.Slot,
                            onLogErasure: (@Sendable ([String]) -> Void)? = nil,
                            report: ((String) -> Void)? = nil, batchRows: Int = ImageSnapshot.batchRows) throws(PGError) -> [ReplicatedTable: Int] {
        var counts: [ReplicatedTable: Int] = [:]
        let started = Date()
        do {
            try store.writeSQLiteAndWait { (w: SQLiteTransaction) throws(StoreError) in try w.dropIndexesForLoading() }
        } catch {
            throw PGError("the image could not be made ready for a snapshot: \(error.message)")
        }
        let writing = OneInFlight(store: store)
        try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        do throws(PGError) {
            try db.query("SET TRANSACTION SNAPSHOT '\(slot.snapshot.filter { $0.isHexDigit || $0 == "-" })'")
            for table in ReplicatedTable.allCases {
                let columns = table.sourceColumns.joined(separator: ", ")
                // In the image's key order (bytes, as SQLite compares text): each batch appends
                // to the table's B-tree rather than touching pages all over it.
                let key = table.sourceColumns[0] + (table.keyIsText ? " COLLATE \"C\"" : "")
                try db.execute("DECLARE hush_snapshot NO SCROLL CURSOR FOR SELECT \(columns) FROM \(table.rawValue) ORDER BY \(key)")
                while true {
                    // The next batch is read from PostgreSQL while the writer writes the last one.
                    let batch = try db.query("FETCH \(batchRows) FROM hush_snapshot").rows
                    if batch.isEmpty { break }
                    try writing.submit(table) { (w: SQLiteTransaction) throws(StoreError) in
                        for row in batch {
                            guard let key = row.first ?? nil else { throw StoreError(kind: .internalError, message: "a \(table.rawValue) row without its key") }
                            try w.applyReplicated(table, values: row, key: key, loading: true)
                        }
                    }
                    counts[table, default: 0] += batch.count
                }
                try db.execute("CLOSE hush_snapshot")
            }
            if let onLogErasure {
                var subjects: [String] = []
                for row in try db.query("SELECT subjects FROM log_erasures ORDER BY id").rows { subjects += try ImageApplier.logSubjects(row.first ?? nil) }
                if !subjects.isEmpty { onLogErasure(subjects) }
            }
            try writing.finish()
            try db.execute("COMMIT")
        } catch {
            try? writing.finish()
            try? db.execute("ROLLBACK")
            throw error
        }
        let copied = Date()
        do {
            try store.writeSQLiteAndWait { (w: SQLiteTransaction) throws(StoreError) in try w.restoreIndexesAfterLoading() }
        } catch {
            throw PGError("the image could not build its indexes: \(error.message)")
        }
        let indexed = Date()
        do {
            // Every customer's record, built once from all its rows, and then the position.
            try store.writeSQLiteAndWait { (w: SQLiteTransaction) throws(StoreError) in
                try w.touchEveryCustomer()
                try w.setReplicatedPosition(slot.consistentPoint.value)
            }
        } catch {
            throw PGError("the image could not record its position: \(error.message)")
        }
        let rows = counts.values.reduce(0, +)
        report?(String(format: "loaded a new image from slot %@: %d rows copied in %.1f s, indexed in %.1f s, customer records built in %.1f s",
                       slot.name, rows, copied.timeIntervalSince(started), indexed.timeIntervalSince(copied), Date().timeIntervalSince(indexed)))
        return counts
    }
}

/// Batches of a snapshot handed to the image's writer one at a time, without waiting for each:
/// the next is read while one is written. The first failure is thrown at the next submit.
private final class OneInFlight: @unchecked Sendable {
    private let store: SQLiteStore
    private let room = DispatchSemaphore(value: 1)
    private let failure = Mutex<PGError?>(nil)

    init(store: SQLiteStore) { self.store = store }

    func submit(_ table: ReplicatedTable, _ work: @escaping (SQLiteTransaction) throws(StoreError) -> Void) throws(PGError) {
        room.wait()
        if let error = failure.withLock({ $0 }) {
            room.signal()
            throw error
        }
        store.writeSQLite(work) { [self] result in
            if case .failure(let error) = result {
                failure.withLock { $0 = $0 ?? PGError("the image could not take the snapshot's \(table.rawValue): \(error.message)") }
            }
            room.signal()
        }
    }

    /// Waits for the batch being written; throws the first failure.
    func finish() throws(PGError) {
        room.wait()
        room.signal()
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
