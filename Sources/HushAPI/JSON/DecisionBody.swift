#if canImport(Glibc)
import Glibc
#endif

/// The fields of a decision request read straight from the body's bytes, for the common case:
/// one flat object whose strings are printable ASCII without escapes. Anything else (escapes,
/// other bytes, unknown or repeated keys, wrong types, too many categories, bad syntax)
/// gives nil, and the caller takes the general path (`JSONParser` and `FieldReader`), which
/// accepts or refuses it with the precise error. So this path never decides what is valid; it
/// only skips building a JSON tree when the body is plainly well-formed.
///
/// It is worth its code: without it a decision over HTTP costs 43,756 instructions instead of
/// 37,086 (callgrind, `Benchmarks/http/callgrind.sh`), 15 % more.
///
/// Strings are kept as byte ranges of the body, and made into Strings by `text(_:in:)` only
/// for the fields that are used: a struct of ranges is copied and freed without retaining.
/// Categories are the exception.
struct DecisionBody {
    var customerID, channel, purpose, address, region, timezone, at, campaignID: Range<Int>?
    /// Made into Strings while parsing: the list is built once either way.
    var categories: [String]?
    var reserve: Bool?

    /// The text of a field read by `parse(_:)` from `body`.
    static func text(_ range: Range<Int>?, in body: [UInt8]) -> String? {
        range.map { String(decoding: body[$0], as: UTF8.self) }
    }

    /// Nil also past `maxCategories` categories: the general path reports it.
    static func parse(_ body: [UInt8], maxCategories: Int = APILimits().maxCategories) -> DecisionBody? {
        body.withUnsafeBufferPointer { parse($0, maxCategories: maxCategories) }
    }

    private enum Key: UInt16 {
        case customerID = 1, channel = 2, purpose = 4, address = 8, region = 16, timezone = 32, at = 64, campaignID = 128
        case categories = 256, reserve = 512

        init?(_ b: UnsafeBufferPointer<UInt8>) {
            func equals(_ name: StaticString) -> Bool {
                name.utf8CodeUnitCount == b.count && memcmp(b.baseAddress!, name.utf8Start, b.count) == 0
            }
            if b.isEmpty { return nil }
            switch b.count {
            case 11 where equals("customer_id"): self = .customerID
            case 7 where equals("channel"): self = .channel
            case 7 where equals("purpose"): self = .purpose
            case 7 where equals("address"): self = .address
            case 6 where equals("region"): self = .region
            case 8 where equals("timezone"): self = .timezone
            case 2 where equals("at"): self = .at
            case 11 where equals("campaign_id"): self = .campaignID
            case 10 where equals("categories"): self = .categories
            case 7 where equals("reserve"): self = .reserve
            default: return nil
            }
        }
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, maxCategories: Int) -> DecisionBody? {
        var cursor = Cursor(bytes: bytes)
        guard let out = object(&cursor, maxCategories: maxCategories, allowReserve: true) else { return nil }
        cursor.skipSpace()
        return cursor.atEnd ? out : nil
    }

    /// One object at the cursor, the cursor left just past it. Without `allowReserve`, an
    /// object that names `reserve` at all (even as null) gives nil: the general path refuses it
    /// in a batch.
    fileprivate static func object(_ cursor: inout Cursor, maxCategories: Int, allowReserve: Bool) -> DecisionBody? {
        var out = DecisionBody()
        var seen: UInt16 = allowReserve ? 0 : Key.reserve.rawValue
        guard cursor.take(UInt8(ascii: "{")) else { return nil }
        if !cursor.take(UInt8(ascii: "}")) {
            repeat {
                cursor.skipSpace()
                guard let name = cursor.string(), let key = Key(UnsafeBufferPointer(rebasing: cursor.bytes[name])), seen & key.rawValue == 0,
                      cursor.take(UInt8(ascii: ":")) else { return nil }
                seen |= key.rawValue
                cursor.skipSpace()
                guard out.read(key, from: &cursor, maxCategories: maxCategories) else { return nil }
            } while cursor.take(UInt8(ascii: ","))
            guard cursor.take(UInt8(ascii: "}")) else { return nil }
        }
        return out
    }

    /// Reads the value of `key` at the cursor; false when it is not one this path takes.
    private mutating func read(_ key: Key, from cursor: inout Cursor, maxCategories: Int) -> Bool {
        // Null is absent, as on the general path.
        if cursor.literal("null") { return true }
        switch key {
        case .reserve:
            if cursor.literal("true") { reserve = true } else if cursor.literal("false") { reserve = false } else { return false }
        case .categories:
            guard let list = cursor.strings(max: maxCategories) else { return false }
            categories = list
        case .customerID, .channel, .purpose, .address, .region, .timezone, .at, .campaignID:
            guard let value = cursor.string() else { return false }
            switch key {
            case .customerID: customerID = value
            case .channel: channel = value
            case .purpose: purpose = value
            case .address: address = value
            case .region: region = value
            case .timezone: timezone = value
            case .at: at = value
            default: campaignID = value
            }
        }
        return true
    }
}

/// A decision batch's body read straight from its bytes, for the common case:
/// `{"requests": [...]}`, perhaps with `min_token` as a plain string, whose items are each a
/// plain `DecisionBody` that does not name `reserve`. Anything else (another member, a
/// repeated one, an item the fast path would not take, more items than `maxItems`, bad
/// syntax) gives nil, and the general path takes the whole batch, with its precise errors.
/// It spares each item a JSON tree: the members' array, a String for every key and value, and
/// reading them back by name.
struct DecisionBatchBody {
    var minToken: Range<Int>?
    var items: [DecisionBody] = []

    static func parse(_ body: [UInt8], maxCategories: Int, maxItems: Int) -> DecisionBatchBody? {
        body.withUnsafeBufferPointer { bytes in
            var cursor = Cursor(bytes: bytes)
            var out = DecisionBatchBody()
            var sawRequests = false, sawToken = false
            guard cursor.take(UInt8(ascii: "{")), !cursor.take(UInt8(ascii: "}")) else { return nil }
            repeat {
                cursor.skipSpace()
                guard let name = cursor.string(), cursor.take(UInt8(ascii: ":")) else { return nil }
                cursor.skipSpace()
                if !sawRequests, cursor.name(name, is: "requests") {
                    sawRequests = true
                    guard cursor.take(UInt8(ascii: "[")) else { return nil }
                    if cursor.take(UInt8(ascii: "]")) { continue }
                    repeat {
                        guard out.items.count < maxItems,
                              let item = DecisionBody.object(&cursor, maxCategories: maxCategories, allowReserve: false) else { return nil }
                        out.items.append(item)
                    } while cursor.take(UInt8(ascii: ","))
                    guard cursor.take(UInt8(ascii: "]")) else { return nil }
                } else if !sawToken, cursor.name(name, is: "min_token") {
                    sawToken = true
                    if cursor.literal("null") { continue }
                    guard let token = cursor.string() else { return nil }
                    out.minToken = token
                } else {
                    return nil
                }
            } while cursor.take(UInt8(ascii: ","))
            guard sawRequests, cursor.take(UInt8(ascii: "}")) else { return nil }
            cursor.skipSpace()
            return cursor.atEnd ? out : nil
        }
    }
}

/// A position in a body's bytes, and the few JSON forms the fast path reads.
private struct Cursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0

    var atEnd: Bool { i == bytes.count }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    /// Skips space, then `byte` if it comes next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard i < bytes.count, bytes[i] == byte else { return false }
        i += 1
        return true
    }

    /// A string of printable ASCII without escapes, as its byte range; nil otherwise.
    mutating func string() -> Range<Int>? {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
        i += 1
        let start = i
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return start..<(i - 1)
            }
            guard c >= 0x20, c < 0x7F, c != UInt8(ascii: "\\") else { return nil }
            i += 1
        }
        return nil
    }

    /// Whether the string at `range` is `name`.
    func name(_ range: Range<Int>, is name: StaticString) -> Bool {
        range.count == name.utf8CodeUnitCount && memcmp(bytes.baseAddress! + range.lowerBound, name.utf8Start, range.count) == 0
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count, memcmp(bytes.baseAddress! + i, word.utf8Start, n) == 0 else { return false }
        i += n
        return true
    }

    /// A list of at most `max` plain strings, made into Strings.
    mutating func strings(max: Int) -> [String]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var list: [String] = []
        if take(UInt8(ascii: "]")) { return list }
        repeat {
            skipSpace()
            guard let value = string(), list.count < max else { return nil }
            list.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[value]), as: UTF8.self))
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? list : nil
    }
}
