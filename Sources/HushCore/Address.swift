/// A normalised contact address: an e-mail lower-cased and trimmed, or a phone number in E.164.
public enum Address: Hashable, Sendable, CustomStringConvertible {
    case email(String)
    case phone(String)

    /// The normalised text: `jo.doe@example.com`, `+14155550100`.
    public var value: String {
        switch self {
        case .email(let text), .phone(let text): text
        }
    }

    public var description: String { value }

    /// The channels that reach this address by default: an e-mail is read on `email`, a phone
    /// number on `sms` and `voice`.
    public var channels: [Channel] {
        switch self {
        case .email: [.email]
        case .phone: [.sms, .voice]
        }
    }

    /// Parses and normalises `text` as an e-mail (it holds `@`) or an E.164 phone number
    /// (it starts with `+`). Throws naming `field` when it is neither.
    public static func parse(_ text: String, field: String = "address") throws(ValidationError) -> Address {
        let trimmed = text.trimmingWhitespace()
        if trimmed.contains("@") { return .email(try normaliseEmail(trimmed, field: field)) }
        if trimmed.hasPrefix("+") { return .phone(try normalisePhone(trimmed, field: field)) }
        throw ValidationError(field: field, message: "must be an e-mail address or a phone number in E.164 form (+14155550100)")
    }

    /// `Jo.Doe@Example.COM ` → `jo.doe@example.com`. One `@`, a non-empty local part, a domain with
    /// a dot and no empty labels, no spaces or control characters, at most 254 characters (RFC 5321).
    public static func normaliseEmail(_ text: String, field: String = "email") throws(ValidationError) -> String {
        let email = text.trimmingWhitespace().lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        func fail(_ why: String) -> ValidationError { ValidationError(field: field, message: "is not an e-mail address: \(why)") }
        guard email.utf8.count <= 254 else { throw fail("longer than 254 characters") }
        guard parts.count == 2 else { throw fail("it must hold exactly one @") }
        let local = parts[0], domain = parts[1]
        guard !local.isEmpty, local.utf8.count <= 64 else { throw fail("the part before @ must be 1 to 64 characters") }
        guard email.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && $0 != "<" && $0 != ">" && $0 != "," }) else {
            throw fail("it holds a space, a control character or one of < > ,")
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }) else {
            throw fail("the domain must have at least two non-empty labels")
        }
        return email
    }

    /// `+1 (415) 555-0100` → `+14155550100`. Spaces, dots, dashes and parentheses are dropped; what
    /// is left must be `+` and 8 to 15 digits, the first not 0 (ITU-T E.164).
    public static func normalisePhone(_ text: String, field: String = "phone") throws(ValidationError) -> String {
        var digits = ""
        var sawPlus = false
        for scalar in text.trimmingWhitespace().unicodeScalars {
            switch scalar {
            case "+" where !sawPlus && digits.isEmpty: sawPlus = true
            case "0"..."9": digits.unicodeScalars.append(scalar)
            case " ", ".", "-", "(", ")": continue
            default: throw ValidationError(field: field, message: "is not a phone number in E.164 form: unexpected \"\(scalar)\"")
            }
        }
        guard sawPlus, (8...15).contains(digits.count), digits.first != "0" else {
            throw ValidationError(field: field, message: "is not a phone number in E.164 form: + and 8 to 15 digits, the first not 0")
        }
        return "+" + digits
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
