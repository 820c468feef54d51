import Foundation
import HushCore

/// A row an import can stage on disk: the columns it keeps, its sort key, and how it is read back.
public protocol StagedRow: Sendable {
    /// The stage's columns (after `key`), in the order `stageValues` binds and `unstage` reads them.
    static var stageColumns: [String] { get }
    /// The key rows are written in: the order of the B-tree the row's table is keyed by.
    var stageKey: String { get }
    /// The columns' values as text (nil for NULL), as PostgreSQL's rows are read too.
    var stageValues: [String?] { get }
    /// `zone` finds a time zone by name (cached: `TimeZone(identifier:)` is slow).
    static func unstage<R: ColumnRow>(_ row: R, zone: (String) -> TimeZone?) throws(StoreError) -> Self
}

/// The validated rows of one import, written to a scratch SQLite file beside the database
/// (`<database>.import-<random>`) as
/// they stream in, so that an import of any size holds only a page cache's worth of them in
/// memory. The writer reads them back in key order (`ORDER BY key, seq`: SQLite's external
/// merge sort, which spills its runs to temporary files), rows with equal keys in file order;
/// rows that came in key order are read back as they came.
///
/// One thread appends (the event loop the upload arrives on), then `close()`; then one thread
/// reads (the writer). Each has a helper thread (`ScratchTable`), so that the file's work runs
/// beside theirs. The file is removed when the stage is released, or at the next start if the
/// process died first (`removeLeftovers`).
public final class ImportStage<Element: StagedRow>: @unchecked Sendable {
    public var path: String { table.path }
    private let table: ScratchTable<Element>
    /// Rows staged so far.
    public private(set) var count = 0
    /// Whether the rows came in key order (byte order, as SQLite compares text), as a list
    /// exported sorted by its ids does: then they are read back in the order they were staged,
    /// without a sort.
    public private(set) var inKeyOrder = true
    private var lastKey = ""
    /// Rows written to the file in one transaction of the stage.
    static var batchRows: Int { ScratchTable<Element>.batchRows }
    /// Rows the reading thread decodes before handing them to the writer.
    static var readBatchRows: Int { ScratchTable<Element>.readBatchRows }

    /// A new, empty stage beside the database at `database`.
    public init(beside database: String) throws(StoreError) {
        let columns = Element.stageColumns.joined(separator: ", ")
        let marks = (1...(Element.stageColumns.count + 1)).map { "?\($0)" }.joined(separator: ", ")
        table = try ScratchTable(path: ImportStageFiles.newPath(beside: database),
                                 create: "CREATE TABLE staged (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, \(columns))",
                                 insert: "INSERT INTO staged (key, \(columns)) VALUES (\(marks))",
                                 values: { [.text($0.stageKey)] + $0.stageValues.map { SQLValue.optional($0) } })
    }

    /// Stages one row (written with the next batch). Throws what stopped the writing of an
    /// earlier batch (the disk is full), if anything did.
    public func append(_ row: Element) throws(StoreError) {
        if inKeyOrder {
            let key = row.stageKey
            if key.utf8.lexicographicallyPrecedes(lastKey.utf8) { inKeyOrder = false } else { lastKey = key }
        }
        try table.append(row)
        count += 1
    }

    /// Writes the rows still in memory and waits until every row is in the file.
    public func close() throws(StoreError) { try table.close() }

    /// Every staged row in key order, equal keys in the order they were staged; `body` runs on
    /// the calling thread, while a thread of the stage's own reads the rows through a connection
    /// of its own and decodes them, a batch ahead. Call after `close()`, as often as needed (a
    /// write job that is run again reads them again).
    public func forEachInKeyOrder(_ body: (Element) throws(StoreError) -> Void) throws(StoreError) {
        let select = "SELECT \(Element.stageColumns.joined(separator: ", ")) FROM staged ORDER BY \(inKeyOrder ? "seq" : "key, seq")"
        var zones = ZoneTable()
        try table.forEach(select, sortCacheKiB: inKeyOrder ? nil : 65_536, decode: { row throws(StoreError) in try Element.unstage(row, zone: { zones.zone($0) }) }, body)
    }

    /// Removes the file (idempotent), after the thread writing to it has stopped.
    public func remove() { table.remove() }
}

/// Rows of passing data in a scratch SQLite file, written by a thread of the table's own a
/// batch behind `append` and read back by another a batch ahead of `forEach`'s body: the file's
/// work runs on another core beside the caller's. One thread appends, then `close()`; then one
/// thread reads, as often as needed. The file goes with `remove()` or the table.
final class ScratchTable<Element: Sendable>: @unchecked Sendable {
    let path: String
    /// Hands full batches to the thread that writes them to the file; nil once closed or removed.
    private var writing: Handoff<[Element]>?
    private var pending: [Element] = []
    /// Rows written to the file in one transaction.
    static var batchRows: Int { 4096 }
    /// Rows the reading thread decodes before handing them over.
    static var readBatchRows: Int { 1024 }

    /// Makes the file at `path` and its table (`create`), here, so that a directory that cannot
    /// be written fails at once; rows are written by `insert` with the values `values` gives.
    init(path: String, create: String, insert: String, values: @escaping @Sendable (Element) -> [SQLValue]) throws(StoreError) {
        self.path = path
        do {
            try Database(path: path, mode: .scratch).exec(create)
        } catch {
            unlink(path)
            throw error
        }
        let handoff = Handoff<[Element]>(capacity: 2)
        writing = handoff
        Handoff<[Element]>.startThread(named: "hush-scratch-wr") {
            do throws(StoreError) {
                let database = try Database(path: path, mode: .scratch)
                let statement = try database.prepare(insert)
                while let batch = try handoff.take() {
                    try database.exec("BEGIN")
                    do throws(StoreError) {
                        for row in batch { try statement.run(values(row)) }
                        try database.exec("COMMIT")
                    } catch {
                        try? database.exec("ROLLBACK")
                        throw error
                    }
                }
                handoff.end(nil)
            } catch {
                handoff.end(error)
            }
        }
    }

    deinit { remove() }

    /// Adds one row (written with the next batch). Throws what stopped the writing of an
    /// earlier batch (the disk is full), if anything did.
    func append(_ row: Element) throws(StoreError) {
        guard let writing else { throw Self.closed }
        pending.append(row)
        if pending.count >= Self.batchRows {
            guard writing.put(pending) else { throw writing.consumerFailure ?? Self.closed }
            pending = []
            pending.reserveCapacity(Self.batchRows)
        }
    }

    /// Writes the rows still in memory and waits until every row is in the file.
    func close() throws(StoreError) {
        guard let writing else { return }
        let handed = pending.isEmpty || writing.put(pending)
        pending = []
        writing.finish(nil)
        self.writing = nil
        if let error = writing.waitForConsumer() { throw error }
        guard handed else { throw Self.closed }
    }

    private static var closed: StoreError { StoreError(kind: .internalError, message: "rows were added to \(Self.self) after it was closed or removed") }

    /// Every row `select` reads, decoded by `decode` on the reading thread, handed to `body` on
    /// the calling thread; with `sortCacheKiB`, the reading connection's page cache (which bounds
    /// the sort's runs in memory; SQLite's default is 2,000 KiB). Call after `close()`.
    func forEach(_ select: String, sortCacheKiB: Int? = nil, decode: @escaping (Row) throws(StoreError) -> Element,
                 _ body: (Element) throws(StoreError) -> Void) throws(StoreError) {
        // Opening a removed file would make an empty one, and the reader would read nothing.
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(kind: .internalError, message: "the import's staged rows at \(path) are gone")
        }
        let handoff = Handoff<[Element]>(capacity: 4)
        let path = self.path
        // The decoder runs on the reading thread only, and is done with when `forEach` returns.
        nonisolated(unsafe) let decode = decode
        Handoff<[Element]>.startThread(named: "hush-scratch-rd") {
            do throws(StoreError) {
                let reader = try Database(path: path, mode: .scratch)
                // Larger sorted runs for the sort, if asked for, and its spill files, not memory, past that.
                if let sortCacheKiB { try reader.exec("PRAGMA cache_size=-\(sortCacheKiB)") }
                try reader.exec("PRAGMA temp_store=FILE")
                var batch: [Element] = []
                batch.reserveCapacity(Self.readBatchRows)
                try reader.prepare(select).query([]) { row throws(StoreError) in
                    batch.append(try decode(row))
                    if batch.count == Self.readBatchRows {
                        guard handoff.put(batch) else { throw Self.stopped }
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                if !batch.isEmpty, !handoff.put(batch) { throw Self.stopped }
                handoff.finish(nil)
            } catch {
                handoff.finish(error)
            }
        }
        do {
            while let batch = try handoff.take() {
                for row in batch { try body(row) }
            }
        } catch {
            handoff.end(error)
            _ = handoff.waitForProducer()
            throw error
        }
        handoff.end(nil)
        if let error = handoff.waitForProducer() { throw error }
    }

    /// What the reading thread stops on when the caller has stopped taking rows.
    private static var stopped: StoreError { StoreError(kind: .internalError, message: "the rows of \(Self.self) were no longer read") }

    /// Removes the file (idempotent), after the thread writing to it has stopped.
    func remove() {
        if let writing {
            writing.finish(nil, dropQueued: true)
            _ = writing.waitForConsumer()
            self.writing = nil
        }
        pending = []
        unlink(path)
    }
}

/// The stage files beside a database.
public enum ImportStageFiles {
    /// What a stage file's name adds to the database's.
    static let infix = ".import-"

    /// A new file name beside the database at `database`, for an import's passing rows.
    static func newPath(beside database: String) -> String {
        var random = [UInt8](repeating: 0, count: 8)
        random.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, 8) }
        return database + infix + Hex.encode(random)
    }

    /// Removes the stage files of the database at `database` that a process stopped mid-import
    /// left. Call with the database's write lock held: no other process stages beside it then.
    public static func removeLeftovers(beside database: String) {
        let url = URL(fileURLWithPath: database)
        let directory = url.deletingLastPathComponent().path, prefix = url.lastPathComponent + infix
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            let suffix = name.dropFirst(prefix.count)
            guard suffix.count == 16, suffix.allSatisfy(\.isHexDigit) else { continue }
            unlink((directory as NSString).appendingPathComponent(name))
        }
    }
}

/// The rows of one import in key order, read once: from memory, or from an `ImportStage`.
public struct ImportRows<Element: StagedRow>: Sendable {
    let each: @Sendable ((Element) throws(StoreError) -> Void) throws(StoreError) -> Void

    /// Rows held in memory, sorted here.
    public static func array(_ rows: [Element]) -> ImportRows {
        ImportRows { body throws(StoreError) in
            for row in StoreRows.inKeyOrder(rows, key: \.stageKey) { try body(row) }
        }
    }

    /// Rows staged on disk, sorted by SQLite.
    public static func stage(_ stage: ImportStage<Element>) -> ImportRows {
        ImportRows { body throws(StoreError) in try stage.forEachInKeyOrder(body) }
    }

    /// These rows, calling `report` with the count read so far every `every` rows and at the end.
    public func counting(every: Int = 4096, _ report: @escaping @Sendable (Int) -> Void) -> ImportRows {
        let each = self.each
        return ImportRows { body throws(StoreError) in
            var count = 0
            try each { row throws(StoreError) in
                try body(row)
                count += 1
                if count % every == 0 { report(count) }
            }
            report(count)
        }
    }

    public func forEach(_ body: (Element) throws(StoreError) -> Void) throws(StoreError) {
        try withoutActuallyEscaping(body) { body throws(StoreError) in try each(body) }
    }
}

extension Suppression: StagedRow {
    public static var stageColumns: [String] { StoreRows.suppressionColumns.components(separatedBy: ", ") }
    public var stageKey: String { subject.sortKey }
    public var stageValues: [String?] {
        let (customerID, address, addressKind) = StoreRows.subjectColumns(subject)
        return [id, customerID, address, addressKind, kind.rawValue, Codec.joined(channels?.map(\.rawValue)),
                Codec.joined(purposes?.map(\.rawValue)), source, confirmed ? "1" : "0", expiresAt.map { String(Codec.millis($0)) }]
    }
    public static func unstage<R: ColumnRow>(_ row: R, zone: (String) -> TimeZone?) throws(StoreError) -> Suppression { try StoreRows.suppression(row) }
}

extension ServiceCase: StagedRow {
    public static var stageColumns: [String] { StoreRows.caseColumns.components(separatedBy: ", ") }
    public var stageKey: String { id }
    public var stageValues: [String?] {
        [id, customerID, severity.rawValue, status.rawValue, String(Codec.millis(openedAt)), closedAt.map { String(Codec.millis($0)) },
         resolution?.rawValue, String(Codec.millis(updatedAt))]
    }
    public static func unstage<R: ColumnRow>(_ row: R, zone: (String) -> TimeZone?) throws(StoreError) -> ServiceCase {
        guard let found = StoreRows.serviceCase(row) else {
            throw StoreError(kind: .internalError, message: "a staged case holds an unknown severity or status")
        }
        return found
    }
}

extension Profile: StagedRow {
    public static var stageColumns: [String] { ["customer_id", "region", "timezone", "email", "phone"] }
    public var stageKey: String { customerID }
    public var stageValues: [String?] { [customerID, region, timeZone?.name, email, phone] }
    public static func unstage<R: ColumnRow>(_ row: R, zone: (String) -> TimeZone?) throws(StoreError) -> Profile {
        var timeZone: TimeZone?
        if let name = row.text(2) {
            guard let found = zone(name) else { throw StoreError(kind: .internalError, message: "a staged profile holds an unknown time zone") }
            timeZone = found
        }
        return Profile(customerID: row.text(0) ?? "", region: row.text(1), timeZone: timeZone, email: row.text(3), phone: row.text(4))
    }
}
