/// The header fields of one request: a copy of the field lines' bytes plus the position of
/// each name and value in it. Duplicates are kept in order; nothing is folded into a
/// dictionary, so a repeated field can never silently replace the first one.
public struct HeaderFields: Sendable, RandomAccessCollection {
    struct Slot: Sendable {
        var nameStart: Int32, nameEnd: Int32, valueStart: Int32, valueEnd: Int32
    }

    let bytes: [UInt8]
    let slots: [Slot]

    init(bytes: [UInt8], slots: [Slot]) {
        self.bytes = bytes
        self.slots = slots
    }

    /// An empty set of fields.
    public init() {
        self.init(bytes: [], slots: [])
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { slots.count }

    /// The field at `index`: its name as sent and its value without surrounding whitespace.
    public subscript(index: Int) -> (name: String, value: String) {
        let slot = slots[index]
        return (string(slot.nameStart, slot.nameEnd), string(slot.valueStart, slot.valueEnd))
    }

    /// The value of the first field named `name` (compared case-insensitively), or nil.
    public func first(_ name: String) -> String? {
        for slot in slots where nameEquals(slot, name) {
            return string(slot.valueStart, slot.valueEnd)
        }
        return nil
    }

    /// The value of the first field named `name`, a lower-case literal: the fast form for the
    /// fields looked up on every request.
    public func first(lowercase name: StaticString) -> String? {
        withFirstValue(lowercase: name) { value in value.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// The bytes of the value of the first field named `name` (a lower-case literal), or nil,
    /// lent to `body`: for a check of a value that needs no String.
    public func withFirstValue<Result>(lowercase name: StaticString, _ body: (UnsafeBufferPointer<UInt8>?) -> Result) -> Result {
        for slot in slots where nameEquals(slot, lowercase: name) {
            return bytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[Int(slot.valueStart)..<Int(slot.valueEnd)])) }
        }
        return body(nil)
    }

    /// The values of every field named `name`, in order.
    public func values(_ name: String) -> [String] {
        slots.filter { nameEquals($0, name) }.map { string($0.valueStart, $0.valueEnd) }
    }

    func nameEquals(_ slot: Slot, _ name: String) -> Bool {
        let length = Int(slot.nameEnd - slot.nameStart)
        guard name.utf8.count == length else { return false }
        var i = Int(slot.nameStart)
        for c in name.utf8 {
            if ASCII.lower(bytes[i]) != ASCII.lower(c) { return false }
            i += 1
        }
        return true
    }

    /// `nameEquals` for a lower-case literal: a length check, then bytes, no String machinery.
    func nameEquals(_ slot: Slot, lowercase name: StaticString) -> Bool {
        let length = Int(slot.nameEnd - slot.nameStart)
        guard name.utf8CodeUnitCount == length else { return false }
        let literal = name.utf8Start
        return bytes.withUnsafeBufferPointer { buffer in
            var i = 0
            while i < length {
                if ASCII.lower(buffer[Int(slot.nameStart) + i]) != literal[i] { return false }
                i += 1
            }
            return true
        }
    }

    func valueBytes(_ slot: Slot) -> ArraySlice<UInt8> {
        bytes[Int(slot.valueStart)..<Int(slot.valueEnd)]
    }

    private func string(_ start: Int32, _ end: Int32) -> String {
        String(decoding: bytes[Int(start)..<Int(end)], as: UTF8.self)
    }
}

/// Byte classes of RFC 9110 §5.6.2 and RFC 5234 appendix B.1.
enum ASCII {
    static let cr: UInt8 = 13, lf: UInt8 = 10, sp: UInt8 = 32, htab: UInt8 = 9
    static let colon = UInt8(ascii: ":"), semicolon = UInt8(ascii: ";"), comma = UInt8(ascii: ",")

    /// tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    /// (RFC 9110 §5.6.2), as two 64-bit masks (bytes 0–63 and 64–127): a test without a table lookup,
    /// a lazy global or a bounds check, for the parser's per-byte loops.
    static let tcharLow: UInt64 = 0x03FF_6CFA_0000_0000, tcharHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    @inline(__always) static func isTchar(_ b: UInt8) -> Bool {
        b < 64 ? (tcharLow >> UInt64(b)) & 1 != 0 : b < 128 && (tcharHigh >> UInt64(b - 64)) & 1 != 0
    }
    /// field-vchar / SP / HTAB: anything but CTLs (HTAB excepted) and DEL (RFC 9110 §5.5).
    @inline(__always) static func isFieldByte(_ b: UInt8) -> Bool { b == htab || (b >= 0x20 && b != 0x7F) }
    @inline(__always) static func isOWS(_ b: UInt8) -> Bool { b == sp || b == htab }
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b | 0x20 : b }
}
