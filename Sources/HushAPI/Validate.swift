import Foundation
import HushCore

/// RFC 3339 times on the way in: `2026-11-24T10:00:00Z`, any offset (`+05:30`, `-08:00`),
/// with or without fractions of a second; `t` and `z` in either case (RFC 3339 §5.6 note).
enum RFC3339 {
    static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Date? {
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
        var fraction = 0.0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
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
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// Checks shared by every route; each error names its field.
enum Validate {
    static let maxIdentifierLength = 128

    /// An identifier: 1 to 128 printable characters (no control characters, no spaces at the ends).
    static func identifier(_ text: String, field: @autoclosure () -> String) throws(ValidationError) -> String {
        // Printable ASCII, the common case, is checked on the bytes.
        var copy = text
        let ascii = copy.withUTF8 { bytes in
            bytes.count <= maxIdentifierLength && !bytes.isEmpty && bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
                && bytes.first != 0x20 && bytes.last != 0x20
        }
        if ascii { return text }
        guard !text.isEmpty else { throw ValidationError(field: field(), message: "must not be empty") }
        guard text.unicodeScalars.count <= maxIdentifierLength else {
            throw ValidationError(field: field(), message: "must be at most \(maxIdentifierLength) characters")
        }
        for scalar in text.unicodeScalars where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
            throw ValidationError(field: field(), message: "must hold printable characters only")
        }
        guard text.first?.isWhitespace == false, text.last?.isWhitespace == false else {
            throw ValidationError(field: field(), message: "must not start or end with a space")
        }
        return text
    }

    /// An RFC 3339 time (`RFC3339.parse`), the error naming `field` and quoting the text.
    static func time(_ text: String, field: @autoclosure () -> String) throws(ValidationError) -> Date {
        guard let date = RFC3339.parse(text) else {
            throw ValidationError(field: field(), message: "must be an RFC 3339 time such as 2026-11-24T10:00:00Z, not \"\(excerpt(text))\"")
        }
        return date
    }

    /// The time of a contact or interaction (or a reserve's `at`). Decisions count these inside
    /// the policy's windows, which reach back at most `policy.longestWindow` from now, and hush
    /// keeps none older: one dated earlier could never count, so it is refused, not dropped.
    static func counted(_ at: Date, field: @autoclosure () -> String, now: Date, policy: Policy) throws(ValidationError) -> Date {
        let window = policy.longestWindow
        guard at > now.addingTimeInterval(-window) else {
            let days = window / 86_400
            let span = days == days.rounded() ? "\(Int(days)) days" : "\(Int(window / 3600)) hours"
            throw ValidationError(field: field(), message: "is more than \(span) ago: the policy's windows look back \(span) from now, so it could never count")
        }
        return at
    }

    static func channel(_ text: String, field: @autoclosure () -> String, policy: Policy) throws(ValidationError) -> Channel {
        let channel = Channel(text)
        guard policy.channels.contains(channel) else {
            throw ValidationError(field: field(), message: "must be one of: \(policy.channels.map(\.rawValue).joined(separator: ", "))")
        }
        return channel
    }

    static func purpose(_ text: String, field: @autoclosure () -> String, policy: Policy) throws(ValidationError) -> Purpose {
        let purpose = Purpose(text)
        guard policy.purposes.contains(purpose) else {
            throw ValidationError(field: field(), message: "must be one of: \(policy.purposes.map(\.rawValue).joined(separator: ", "))")
        }
        return purpose
    }

    static func timeZone(_ text: String, field: String) throws(ValidationError) -> TimeZone {
        guard text.utf8.count <= 64, let zone = TimeZone(identifier: text), zone.identifier == text || text == "UTC" else {
            throw ValidationError(field: field, message: "must be an IANA time zone such as Europe/London, not \"\(excerpt(text))\"")
        }
        return zone
    }

    /// An ISO 3166 region: `US`, or `US-CA` (two letters, then optionally `-` and 1 to 3 letters or digits).
    static func region(_ text: String, field: String) throws(ValidationError) -> String {
        let bytes = Array(text.utf8)
        func letter(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
        func alnum(_ b: UInt8) -> Bool { letter(b) || (b >= 48 && b <= 57) }
        let valid = bytes.count >= 2 && letter(bytes[0]) && letter(bytes[1])
            && (bytes.count == 2 || (bytes.count >= 4 && bytes.count <= 6 && bytes[2] == UInt8(ascii: "-") && bytes[3...].allSatisfy(alnum)))
        guard valid else { throw ValidationError(field: field, message: "must be an ISO 3166 code such as US or US-CA, not \"\(excerpt(text))\"") }
        return text.uppercased()
    }

    /// At most 60 characters of a bad value, for an error message.
    static func excerpt(_ text: String) -> String {
        let cleaned = String(String.UnicodeScalarView(text.unicodeScalars.prefix(60).map { $0.value < 0x20 ? "?" : $0 }))
        return text.unicodeScalars.count > 60 ? cleaned + "…" : cleaned
    }
}
