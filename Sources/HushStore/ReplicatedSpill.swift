import Foundation

/// The rows of one large replicated transaction, kept in a scratch file beside the image while
/// the stream brings them (an import of millions of rows is one transaction on the primary),
/// so that a node holds a bounded number of them in memory; read back in the order they came
/// when the transaction is applied. The file is removed with `remove()`, when the spill is
/// released, or at the next start if the process died first (`ImportStageFiles.removeLeftovers`).
///
/// One thread appends, then `close()`; then one thread reads (the image's writer), as often as needed.
public final class ReplicatedSpill: @unchecked Sendable {
    /// One row as the stream brought it: its table, its values (nil for a delete), its key, and
    /// whether it was an insert.
    struct Spilled: Sendable {
        var table: ReplicatedTable
        var values: [String?]?
        var key: String
        var inserted = false
    }

    private let table: ScratchTable<Spilled>
    /// Rows appended so far.
    public private(set) var count = 0

    /// A new, empty spill beside the database at `database`.
    public init(beside database: String) throws(StoreError) {
        table = try ScratchTable(path: ImportStageFiles.newPath(beside: database),
                                 create: "CREATE TABLE spilled (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, key TEXT NOT NULL, vals BLOB, ins INTEGER NOT NULL)",
                                 insert: "INSERT INTO spilled (tbl, key, vals, ins) VALUES (?1, ?2, ?3, ?4)",
                                 values: { [.text($0.table.rawValue), .text($0.key), $0.values.map { .blob(Self.encode($0)) } ?? .null,
                                            .integer($0.inserted ? 1 : 0)] })
    }

    public var path: String { table.path }

    /// Adds one row (written to the file by a thread of the spill's own, a batch behind).
    public func append(_ table: ReplicatedTable, values: [String?]?, key: String, inserted: Bool = false) throws(StoreError) {
        try self.table.append(Spilled(table: table, values: values, key: key, inserted: inserted))
        count += 1
    }

    /// Writes the rows still in memory and waits until every row is in the file.
    public func close() throws(StoreError) { try table.close() }

    /// Every row, in the order appended. Call after `close()`.
    public func forEach(_ body: (ReplicatedTable, [String?]?, String, Bool) throws(StoreError) -> Void) throws(StoreError) {
        try table.forEach("SELECT tbl, key, vals, ins FROM spilled ORDER BY seq", decode: { row throws(StoreError) in
            guard let table = row.text(0).flatMap(ReplicatedTable.init(rawValue:)), let key = row.text(1) else {
                throw StoreError(kind: .internalError, message: "a spilled replicated row names no table or key")
            }
            let inserted = row.integer(3) == 1
            if row.isNull(2) { return Spilled(table: table, values: nil, key: key, inserted: inserted) }
            guard let values = row.withBlob(2, Self.decode) else {
                throw StoreError(kind: .internalError, message: "a spilled replicated row's values do not decode")
            }
            return Spilled(table: table, values: values, key: key, inserted: inserted)
        }) { row throws(StoreError) in try body(row.table, row.values, row.key, row.inserted) }
    }

    /// Removes the file (idempotent).
    public func remove() { table.remove() }

    /// Values as bytes: for each, 0 for NULL, or 1, its UTF-8 length (4 bytes, little-endian)
    /// and its UTF-8.
    static func encode(_ values: [String?]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.reduce(0) { $0 + 5 + ($1?.utf8.count ?? 0) })
        for value in values {
            guard let value else {
                bytes.append(0)
                continue
            }
            let length = UInt32(value.utf8.count)
            bytes.append(1)
            withUnsafeBytes(of: length.littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: value.utf8)
        }
        return bytes
    }

    /// The values `encode` made; nil for bytes it could not have made.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> [String?]? {
        var values: [String?] = []
        var at = 0
        while at < bytes.count {
            let marker = bytes[at]
            at += 1
            if marker == 0 {
                values.append(nil)
                continue
            }
            guard marker == 1, bytes.count - at >= 4 else { return nil }
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            at += 4
            guard bytes.count - at >= length else { return nil }
            guard let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + length)]), as: UTF8.self) else { return nil }
            values.append(text)
            at += length
        }
        return values
    }
}
