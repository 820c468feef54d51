import Foundation
import HushCore

/// Writes compact JSON straight into a byte buffer: no intermediate strings or dictionaries.
/// The caller writes members in order; `comma` state is kept so that `key` and values can be
/// written one after another without thinking about separators. The buffer is its own memory,
/// grown by doubling, so that a write is a bounds check and a store (an array would check that
/// its storage is uniquely referenced on every append); not copyable, so it is freed once.
public struct JSONWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int
    /// Whether the next member or element needs a comma before it.
    private var needsComma = false
    private var times = Timestamp.Writer()

    public init(capacity: Int = 512) {
        self.capacity = max(16, capacity)
        base = Self.allocate(self.capacity)
    }

    /// malloc, not `UnsafeMutablePointer.allocate`: that goes through posix_memalign, dearer
    /// for plain bytes.
    private static func allocate(_ bytes: Int) -> UnsafeMutablePointer<UInt8> {
        guard let memory = malloc(bytes) else { fatalError("out of memory for a JSON buffer of \(bytes) bytes") }
        return memory.assumingMemoryBound(to: UInt8.self)
    }

    deinit { free(base) }

    /// What has been written so far.
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// What has been written so far, lent to `body` without a copy.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        body(UnsafeRawBufferPointer(start: base, count: count))
    }

    @inline(__always) private mutating func reserve(_ more: Int) {
        if count + more > capacity { grow(count + more) }
    }

    private mutating func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = Self.allocate(newCapacity)
        newBase.update(from: base, count: count)
        free(base)
        base = newBase
        capacity = newCapacity
    }

    @inline(__always) private mutating func put(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always) private mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    @inline(__always) private mutating func put(_ text: StaticString) {
        put(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func objectStart() { separate(); put(UInt8(ascii: "{")); needsComma = false }
    public mutating func objectEnd() { put(UInt8(ascii: "}")); needsComma = true }
    public mutating func arrayStart() { separate(); put(UInt8(ascii: "[")); needsComma = false }
    public mutating func arrayEnd() { put(UInt8(ascii: "]")); needsComma = true }

    /// A member's key; the value follows with any of the value methods. Inlined: the name's
    /// length is then a constant and the copy a few stores (2,400 instructions fewer a decision,
    /// its answer and its log line, by `Benchmarks/http/callgrind.sh`).
    @inline(__always)
    public mutating func key(_ name: StaticString) {
        separate()
        reserve(name.utf8CodeUnitCount + 3)
        base[count] = UInt8(ascii: "\"")
        (base + count + 1).update(from: name.utf8Start, count: name.utf8CodeUnitCount)
        count += name.utf8CodeUnitCount + 1
        base[count] = UInt8(ascii: "\"")
        base[count + 1] = UInt8(ascii: ":")
        count += 2
        needsComma = false
    }

    /// A key that is not known in advance (escaped like any string).
    public mutating func key(dynamic name: String) {
        string(name)
        put(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func null() { separate(); put("null"); needsComma = true }

    public mutating func bool(_ value: Bool) {
        separate()
        if value { put("true") } else { put("false") }
        needsComma = true
    }

    public mutating func integer<I: BinaryInteger>(_ value: I) {
        separate()
        let v = Int64(value)
        if v < 0 { put(UInt8(ascii: "-")) }
        digits(v.magnitude, radix: 10)
        needsComma = true
    }

    /// `value`'s digits in `radix` (lower-case letters past 9), written and then turned
    /// around in place: no temporary buffer.
    private mutating func digits(_ value: UInt64, radix: UInt64) {
        reserve(64)
        let start = count
        var v = value
        repeat {
            let d = UInt8(v % radix)
            base[count] = d < 10 ? d + 0x30 : d - 10 + 0x61
            count += 1
            v /= radix
        } while v > 0
        var digits = UnsafeMutableBufferPointer(start: base + start, count: count - start)
        digits.reverse()
    }

    public mutating func number(_ value: Double) {
        if value == value.rounded(), abs(value) < 1e15 { integer(Int64(value)); return }
        separate()
        var text = "\(value)"
        text.withUTF8 { put($0) }
        needsComma = true
    }

    /// An RFC 3339 time (UTC, whole seconds), or null.
    public mutating func time(_ date: Date?) {
        guard let date else { null(); return }
        separate()
        openTime(date)
        put(UInt8(ascii: "\""))
        needsComma = true
    }

    /// A quote and the RFC 3339 text of `date`, its `Z` last: the day from `times` when it is
    /// the last one written, years outside 0...9999 as `Timestamp.withBytes` writes them.
    private mutating func openTime(_ date: Date) {
        reserve(21)
        base[count] = UInt8(ascii: "\"")
        count += 1
        let written = times.write(date, at: base + count)
        if written == 0 { Timestamp.withBytes(date) { put($0) } } else { count += written }
    }

    /// Where the next byte goes: with `copy(from:into:)`, a run of output to keep and `splice` again.
    var position: Int { count }

    /// The bytes written since `start`, into `run` in place of what it held (its memory kept).
    func copy(from start: Int, into run: inout [UInt8]) {
        run.removeAll(keepingCapacity: true)
        run.append(contentsOf: UnsafeBufferPointer(start: base + start, count: count - start))
    }

    /// Bytes kept from an earlier `copy(from:into:)`, written again as they are: `endsWithValue`
    /// says whether they ended after a value (the next member needs a comma) or after a key.
    mutating func splice(_ run: [UInt8], endsWithValue: Bool) {
        run.withUnsafeBufferPointer { put($0) }
        needsComma = endsWithValue
    }

    /// Empties the buffer, keeping its memory, for the next value.
    mutating func reset() {
        count = 0
        needsComma = false
    }

    /// An RFC 3339 time in UTC to the millisecond (`2026-12-02T16:27:42.123Z`).
    mutating func timeMillis(_ date: Date) {
        timeMillis(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// As `timeMillis(_:)`, for milliseconds since 1970: whole numbers, no floating point.
    mutating func timeMillis(milliseconds: Int64) {
        separate()
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let millis = Int(milliseconds - seconds * 1000)
        reserve(26)
        base[count] = UInt8(ascii: "\"")
        count += 1
        let written = times.write(seconds: seconds, at: base + count)
        if written == 0 {
            Timestamp.withBytes(Date(timeIntervalSince1970: Double(seconds))) { put($0) }
        } else {
            count += written
        }
        reserve(6)
        // Over the Z, which comes after the milliseconds.
        base[count - 1] = UInt8(ascii: ".")
        base[count] = UInt8(48 + millis / 100)
        base[count + 1] = UInt8(48 + millis / 10 % 10)
        base[count + 2] = UInt8(48 + millis % 10)
        base[count + 3] = UInt8(ascii: "Z")
        base[count + 4] = UInt8(ascii: "\"")
        count += 5
        needsComma = true
    }

    /// Bytes as a string of lower-case hex digits.
    mutating func hex(_ bytes: ArraySlice<UInt8>) {
        separate()
        put(UInt8(ascii: "\""))
        let digits: StaticString = "0123456789abcdef"
        reserve(bytes.count * 2)
        for b in bytes {
            base[count] = digits.utf8Start[Int(b >> 4)]
            base[count + 1] = digits.utf8Start[Int(b & 0xF)]
            count += 2
        }
        put(UInt8(ascii: "\""))
        needsComma = true
    }

    /// 128 bits as 32 lower-case hex digits, the high half first.
    mutating func hex(high: UInt64, low: UInt64) {
        separate()
        reserve(34)
        base[count] = UInt8(ascii: "\"")
        let out = UnsafeMutableRawPointer(base + count + 1)
        let (h1, h2) = Hex.digits(high), (l1, l2) = Hex.digits(low)
        out.storeBytes(of: h1, as: UInt64.self)
        out.storeBytes(of: h2, toByteOffset: 8, as: UInt64.self)
        out.storeBytes(of: l1, toByteOffset: 16, as: UInt64.self)
        out.storeBytes(of: l2, toByteOffset: 24, as: UInt64.self)
        base[count + 33] = UInt8(ascii: "\"")
        count += 34
        needsComma = true
    }

    /// A decision id in its canonical UUID form.
    mutating func string(_ id: DecisionID) {
        separate()
        var text: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &text) { raw in
            let bytes = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            bytes[0] = UInt8(ascii: "\"")
            DecisionID.write(high: id.high, low: id.low, into: bytes + 1)
            bytes[37] = UInt8(ascii: "\"")
            put(UnsafeBufferPointer(start: bytes, count: 38))
        }
        needsComma = true
    }

    public mutating func string(_ value: String?) {
        guard let text = value else { null(); return }
        separate()
        put(UInt8(ascii: "\""))
        text.withUTF8Bytes { escaped($0) }
        put(UInt8(ascii: "\""))
        needsComma = true
    }

    /// A string handed over in pieces by `write`, each escaped as it comes.
    public mutating func string(_ write: ((UnsafeBufferPointer<UInt8>) -> Void) -> Void) {
        separate()
        put(UInt8(ascii: "\""))
        write { escaped($0) }
        put(UInt8(ascii: "\""))
        needsComma = true
    }

    /// `utf8` with the escapes of RFC 8259 §7: quote, backslash and control characters.
    /// Most strings need none, and most are short (a channel, a purpose, a reason's code): a
    /// string of up to eight bytes is checked as one word and stored as one; a longer one
    /// eight bytes at a time, its tail as the last eight bytes (overlapping what was checked).
    private mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        guard let source = utf8.baseAddress, !utf8.isEmpty else { return }
        let n = utf8.count
        if n <= 8 {
            var word: UInt64 = 0x4141_4141_4141_4141   // padded with "A", which needs no escape
            withUnsafeMutableBytes(of: &word) { $0.baseAddress!.copyMemory(from: source, byteCount: n) }
            if !Self.mayNeedEscape(word) {
                reserve(8)
                UnsafeMutableRawPointer(base + count).storeBytes(of: word, as: UInt64.self)
                count += n
                return
            }
            escaped(utf8, from: 0)
            return
        }
        var clean = 0
        while clean + 8 <= n {
            if Self.mayNeedEscape(UnsafeRawPointer(source + clean).loadUnaligned(as: UInt64.self)) { break }
            clean += 8
        }
        if clean + 8 > n, clean == n || !Self.mayNeedEscape(UnsafeRawPointer(source + n - 8).loadUnaligned(as: UInt64.self)) {
            put(utf8)
            return
        }
        escaped(utf8, from: clean)
    }

    /// Whether any of the eight bytes of `word` may be a control byte, a quote or a backslash
    /// (a false alarm only costs the byte loop; a miss cannot happen).
    @inline(__always) private static func mayNeedEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
        let hits = ((word &- ones &* 0x20) & ~word) | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
        return hits & 0x8080_8080_8080_8080 != 0
    }

    /// `utf8` escaped byte by byte from `clean`, the bytes before it copied as they are.
    private mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>, from clean: Int) {
        var start = 0
        for i in clean..<utf8.count {
            let b = utf8[i]
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
            put(UnsafeBufferPointer(rebasing: utf8[start..<i]))
            start = i + 1
            switch b {
            case UInt8(ascii: "\""): put("\\\"")
            case UInt8(ascii: "\\"): put("\\\\")
            case 0x0A: put("\\n")
            case 0x0D: put("\\r")
            case 0x09: put("\\t")
            default:
                let hex: StaticString = "0123456789abcdef"
                put("\\u00")
                put(hex.utf8Start[Int(b >> 4)])
                put(hex.utf8Start[Int(b & 0xF)])
            }
        }
        put(UnsafeBufferPointer(rebasing: utf8[start...]))
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
        json.withUnsafeBufferPointer { put($0) }
        needsComma = true
    }

    /// A value known when the code was written, already JSON (`"\"allow\""`).
    mutating func raw(static json: StaticString) {
        separate()
        put(json)
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

    @inline(__always) private mutating func separate() {
        if needsComma { put(UInt8(ascii: ",")) }
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
