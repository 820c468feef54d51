import Foundation
import Synchronization
import HushCore

/// A result row, whichever store read it: SQLite's own, or PostgreSQL's values as text. The
/// record decoders below take either, so that both stores read a row the same way.
public protocol ColumnRow {
    func text(_ column: Int32) -> String?
    func integer(_ column: Int32) -> Int64?
}

extension Row: ColumnRow {}

/// A row of text values, as libpq returns them (nil for NULL); integers are parsed from their text.
public struct TextRow: ColumnRow {
    public let values: [String?]
    public init(_ values: [String?]) { self.values = values }

    public func text(_ column: Int32) -> String? {
        Int(column) < values.count ? values[Int(column)] : nil
    }

    public func integer(_ column: Int32) -> Int64? { text(column).flatMap { Int64($0) } }
}

/// The columns each decoder reads, in its order, and the decoders. Both schemas name them alike;
/// a boolean is read as 0 or 1 (`confirmed::int` on PostgreSQL).
public enum StoreRows {
    public static let caseColumns = "case_id, customer_id, severity, status, opened_at, closed_at, resolution, updated_at"
    public static let holdColumns = "id, title, reason, regions, channels, purposes, categories, starts_at, ends_at"
    public static let suppressionColumns = "id, customer_id, address, address_kind, kind, channels, purposes, source, confirmed, expires_at"
    public static let historyColumns = "seq, record_kind, record_id, at, actor, via, operation, before, after"

    /// A case row; nil when it holds an unknown severity or status.
    public static func serviceCase<R: ColumnRow>(_ row: R) -> ServiceCase? {
        guard let severity = Severity(rawValue: row.text(2) ?? ""), let status = CaseStatus(rawValue: row.text(3) ?? "") else { return nil }
        return ServiceCase(id: row.text(0) ?? "", customerID: row.text(1) ?? "", severity: severity, status: status,
                           openedAt: Codec.date(row.integer(4) ?? 0), closedAt: Codec.date(row.integer(5)),
                           resolution: row.text(6).flatMap(Resolution.init(rawValue:)), updatedAt: Codec.date(row.integer(7) ?? 0))
    }

    public static func hold<R: ColumnRow>(_ row: R) -> Hold {
        Hold(id: row.text(0) ?? "", title: row.text(1) ?? "", reason: row.text(2) ?? "", regions: Codec.strings(row.text(3)),
             channels: Codec.channels(row.text(4)), purposes: Codec.purposes(row.text(5)), categories: Codec.strings(row.text(6)).map(Set.init),
             startsAt: Codec.date(row.integer(7) ?? 0), endsAt: Codec.date(row.integer(8)))
    }

    public static func suppression<R: ColumnRow>(_ row: R) throws(StoreError) -> Suppression {
        guard let kind = SuppressionKind(rawValue: row.text(4) ?? "") else {
            throw StoreError(kind: .internalError, message: "a suppression row holds an unknown kind")
        }
        let subject: Subject
        if let customerID = row.text(1) {
            subject = .customer(customerID)
        } else if let address = row.text(2) {
            subject = row.text(3) == "phone" ? .address(.phone(address)) : .address(.email(address))
        } else {
            throw StoreError(kind: .internalError, message: "a suppression row has no subject")
        }
        return Suppression(id: row.text(0) ?? "", subject: subject, kind: kind, channels: Codec.channels(row.text(5)),
                           purposes: Codec.purposes(row.text(6)), source: row.text(7), confirmed: row.integer(8) == 1,
                           expiresAt: Codec.date(row.integer(9)))
    }

    /// The columns of a suppression as stored (`suppressionColumns` without the id, then
    /// `created_at`), as text: what a PostgreSQL statement binds.
    public static func subjectColumns(_ subject: Subject) -> (customerID: String?, address: String?, addressKind: String?) {
        switch subject {
        case .customer(let id): (id, nil, nil)
        case .address(.email(let a)): (nil, a, "email")
        case .address(.phone(let a)): (nil, a, "phone")
        }
    }

    /// `rows` in the order of `key` (bytes), rows with the same key in their own order: an
    /// import then writes the B-trees its rows' keys index front to back, each page once,
    /// rather than all over them (which, past the page cache, wrote and read pages again and
    /// again).
    static func inKeyOrder<Row>(_ rows: [Row], key: (Row) -> String) -> [Row] {
        let keys = rows.map(key)
        let order = keys.indices.sorted { a, b in
            keys[a] == keys[b] ? a < b : keys[a].utf8.lexicographicallyPrecedes(keys[b].utf8)
        }
        return order.map { rows[$0] }
    }

    /// A new record's id: 32 lower-case hex digits, the first 12 the milliseconds since 1970,
    /// so that records made together (an import's) sit together in the B-trees their ids key
    /// rather than all over them, and the other 20 random (80 bits, from `IDRandomness`).
    public static func newID(now: Date = Date()) -> String {
        let ms = UInt64(max(0, (now.timeIntervalSince1970 * 1000).rounded(.down)))
        let (high, low) = IDRandomness.next80()
        // 12 digits of milliseconds (48 bits, to the year 10889) and 4 random, then 16 random.
        let (a, b) = Hex.digits(ms << 16 | UInt64(low)), (c, d) = Hex.digits(high)
        return String(unsafeUninitializedCapacity: 32) { buffer in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.storeBytes(of: a, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: b, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: c, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: d, toByteOffset: 24, as: UInt64.self)
            return 32
        }
    }
}

extension HistoryEntry {
    /// An entry from a row with `StoreRows.historyColumns`; nil when it holds an unknown kind.
    public init?<R: ColumnRow>(_ row: R) {
        guard let kind = row.text(1).flatMap(Kind.init(rawValue:)), let recordID = row.text(2), let at = row.integer(3),
              let actor = row.text(4), let via = row.text(5).flatMap(Actor.Via.init(rawValue:)),
              let operation = row.text(6).flatMap(Operation.init(rawValue:)) else { return nil }
        self.init(seq: row.integer(0) ?? 0, kind: kind, recordID: recordID, at: Codec.date(at), actor: actor, via: via,
                  operation: operation, before: row.text(7), after: row.text(8))
    }
}

/// One change of a record as the history keeps it, or nil when there is nothing to keep: the
/// record is unchanged as the API renders it. `before` nil is a creation, `after` nil a deletion.
public struct HistoryChange: Sendable {
    public let kind: HistoryEntry.Kind
    public let recordID: String
    public let customerID: String?
    public let address: String?
    public let operation: HistoryEntry.Operation
    public let before: String?
    public let after: String?

    public init?(before: HistoryRecord?, after: HistoryRecord?, render: HistoryRenderer) {
        guard let record = after ?? before else { return nil }
        let beforeText = before.map(render), afterText = after.map(render)
        if beforeText == afterText { return nil }
        operation = before == nil ? .create : after == nil ? .delete : .update
        kind = record.kind
        recordID = record.id
        (customerID, address) = record.about
        self.before = beforeText
        self.after = afterText
    }
}

extension StoreTransaction {
    /// Imports suppressions all or nothing (the caller's transaction is undone if any row
    /// fails). A row equal to a stored one counts as unchanged; one with the same identity but
    /// another source, confirmation or expiry updates it.
    public func importSuppressions(_ rows: [Suppression], now: Date) throws(StoreError) -> (imported: Int, unchanged: Int) {
        try importSuppressions(.array(rows), now: now)
    }

    /// Imports profiles all or nothing. A row equal to the stored profile counts as unchanged
    /// and is not written (its `updated_at` and history stay as they were). An erased id or
    /// address stays erased: its tombstone is kept, so decisions about it still suppress.
    public func importProfiles(_ rows: [Profile], now: Date) throws(StoreError) -> (imported: Int, unchanged: Int) {
        try importProfiles(.array(rows), now: now)
    }

    public func importProfiles(_ rows: ImportRows<Profile>, now: Date) throws(StoreError) -> (imported: Int, unchanged: Int) {
        var imported = 0, unchanged = 0
        try rows.forEach { row throws(StoreError) in
            if try readProfile(row.customerID) == row {
                unchanged += 1
                return
            }
            try upsertProfile(row, now: now)
            imported += 1
            try settleTouched()
        }
        return (imported, unchanged)
    }

    /// Imports cases all or nothing. A row equal to the stored case, or older than it (the
    /// `updated_at` guard), counts as unchanged.
    public func importCases(_ rows: [ServiceCase]) throws(StoreError) -> (imported: Int, unchanged: Int) {
        try importCases(.array(rows))
    }

    public func importCases(_ rows: ImportRows<ServiceCase>) throws(StoreError) -> (imported: Int, unchanged: Int) {
        var imported = 0, unchanged = 0
        try rows.forEach { row throws(StoreError) in
            if let current = try readCase(row.id), current == row.normalised {
                unchanged += 1
                return
            }
            switch try upsertCase(row) {
            case .created, .replaced: imported += 1
            case .stale: unchanged += 1
            }
            try settleTouched()
        }
        return (imported, unchanged)
    }
}

extension Subject {
    /// The subject as the suppressions' identity index orders it: addresses (no customer id)
    /// first, then customer ids.
    var sortKey: String {
        switch self {
        case .address(let address): "a" + address.value
        case .customer(let id): "c" + id
        }
    }
}

/// Random bytes for record ids, drawn from the kernel's generator 4 KiB at a time. glibc's
/// `arc4random_buf` (Debian 12) is one `getrandom` system call per call: one per id, which was
/// about 2 % of an import's writer. The bytes are the same generator's, each handed out once.
/// The pool lives as long as the process.
enum IDRandomness {
    private struct Pool: ~Copyable {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        var used = 4096
    }
    private static let pool = Mutex(Pool())

    /// The next 80 random bits.
    static func next80() -> (UInt64, UInt16) {
        pool.withLock { pool in
            if pool.used + 10 > pool.bytes.count {
                arc4random_buf(pool.bytes.baseAddress!, pool.bytes.count)
                pool.used = 0
            }
            let at = pool.bytes.baseAddress! + pool.used
            pool.used += 10
            return (at.loadUnaligned(as: UInt64.self), at.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        }
    }
}
