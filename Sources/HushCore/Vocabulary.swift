/// A contact channel (`email`, `sms`, …). Channels are configured, so this is a name, not an enum;
/// the policy says which names exist.
public struct Channel: RawRepresentable, Hashable, Sendable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { rawValue = name }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }
    public static func < (a: Channel, b: Channel) -> Bool { a.rawValue < b.rawValue }

    public static let email: Channel = "email"
    public static let sms: Channel = "sms"
    public static let voice: Channel = "voice"
}

/// A purpose of contact (`marketing`, `service`, `transactional`), configured like channels.
public struct Purpose: RawRepresentable, Hashable, Sendable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { rawValue = name }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }
    public static func < (a: Purpose, b: Purpose) -> Bool { a.rawValue < b.rawValue }

    public static let marketing: Purpose = "marketing"
    public static let service: Purpose = "service"
    public static let transactional: Purpose = "transactional"
}

/// A value that failed validation, naming the field (`channels`, `policy.quiet_hours.sms.start`).
public struct ValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    public let field: String
    public let message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}
