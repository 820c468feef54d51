import Foundation

/// Why a send is suppressed. The order of the cases is the order a decision lists its reasons.
public enum ReasonCode: String, Sendable, CaseIterable, Comparable {
    case erased, doNotContact = "do_not_contact", optedOut = "opted_out", objected
    case openCase = "open_case", caseCooloff = "case_cooloff", environmentalHold = "environmental_hold"
    case quietHours = "quiet_hours", frequencyCap = "frequency_cap", lowWillingness = "low_willingness"
    case unavailable

    public static func < (a: ReasonCode, b: ReasonCode) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One reason a send is suppressed.
public struct Reason: Sendable, Equatable {
    public var code: ReasonCode
    /// For people: what and why.
    public var message: String
    /// The record behind it (`case:8812`, `hold:wildfire-ca`), when there is one.
    public var ref: String?
    /// The first whole second at which this reason no longer holds; nil when it is not time-bound.
    public var until: Date?

    public init(code: ReasonCode, message: String, ref: String? = nil, until: Date? = nil) {
        self.code = code; self.message = message; self.ref = ref; self.until = until
    }
}

/// The question: may we contact this customer, on this channel, for this purpose, at `at`?
public struct DecisionRequest: Sendable {
    public var customerID: String?
    public var address: Address?
    public var channel: Channel
    public var purpose: Purpose
    public var categories: Set<String>
    /// Overrides the profile's region.
    public var region: String?
    /// Overrides the profile's time zone.
    public var timeZone: TimeZone?
    /// When the send would happen; nil means now.
    public var at: Date?

    public init(customerID: String? = nil, address: Address? = nil, channel: Channel, purpose: Purpose = .marketing,
                categories: Set<String> = [], region: String? = nil, timeZone: TimeZone? = nil, at: Date? = nil) {
        self.customerID = customerID; self.address = address; self.channel = channel; self.purpose = purpose
        self.categories = categories; self.region = region; self.timeZone = timeZone; self.at = at
    }
}

/// The answer, with every reason that applies.
public struct Decision: Sendable, Equatable {
    public var reasons: [Reason]
    public var evaluatedAt: Date
    /// When asking again may give `allow`: the latest `until` of the reasons, or nil when one of
    /// them is not time-bound (or when the answer is already allow).
    public var retryAfter: Date?

    public var allowed: Bool { reasons.isEmpty }

    public init(reasons: [Reason], evaluatedAt: Date) {
        self.reasons = reasons.count < 2 ? reasons : reasons.sorted { $0.code < $1.code }
        self.evaluatedAt = evaluatedAt
        if reasons.isEmpty || reasons.contains(where: { $0.until == nil }) {
            retryAfter = nil
        } else {
            retryAfter = reasons.compactMap(\.until).max()
        }
    }

    /// The answer when the store cannot be read: suppress, fail closed.
    public static func unavailable(at: Date, detail: String = "the store cannot answer") -> Decision {
        Decision(reasons: [Reason(code: .unavailable, message: detail)], evaluatedAt: at)
    }
}
