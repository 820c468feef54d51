import Foundation

/// Why a send is suppressed. The order of the cases is the order a decision lists its reasons.
public enum ReasonCode: String, Sendable, CaseIterable, Comparable {
    case erased, doNotContact = "do_not_contact", optedOut = "opted_out", objected
    case openCase = "open_case", caseCooloff = "case_cooloff", environmentalHold = "environmental_hold"
    case quietHours = "quiet_hours", frequencyCap = "frequency_cap", lowWillingness = "low_willingness"
    case unavailable

    /// The position in a decision's list of reasons (and in `allCases`).
    public var rank: Int {
        switch self {
        case .erased: 0
        case .doNotContact: 1
        case .optedOut: 2
        case .objected: 3
        case .openCase: 4
        case .caseCooloff: 5
        case .environmentalHold: 6
        case .quietHours: 7
        case .frequencyCap: 8
        case .lowWillingness: 9
        case .unavailable: 10
        }
    }

    public static func < (a: ReasonCode, b: ReasonCode) -> Bool { a.rank < b.rank }
}

/// One reason a send is suppressed. A decision records what it found (`detail`); the words
/// for people (`message`) and the record's name (`ref`) are written from it when asked for,
/// so deciding builds no text.
public struct Reason: Sendable, Equatable {
    public var code: ReasonCode
    /// The first whole second at which this reason no longer holds; nil when it is not time-bound.
    public var until: Date?
    public var detail: Detail

    /// What the rule found.
    public enum Detail: Sendable, Equatable {
        case erasedCustomer
        case erasedAddress
        case suppression(Suppression)
        case openCase(ServiceCase)
        case caseCooloff(ServiceCase, closedAt: Date)
        case hold(Hold)
        case quietHours(channel: Channel, window: QuietHours, zone: TimeZone)
        case frequencyCap(FrequencyCap, count: Int)
        case lowWillingness(score: Int, window: TimeInterval, threshold: Int)
        /// Anything else, in words.
        case text(message: String, ref: String?)
    }

    public init(code: ReasonCode, detail: Detail, until: Date? = nil) {
        self.code = code; self.detail = detail; self.until = until
    }

    public init(code: ReasonCode, message: String, ref: String? = nil, until: Date? = nil) {
        self.init(code: code, detail: .text(message: message, ref: ref), until: until)
    }

    /// For people: what and why.
    public var message: String {
        switch detail {
        case .erasedCustomer:
            return "the customer's data was erased at their request"
        case .erasedAddress:
            return "the address belongs to a customer whose data was erased"
        case .suppression(let suppression):
            let whom = switch suppression.subject {
            case .customer: "the customer"
            case .address(let address): address.value
            }
            var message = "\(suppression.kind.rawValue) for \(whom)"
            if let source = suppression.source { message += " (source: \(source))" }
            if !suppression.confirmed { message += ", not yet confirmed" }
            return message
        case .openCase(let serviceCase):
            return "service case \(serviceCase.id) (\(serviceCase.severity.rawValue)) \(serviceCase.status.rawValue) since \(Timestamp.format(serviceCase.openedAt))"
        case .caseCooloff(let serviceCase, let closedAt):
            return "service case \(serviceCase.id) (\(serviceCase.severity.rawValue)) closed at \(Timestamp.format(closedAt)); cooling off"
        case .hold(let hold):
            return hold.reason.isEmpty ? hold.title : "\(hold.title): \(hold.reason)"
        case .quietHours(let channel, let window, let zone):
            return "quiet hours for \(channel) are \(window.start)–\(window.end) in \(zone.identifier)"
        case .frequencyCap(let cap, let count):
            let scope = cap.channel.map { "\($0)" } ?? "all channels"
            return "\(count) \(cap.purpose) contacts on \(scope) in the last \(Self.days(cap.window)) (cap \(cap.max))"
        case .lowWillingness(let score, let window, let threshold):
            return "willingness score \(score) over the last \(Self.days(window)) is below \(threshold)"
        case .text(let message, _):
            return message
        }
    }

    /// The record or policy entry behind it (`case:8812`, `hold:wildfire-ca`), when there is one.
    public var ref: String? {
        switch detail {
        case .erasedCustomer, .erasedAddress: "erasure"
        case .suppression(let suppression): "suppression:\(suppression.id)"
        case .openCase(let serviceCase), .caseCooloff(let serviceCase, _): "case:\(serviceCase.id)"
        case .hold(let hold): "hold:\(hold.id)"
        case .quietHours(let channel, _, _): "policy:quiet_hours:\(channel)"
        case .frequencyCap(let cap, _): "policy:frequency_cap:\(cap.purpose):\(cap.channel.map(\.rawValue) ?? "*")"
        case .lowWillingness: "policy:willingness"
        case .text(_, let ref): ref
        }
    }

    static func days(_ interval: TimeInterval) -> String {
        let days = interval / 86_400
        if days == days.rounded() { return Int(days) == 1 ? "day" : "\(Int(days)) days" }
        return "\(Int(interval / 3600)) hours"
    }
}

/// The question: may we contact this customer, on this channel, for this purpose, at `at`?
public struct DecisionRequest: Sendable {
    public var customerID: String?
    public var address: Address?
    public var channel: Channel
    public var purpose: Purpose
    /// The send's content categories, each once (a list: a request names a handful, and a
    /// decision only asks whether a hold names one of them).
    public var categories: [String]
    /// Overrides the profile's region.
    public var region: String?
    /// Overrides the profile's time zone.
    public var timeZone: TimeZone?
    /// When the send would happen; nil means now.
    public var at: Date?

    public init(customerID: String? = nil, address: Address? = nil, channel: Channel, purpose: Purpose = .marketing,
                categories: [String] = [], region: String? = nil, timeZone: TimeZone? = nil, at: Date? = nil) {
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
