import Foundation

/// RFC 3339 times: written in UTC with `Z` and whole seconds, fractions truncated; read with
/// any offset (`+05:30`, `-08:00`), with or without a fraction of a second (kept to the
/// millisecond, as the store keeps times, and truncated), `t` and `z` in either case (RFC 3339
/// §5.6 note). The calendar arithmetic both ways is here and nowhere else.
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
        let (days, secondOfDay) = split(date)
        let (y, m, d) = civil(fromDays: days)
        guard (0...9999).contains(y) else { return wide(y, m, d, secondOfDay, body) }
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &buffer) { raw in
            let b = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            writeDate(y, m, d, at: b)
            writeTimeOfDay(secondOfDay, at: b + 10)
            return body(UnsafeBufferPointer(start: b, count: 20))
        }
    }

    /// Days since 1970-01-01 and the second of that day (UTC), fractions truncated.
    @inlinable
    static func split(_ date: Date) -> (days: Int64, secondOfDay: Int) {
        split(seconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// As `split(_:)`, for a whole second since 1970.
    @inlinable
    static func split(seconds: Int64) -> (days: Int64, secondOfDay: Int) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        return (days, Int(seconds - days * 86_400))
    }

    /// `2026-11-24`: 10 bytes at `b`, for a year in 0...9999.
    @inlinable
    static func writeDate(_ y: Int, _ m: Int, _ d: Int, at b: UnsafeMutablePointer<UInt8>) {
        twoDigits(y / 100, b); twoDigits(y % 100, b + 2); b[4] = 0x2D; twoDigits(m, b + 5); b[7] = 0x2D; twoDigits(d, b + 8)
    }

    /// `T10:00:00Z`: 10 bytes at `b`.
    @inlinable
    static func writeTimeOfDay(_ secondOfDay: Int, at b: UnsafeMutablePointer<UInt8>) {
        b[0] = 0x54; twoDigits(secondOfDay / 3600, b + 1); b[3] = 0x3A; twoDigits(secondOfDay / 60 % 60, b + 4)
        b[6] = 0x3A; twoDigits(secondOfDay % 60, b + 7); b[9] = 0x5A
    }

    /// Writes RFC 3339 times, remembering the last day's `YYYY-MM-DD` and the whole text of the
    /// last two seconds written: the times of one answer or one log line, and of the next, mostly
    /// fall on one day, and working a day out is a dozen divisions; a log line writes the second
    /// it was made twice, and a reason's `until` and the `retry_after` are often one other
    /// second, the same for the next line. A writer keeps one; it is a value, never shared.
    public struct Writer: Sendable {
        @usableFromInline var day: Int64 = .min
        @usableFromInline var date: (UInt64, UInt16) = (0, 0)
        @usableFromInline var recent: (Recent, Recent) = (Recent(), Recent())
        /// Which of `recent` the next second written replaces.
        @usableFromInline var replaceFirst = true

        /// A second since 1970 and its 20 bytes (`Int64.min`: none yet).
        @usableFromInline struct Recent: Sendable {
            @usableFromInline var seconds: Int64 = .min
            @usableFromInline var text: (UInt64, UInt64, UInt32) = (0, 0, 0)
            @usableFromInline init() {}
        }

        public init() {}

        /// Writes the 20 bytes of `2026-11-24T10:00:00Z` for `date` at `at` and returns 20, or
        /// returns 0 and writes nothing for a year outside 0...9999 (`withBytes` writes those).
        @inlinable
        public mutating func write(_ date: Date, at: UnsafeMutablePointer<UInt8>) -> Int {
            write(seconds: Int64(date.timeIntervalSince1970.rounded(.down)), at: at)
        }

        /// As `write(_:at:)`, for a whole second since 1970.
        @inlinable
        public mutating func write(seconds: Int64, at: UnsafeMutablePointer<UInt8>) -> Int {
            if seconds == recent.0.seconds { Self.copy(recent.0.text, to: at); return 20 }
            if seconds == recent.1.seconds { Self.copy(recent.1.text, to: at); return 20 }
            let (days, secondOfDay) = Timestamp.split(seconds: seconds)
            if days != day {
                let (y, m, d) = civil(fromDays: days)
                guard (0...9999).contains(y) else { return 0 }
                withUnsafeMutableBytes(of: &self.date) { writeDate(y, m, d, at: $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
                day = days
            }
            withUnsafeBytes(of: self.date) { UnsafeMutableRawPointer(at).copyMemory(from: $0.baseAddress!, byteCount: 10) }
            writeTimeOfDay(secondOfDay, at: at + 10)
            var written = Recent()
            written.seconds = seconds
            withUnsafeMutableBytes(of: &written.text) { $0.baseAddress!.copyMemory(from: at, byteCount: 20) }
            if replaceFirst { recent.0 = written } else { recent.1 = written }
            replaceFirst.toggle()
            return 20
        }

        @inlinable
        static func copy(_ text: (UInt64, UInt64, UInt32), to at: UnsafeMutablePointer<UInt8>) {
            withUnsafeBytes(of: text) { UnsafeMutableRawPointer(at).copyMemory(from: $0.baseAddress!, byteCount: 20) }
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

    /// The time `text` names, or nil when it is not RFC 3339 (or longer than 64 bytes).
    public static func parse(_ text: String) -> Date? {
        text.withUTF8Bytes { parse(bytes: $0) }
    }

    public static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Date? {
        guard b.count >= 20, b.count <= 64 else { return nil }
        func digits(_ at: Int, _ count: Int) -> Int? {
            var value = 0
            for i in at..<(at + count) {
                let d = b[i]
                guard d >= 0x30, d <= 0x39 else { return nil }
                value = value * 10 + Int(d - 0x30)
            }
            return value
        }
        guard let year = digits(0, 4), b[4] == UInt8(ascii: "-"), let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
              let day = digits(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              let hour = digits(11, 2), b[13] == UInt8(ascii: ":"), let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
              let second = digits(17, 2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour <= 23, minute <= 59, second <= 60 else {
            return nil
        }
        var i = 19
        // The fraction as whole milliseconds, the precision hush keeps: later digits are dropped.
        var milliseconds = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if i - start < 3 { milliseconds = milliseconds * 10 + Int(b[i] - 0x30) }
                i += 1
            }
            guard i > start else { return nil }
            for _ in min(i - start, 3)..<3 { milliseconds *= 10 }
        }
        guard i < b.count else { return nil }
        var offset = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 == b.count, let h = digits(i + 1, 2), b[i + 3] == UInt8(ascii: ":"), let m = digits(i + 4, 2), h <= 23, m <= 59 else {
                return nil
            }
            offset = (h * 3600 + m * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == b.count else { return nil }
        let days = days(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
        // At most .999 s past a whole second: a Double near 2026 resolves about 0.24 µs, so this
        // can never round into the next second (59.999999999 taken whole would, and be written a
        // second late).
        return Date(timeIntervalSince1970: Double(seconds) + Double(milliseconds) / 1000)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
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
