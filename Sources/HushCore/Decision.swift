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

    /// What the rule found. The records are boxed (`indirect`): a reason is copied several
    /// times on its way to an answer and a log line, and a box is one reference to count where
    /// a `Hold` or a `Suppression` inline is a dozen.
    public enum Detail: Sendable, Equatable {
        case erasedCustomer
        case erasedAddress
        indirect case suppression(Suppression)
        indirect case openCase(ServiceCase)
        indirect case caseCooloff(ServiceCase, closedAt: Date)
        indirect case hold(Hold)
        indirect case quietHours(channel: Channel, window: QuietHours, zone: TimeZone)
        indirect case frequencyCap(FrequencyCap, count: Int)
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
        var text = ""
        writeMessage { text += String(decoding: $0, as: UTF8.self) }
        return text
    }

    /// The record or policy entry behind it (`case:8812`, `hold:wildfire-ca`), when there is one.
    public var ref: String? {
        guard hasRef else { return nil }
        var text = ""
        writeRef { text += String(decoding: $0, as: UTF8.self) }
        return text
    }

    /// Whether there is a `ref`.
    public var hasRef: Bool {
        if case .text(_, nil) = detail { return false }
        return true
    }

    /// `message`, handed to `part` piece by piece (UTF-8): an answer takes the words without a
    /// String being built for them.
    public func writeMessage(_ part: (UnsafeBufferPointer<UInt8>) -> Void) {
        let out = TextPieces.self
        switch detail {
        case .erasedCustomer:
            out.put("the customer's data was erased at their request", to: part)
        case .erasedAddress:
            out.put("the address belongs to a customer whose data was erased", to: part)
        case .suppression(let suppression):
            out.put(suppression.kind.rawValue, to: part); out.put(" for ", to: part)
            switch suppression.subject {
            case .customer: out.put("the customer", to: part)
            case .address(let address): out.put(address.value, to: part)
            }
            if let source = suppression.source { out.put(" (source: ", to: part); out.put(source, to: part); out.put(")", to: part) }
            if !suppression.confirmed { out.put(", not yet confirmed", to: part) }
        case .openCase(let serviceCase):
            out.put("service case ", to: part); out.put(serviceCase.id, to: part); out.put(" (", to: part); out.put(serviceCase.severity.rawValue, to: part); out.put(") ", to: part)
            out.put(serviceCase.status.rawValue, to: part); out.put(" since ", to: part); out.put(time: serviceCase.openedAt, to: part)
        case .caseCooloff(let serviceCase, let closedAt):
            out.put("service case ", to: part); out.put(serviceCase.id, to: part); out.put(" (", to: part); out.put(serviceCase.severity.rawValue, to: part)
            out.put(") closed at ", to: part); out.put(time: closedAt, to: part); out.put("; cooling off", to: part)
        case .hold(let hold):
            out.put(hold.title, to: part)
            if !hold.reason.isEmpty { out.put(": ", to: part); out.put(hold.reason, to: part) }
        case .quietHours(let channel, let window, let zone):
            out.put("quiet hours for ", to: part); out.put(channel.rawValue, to: part); out.put(" are ", to: part); out.put(window.start, to: part); out.put("–", to: part)
            out.put(window.end, to: part); out.put(" in ", to: part); out.put(zone.name, to: part)
        case .frequencyCap(let cap, let count):
            out.put(count, to: part); out.put(" ", to: part); out.put(cap.purpose.rawValue, to: part); out.put(" contacts on ", to: part)
            if let channel = cap.channel { out.put(channel.rawValue, to: part) } else { out.put("all channels", to: part) }
            out.put(" in the last ", to: part); out.put(days: cap.window, to: part); out.put(" (cap ", to: part); out.put(cap.max, to: part); out.put(")", to: part)
        case .lowWillingness(let score, let window, let threshold):
            out.put("willingness score ", to: part); out.put(score, to: part); out.put(" over the last ", to: part); out.put(days: window, to: part)
            out.put(" is below ", to: part); out.put(threshold, to: part)
        case .text(let message, _):
            out.put(message, to: part)
        }
    }

    /// `ref` piece by piece, as `writeMessage`; nothing when there is none.
    public func writeRef(_ part: (UnsafeBufferPointer<UInt8>) -> Void) {
        let out = TextPieces.self
        switch detail {
        case .erasedCustomer, .erasedAddress: out.put("erasure", to: part)
        case .suppression(let suppression): out.put("suppression:", to: part); out.put(suppression.id, to: part)
        case .openCase(let serviceCase), .caseCooloff(let serviceCase, _): out.put("case:", to: part); out.put(serviceCase.id, to: part)
        case .hold(let hold): out.put("hold:", to: part); out.put(hold.id, to: part)
        case .quietHours(let channel, _, _): out.put("policy:quiet_hours:", to: part); out.put(channel.rawValue, to: part)
        case .frequencyCap(let cap, _):
            out.put("policy:frequency_cap:", to: part); out.put(cap.purpose.rawValue, to: part); out.put(":", to: part)
            if let channel = cap.channel { out.put(channel.rawValue, to: part) } else { out.put("*", to: part) }
        case .lowWillingness: out.put("policy:willingness", to: part)
        case .text(_, let ref): if let ref { out.put(ref, to: part) }
        }
    }
}

/// Text written in pieces to a closure: static words, strings, integers, times of day,
/// RFC 3339 times and window lengths, each without building a String. Functions, not a value
/// holding the closure: a closure kept in a value escapes, and making it one costs an
/// allocation a message.
private enum TextPieces {
    typealias Part = (UnsafeBufferPointer<UInt8>) -> Void

    static func put(_ text: StaticString, to part: Part) { part(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)) }
    static func put(_ text: String, to part: Part) { text.withUTF8Bytes(part) }
    static func put(time: Date, to part: Part) { Timestamp.withBytes(time, part) }

    static func put(_ value: Int, to part: Part) {
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { raw in
            let b = raw.bindMemory(to: UInt8.self)
            var v = value.magnitude, i = b.count
            repeat { i -= 1; b[i] = UInt8(v % 10) &+ 0x30; v /= 10 } while v > 0
            if value < 0 { i -= 1; b[i] = UInt8(ascii: "-") }
            part(UnsafeBufferPointer(rebasing: b[i...]))
        }
    }

    /// `21:00`.
    static func put(_ time: LocalTime, to part: Part) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 5) { b in
            Timestamp.twoDigits(time.secondsOfDay / 3600, b.baseAddress!)
            b[2] = UInt8(ascii: ":")
            Timestamp.twoDigits(time.secondsOfDay / 60 % 60, b.baseAddress! + 3)
            part(UnsafeBufferPointer(b))
        }
    }

    /// `day`, `7 days`, or `36 hours` when the window is not whole days.
    static func put(days interval: TimeInterval, to part: Part) {
        let days = interval / 86_400
        if days == days.rounded() {
            if Int(days) == 1 { put("day", to: part) } else { put(Int(days), to: part); put(" days", to: part) }
        } else {
            put(Int(interval / 3600), to: part); put(" hours", to: part)
        }
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

    @inlinable
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
        // The latest `until`, or nil when a reason has none (or there is no reason): found in
        // one pass, without an array of the times.
        var latest: Date?
        for reason in reasons {
            guard let until = reason.until else { latest = nil; break }
            if latest.map({ until > $0 }) ?? true { latest = until }
        }
        retryAfter = latest
    }

    /// The answer when the store cannot be read: suppress, fail closed.
    public static func unavailable(at: Date, detail: String = "the store cannot answer") -> Decision {
        Decision(reasons: [Reason(code: .unavailable, message: detail)], evaluatedAt: at)
    }
}
