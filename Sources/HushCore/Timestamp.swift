import Foundation

/// RFC 3339 text for API times: UTC, `Z`, whole seconds, fractions truncated.
public enum Timestamp {
    /// `2026-11-24T10:00:00Z`.
    public static func format(_ date: Date) -> String {
        withBytes(date) { String(decoding: $0, as: UTF8.self) }
    }

    /// The RFC 3339 text of `date` as bytes, handed to `body` without building a String (the
    /// JSON writer copies them straight into a response). Years outside 0...9999 are written
    /// with as many digits as they need.
    @inlinable
    public static func withBytes<R>(_ date: Date, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (y, m, d) = civil(fromDays: days)
        guard (0...9999).contains(y) else { return wide(y, m, d, secondOfDay, body) }
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { raw in
            let b = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            twoDigits(y / 100, b); twoDigits(y % 100, b + 2); b[4] = 0x2D; twoDigits(m, b + 5); b[7] = 0x2D; twoDigits(d, b + 8)
            b[10] = 0x54; twoDigits(secondOfDay / 3600, b + 11); b[13] = 0x3A; twoDigits(secondOfDay / 60 % 60, b + 14)
            b[16] = 0x3A; twoDigits(secondOfDay % 60, b + 17); b[19] = 0x5A
            return body(UnsafeBufferPointer(start: b, count: 20))
        }
    }

    @inlinable
    static func twoDigits(_ value: Int, _ at: UnsafeMutablePointer<UInt8>) {
        at[0] = UInt8(truncatingIfNeeded: value / 10) &+ 0x30
        at[1] = UInt8(truncatingIfNeeded: value % 10) &+ 0x30
    }

    /// A year outside 0...9999, with as many digits as it needs.
    @usableFromInline
    static func wide<R>(_ y: Int, _ m: Int, _ d: Int, _ secondOfDay: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let two = { (v: Int) in v < 10 ? "0\(v)" : "\(v)" }
        let text = Array("\(y)-\(two(m))-\(two(d))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z".utf8)
        return text.withUnsafeBufferPointer(body)
    }

    /// The first whole second at or after `date`.
    public static func ceilingSecond(_ date: Date) -> Date {
        Date(timeIntervalSince1970: ceil(date.timeIntervalSince1970))
    }

    /// Proleptic Gregorian year, month, day of a day count since 1970-01-01 (H. Hinnant's algorithm).
    @inlinable
    static func civil(fromDays days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), Int(m), Int(d))
    }
}

extension TimeZone {
    /// The zone's name as hush writes it. Foundation calls UTC "GMT" (`TimeZone(identifier:
    /// "UTC")` is the GMT zone); the two are one zone, and hush names it UTC, as its
    /// configuration and API do.
    public var name: String {
        let id = identifier
        return id == "GMT" ? "UTC" : id
    }
}
