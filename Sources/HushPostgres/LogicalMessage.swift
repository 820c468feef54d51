import Foundation

/// A position in PostgreSQL's write-ahead log (`0/16B3748` in its text form).
public struct LSN: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }

    /// `X/Y`, both hex, as the server writes it; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, parts.allSatisfy({ (1...8).contains($0.count) }),
              let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16) else { return nil }
        value = high << 32 | low
    }

    public var description: String { String(value >> 32, radix: 16, uppercase: true) + "/" + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true) }
    public static func < (a: LSN, b: LSN) -> Bool { a.value < b.value }
}

/// One message of the `pgoutput` plugin (protocol version 1), decoded from the bytes of a
/// replication stream's XLogData. The stream is input from outside like any other: every
/// length and count is checked against the bytes there are, and anything else is refused.
public enum LogicalMessage: Equatable, Sendable {
    public struct Column: Equatable, Sendable {
        public let name: String
        public let typeOID: UInt32
        /// Part of the replica identity (the key an update or delete names the row by).
        public let isKey: Bool

        public init(name: String, typeOID: UInt32, isKey: Bool) {
            self.name = name; self.typeOID = typeOID; self.isKey = isKey
        }
    }

    /// A column's value in a row: text, NULL, or a large value the update did not change.
    public enum Value: Equatable, Sendable {
        case null, unchangedToast, text(String)
        public var text: String? { if case .text(let t) = self { return t } else { return nil } }
    }

    case begin(finalLSN: LSN, commitTime: Date, xid: UInt32)
    case commit(commitLSN: LSN, endLSN: LSN, commitTime: Date)
    case relation(id: UInt32, namespace: String, name: String, columns: [Column])
    case insert(relation: UInt32, new: [Value])
    /// `old` is the key (or the whole old row, with replica identity full) when the server sent it.
    case update(relation: UInt32, old: [Value]?, new: [Value])
    case delete(relation: UInt32, old: [Value])
    case truncate(relations: [UInt32], cascade: Bool, restartIdentity: Bool)
    /// A message `pg_logical_emit_message` wrote into the WAL (sent when the stream was started
    /// with messages on): hush's nodes use non-transactional ones to learn how current they are.
    case logical(transactional: Bool, lsn: LSN, prefix: String, content: [UInt8])
    /// Origin and type messages: nothing hush needs.
    case other(kind: UInt8)

    /// Decodes one message; throws naming what is wrong with it.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(PGError) -> LogicalMessage {
        var r = Reader(bytes: bytes)
        let kind = try r.byte()
        let message: LogicalMessage
        switch kind {
        case UInt8(ascii: "B"):
            message = .begin(finalLSN: LSN(try r.u64()), commitTime: Self.date(try r.i64()), xid: try r.u32())
        case UInt8(ascii: "C"):
            _ = try r.byte()
            message = .commit(commitLSN: LSN(try r.u64()), endLSN: LSN(try r.u64()), commitTime: Self.date(try r.i64()))
        case UInt8(ascii: "R"):
            let id = try r.u32(), namespace = try r.string(), name = try r.string()
            _ = try r.byte() // replica identity setting
            let count = try r.u16()
            var columns: [Column] = []
            for _ in 0..<count {
                let flags = try r.byte(), columnName = try r.string(), type = try r.u32()
                _ = try r.u32() // type modifier
                columns.append(Column(name: columnName, typeOID: type, isKey: flags & 1 == 1))
            }
            message = .relation(id: id, namespace: namespace, name: name, columns: columns)
        case UInt8(ascii: "I"):
            let relation = try r.u32()
            guard try r.byte() == UInt8(ascii: "N") else { throw PGError("an insert message without its new row") }
            message = .insert(relation: relation, new: try r.tuple())
        case UInt8(ascii: "U"):
            let relation = try r.u32()
            var marker = try r.byte()
            var old: [Value]?
            if marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") {
                old = try r.tuple()
                marker = try r.byte()
            }
            guard marker == UInt8(ascii: "N") else { throw PGError("an update message without its new row") }
            message = .update(relation: relation, old: old, new: try r.tuple())
        case UInt8(ascii: "D"):
            let relation = try r.u32()
            let marker = try r.byte()
            guard marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") else { throw PGError("a delete message without the deleted row's key") }
            message = .delete(relation: relation, old: try r.tuple())
        case UInt8(ascii: "T"):
            let count = try r.u32()
            let options = try r.byte()
            guard Int(count) <= r.remaining / 4 else { throw PGError("a truncate message names more relations than it holds") }
            var relations: [UInt32] = []
            for _ in 0..<count { relations.append(try r.u32()) }
            message = .truncate(relations: relations, cascade: options & 1 != 0, restartIdentity: options & 2 != 0)
        case UInt8(ascii: "M"):
            let flags = try r.byte(), lsn = LSN(try r.u64()), prefix = try r.string()
            let length = try r.u32()
            guard length <= UInt32(r.remaining) else { throw PGError("a logical message's content is longer than the message") }
            message = .logical(transactional: flags & 1 != 0, lsn: lsn, prefix: prefix, content: Array(try r.take(Int(length))))
        case UInt8(ascii: "O"), UInt8(ascii: "Y"):
            return .other(kind: kind)
        default:
            throw PGError("an unknown logical replication message (\(kind))")
        }
        guard r.remaining == 0 else { throw PGError("\(r.remaining) bytes after a logical replication message") }
        return message
    }

    /// PostgreSQL's timestamps: microseconds since 2000-01-01 UTC.
    static func date(_ microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: 946_684_800 + Double(microseconds) / 1_000_000)
    }

    /// Big-endian fields, each read only when the bytes are there.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        var remaining: Int { bytes.count - offset }

        mutating func take(_ count: Int) throws(PGError) -> UnsafeRawBufferPointer {
            guard count >= 0, count <= remaining else { throw PGError("a logical replication message ends early") }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
        }

        mutating func byte() throws(PGError) -> UInt8 { try take(1)[0] }
        mutating func u16() throws(PGError) -> UInt16 { UInt16(try unsigned(2)) }
        mutating func u32() throws(PGError) -> UInt32 { UInt32(try unsigned(4)) }
        mutating func u64() throws(PGError) -> UInt64 { try unsigned(8) }
        mutating func i64() throws(PGError) -> Int64 { Int64(bitPattern: try unsigned(8)) }

        private mutating func unsigned(_ size: Int) throws(PGError) -> UInt64 {
            try take(size).reduce(0) { $0 << 8 | UInt64($1) }
        }

        /// A NUL-terminated string.
        mutating func string() throws(PGError) -> String {
            guard let end = bytes[offset...].firstIndex(of: 0) else { throw PGError("a string in a logical replication message is not terminated") }
            let text = try take(end - offset)
            offset += 1
            return String(decoding: text, as: UTF8.self)
        }

        /// TupleData: a column count, then each column as NULL, an unchanged TOAST value, or text.
        mutating func tuple() throws(PGError) -> [Value] {
            let count = try u16()
            var values: [Value] = []
            values.reserveCapacity(Int(count))
            for _ in 0..<count {
                switch try byte() {
                case UInt8(ascii: "n"): values.append(.null)
                case UInt8(ascii: "u"): values.append(.unchangedToast)
                case UInt8(ascii: "t"):
                    let length = try u32()
                    guard length <= UInt32(Int32.max) else { throw PGError("a column's length is out of range") }
                    let text = try take(Int(length))
                    guard let value = String(validating: text, as: UTF8.self) else { throw PGError("a column's text is not UTF-8") }
                    values.append(.text(value))
                case let other:
                    throw PGError("an unknown column kind (\(other)) in a row")
                }
            }
            return values
        }
    }
}
