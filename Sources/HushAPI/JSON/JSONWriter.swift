import Foundation
import HushCore

/// Writes compact JSON straight into a byte buffer: no intermediate strings or dictionaries.
/// The caller writes members in order; `comma` state is kept so that `key` and values can be
/// written one after another without thinking about separators.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next member or element needs a comma before it.
    private var needsComma = false

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func objectStart() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    public mutating func objectEnd() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func arrayStart() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    public mutating func arrayEnd() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// A member's key; the value follows with any of the value methods.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A key that is not known in advance (escaped like any string).
    public mutating func key(dynamic name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func null() { separate(); literal("null"); needsComma = true }

    public mutating func bool(_ value: Bool) {
        separate()
        if value { literal("true") } else { literal("false") }
        needsComma = true
    }

    private mutating func literal(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func integer<I: BinaryInteger>(_ value: I) {
        separate()
        let v = Int64(value)
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        digits(v.magnitude, radix: 10)
        needsComma = true
    }

    /// `value`'s digits in `radix` (lower-case letters past 9), appended and then turned
    /// around in place: no temporary buffer.
    private mutating func digits(_ value: UInt64, radix: UInt64) {
        let start = bytes.count
        var v = value
        repeat {
            let d = UInt8(v % radix)
            bytes.append(d < 10 ? d + 0x30 : d - 10 + 0x61)
            v /= radix
        } while v > 0
        bytes[start...].reverse()
    }

    public mutating func number(_ value: Double) {
        if value == value.rounded(), abs(value) < 1e15 { integer(Int64(value)); return }
        separate()
        bytes.append(contentsOf: Array("\(value)".utf8))
        needsComma = true
    }

    /// An RFC 3339 time (UTC, whole seconds), or null.
    public mutating func time(_ date: Date?) {
        guard let date else { null(); return }
        separate()
        bytes.append(UInt8(ascii: "\""))
        Timestamp.withBytes(date) { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// A string made of `prefix` (plain bytes that need no escaping) and `number` in base 36.
    public mutating func string(prefix: [UInt8], base36 number: UInt64) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: prefix)
        digits(number, radix: 36)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    public mutating func string(_ value: String?) {
        guard var text = value else { null(); return }
        separate()
        bytes.append(UInt8(ascii: "\""))
        text.withUTF8 { utf8 in
            var start = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i]))
                start = i + 1
                switch b {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    public mutating func strings<S: Sequence>(_ values: S?) where S.Element == String {
        guard let values else { null(); return }
        arrayStart()
        for value in values { string(value) }
        arrayEnd()
    }

    /// Bytes that are already JSON (one whole value).
    public mutating func raw(_ json: [UInt8]) {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .integer(let i): integer(i)
        case .number(let d): number(d)
        case .string(let s): string(s)
        case .array(let elements):
            arrayStart()
            for element in elements { self.value(element) }
            arrayEnd()
        case .object(let members):
            objectStart()
            for member in members {
                key(dynamic: member.key)
                self.value(member.value)
            }
            objectEnd()
        }
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }
}

/// Indents compact JSON for people (`?pretty`): two spaces a level, a space after each colon.
/// Works on the bytes, so it never changes a value.
public enum JSONPretty {
    public static func format(_ compact: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(compact.count * 2)
        var level = 0
        var inString = false, escaped = false
        func newline(_ out: inout [UInt8], _ level: Int) {
            out.append(0x0A)
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: level * 2))
        }
        var i = 0
        while i < compact.count {
            let b = compact[i]
            if inString {
                out.append(b)
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                inString = true
                out.append(b)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                out.append(b)
                let close = b == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if i + 1 < compact.count, compact[i + 1] == close {
                    out.append(close)
                    i += 1
                } else {
                    level += 1
                    newline(&out, level)
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                level -= 1
                newline(&out, level)
                out.append(b)
            case UInt8(ascii: ","):
                out.append(b)
                newline(&out, level)
            case UInt8(ascii: ":"):
                out.append(contentsOf: [b, UInt8(ascii: " ")])
            default:
                out.append(b)
            }
            i += 1
        }
        out.append(0x0A)
        return out
    }
}
