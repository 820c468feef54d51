#if canImport(Glibc)
import Glibc
#endif

/// The fields of a decision request read straight from the body's bytes, for the common case:
/// one flat object whose strings are printable ASCII without escapes. Anything else (escapes,
/// other bytes, unknown or repeated keys, wrong types, more than 100 categories, bad syntax)
/// gives nil, and the caller takes the general path (`JSONParser` and `FieldReader`), which
/// accepts or refuses it with the precise error. So this path never decides what is valid; it
/// only skips building a JSON tree when the body is plainly well-formed.
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

    static func parse(_ body: [UInt8]) -> DecisionBody? {
        body.withUnsafeBufferPointer { parse($0) }
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

    private static func parse(_ b: UnsafeBufferPointer<UInt8>) -> DecisionBody? {
        var i = 0
        func ws() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
        /// A string of printable ASCII without escapes, as its byte range; nil otherwise.
        func string() -> Range<Int>? {
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            let start = i
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    return start..<(i - 1)
                }
                guard c >= 0x20, c < 0x7F, c != UInt8(ascii: "\\") else { return nil }
                i += 1
            }
            return nil
        }
        func literal(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard i + n <= b.count, memcmp(b.baseAddress! + i, word.utf8Start, n) == 0 else { return false }
            i += n
            return true
        }
        var out = DecisionBody()
        var seen: UInt16 = 0
        ws()
        guard i < b.count, b[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        ws()
        if i < b.count, b[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                ws()
                guard let name = string(), let key = Key(UnsafeBufferPointer(rebasing: b[name])), seen & key.rawValue == 0 else { return nil }
                seen |= key.rawValue
                ws()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                ws()
                if literal("null") {
                    // Null is absent, as on the general path.
                } else if key == .reserve {
                    if literal("true") { out.reserve = true } else if literal("false") { out.reserve = false } else { return nil }
                } else if key == .categories {
                    guard i < b.count, b[i] == UInt8(ascii: "[") else { return nil }
                    i += 1
                    var list: [String] = []
                    ws()
                    if i < b.count, b[i] == UInt8(ascii: "]") {
                        i += 1
                    } else {
                        while true {
                            ws()
                            guard let value = string(), list.count < 100 else { return nil }
                            list.append(String(decoding: UnsafeBufferPointer(rebasing: b[value]), as: UTF8.self))
                            ws()
                            guard i < b.count else { return nil }
                            if b[i] == UInt8(ascii: "]") { i += 1; break }
                            guard b[i] == UInt8(ascii: ",") else { return nil }
                            i += 1
                        }
                    }
                    out.categories = list
                } else {
                    guard let value = string() else { return nil }
                    let s = value
                    switch key {
                    case .customerID: out.customerID = s
                    case .channel: out.channel = s
                    case .purpose: out.purpose = s
                    case .address: out.address = s
                    case .region: out.region = s
                    case .timezone: out.timezone = s
                    case .at: out.at = s
                    case .campaignID: out.campaignID = s
                    case .categories, .reserve: return nil
                    }
                }
                ws()
                guard i < b.count else { return nil }
                if b[i] == UInt8(ascii: "}") { i += 1; break }
                guard b[i] == UInt8(ascii: ",") else { return nil }
                i += 1
            }
        }
        ws()
        return i == b.count ? out : nil
    }
}
