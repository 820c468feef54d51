import Foundation
import HushCore

/// Checks shared by every route; each error names its field.
enum Validate {
    static let maxIdentifierLength = 128

    /// An identifier: 1 to 128 printable characters (no control characters, no spaces at the ends).
    static func identifier(_ text: String, field: @autoclosure () -> String) throws(ValidationError) -> String {
        // Printable ASCII, the common case, is checked on the bytes.
        let ascii = text.withUTF8Bytes { bytes in
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

    /// An RFC 3339 time (`Timestamp.parse`), the error naming `field` and quoting the text.
    static func time(_ text: String, field: @autoclosure () -> String) throws(ValidationError) -> Date {
        guard let date = Timestamp.parse(text) else {
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
