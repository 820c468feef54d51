import Foundation
import HushCore

/// Conversions between HushCore values and columns.
public enum Codec {
    static let separator: Character = "\u{1F}"

    /// To the nearest millisecond: a time parsed as .123 is 0.12299999… seconds in binary.
    public static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    public static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(millis) / 1000) }
    public static func date(_ millis: Int64?) -> Date? { millis.map(date) }

    /// A list as one column: sorted (so equal sets are equal text) and joined; nil stays NULL.
    static func list<S: Sequence>(_ values: S?) -> SQLValue where S.Element == String {
        guard let values else { return .null }
        return .text(values.sorted().joined(separator: String(separator)))
    }

    /// `list` as text, for a store that binds text.
    public static func joined<S: Sequence>(_ values: S?) -> String? where S.Element == String {
        values.map { $0.sorted().joined(separator: String(separator)) }
    }

    /// Split on the separator's byte: a split by `Character` (grapheme clusters) cost about
    /// 8,000 instructions a row where records are rebuilt from many.
    static func strings(_ text: String?) -> [String]? {
        text.map { $0.utf8.split(separator: 0x1F, omittingEmptySubsequences: false).map { String(Substring($0)) } }
    }
    static func channels(_ text: String?) -> Set<Channel>? { strings(text).map { Set($0.map(Channel.init(rawValue:))) } }
    static func purposes(_ text: String?) -> Set<Purpose>? { strings(text).map { Set($0.map(Purpose.init(rawValue:))) } }
}
