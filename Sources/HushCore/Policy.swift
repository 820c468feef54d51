import Foundation

/// A time of day, in seconds after local midnight.
public struct LocalTime: Sendable, Equatable, Comparable, CustomStringConvertible {
    public let secondsOfDay: Int

    /// `"21:00"` → 21:00. Throws naming `field` unless it is HH:MM with HH 00–23 and MM 00–59.
    public init(parsing text: String, field: String) throws(ValidationError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let h = Int(parts[0]), let m = Int(parts[1]),
              (0...23).contains(h), (0...59).contains(m) else {
            throw ValidationError(field: field, message: "must be a time of day as HH:MM (00:00 to 23:59)")
        }
        secondsOfDay = h * 3600 + m * 60
    }

    public init(hour: Int, minute: Int = 0) { secondsOfDay = hour * 3600 + minute * 60 }

    public var description: String {
        let h = secondsOfDay / 3600, m = secondsOfDay / 60 % 60
        return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }

    public static func < (a: LocalTime, b: LocalTime) -> Bool { a.secondsOfDay < b.secondsOfDay }
}

/// Quiet hours `[start, end)` in the customer's local time; `start > end` crosses midnight.
public struct QuietHours: Sendable, Equatable {
    public var start: LocalTime
    public var end: LocalTime
    public init(start: LocalTime, end: LocalTime) { self.start = start; self.end = end }
}

/// At most `max` contacts for `purpose` on `channel` (nil: all channels together) in any window
/// `(at − window, at]`.
public struct FrequencyCap: Sendable, Equatable {
    public var purpose: Purpose
    public var channel: Channel?
    public var max: Int
    public var window: TimeInterval
    public init(purpose: Purpose, channel: Channel?, max: Int, window: TimeInterval) {
        self.purpose = purpose; self.channel = channel; self.max = max; self.window = window
    }
}

/// Some of the policy rules: those that apply to one purpose, one bit each.
struct PolicyRules {
    let bits: UInt8
    func contains(_ rule: PolicyRule) -> Bool { bits & rule.bit != 0 }
}

/// The rules that have no record of their own; the policy says which purposes each applies to.
public enum PolicyRule: String, Sendable, CaseIterable {
    case openCase = "open_case", caseCooloff = "case_cooloff", quietHours = "quiet_hours"
    case frequencyCap = "frequency_cap", lowWillingness = "low_willingness"

    var bit: UInt8 {
        switch self {
        case .openCase: 1
        case .caseCooloff: 2
        case .quietHours: 4
        case .frequencyCap: 8
        case .lowWillingness: 16
        }
    }
}

/// The contact policy: everything about a decision that is not data. `standard` is the default
/// that ships in `Config/hush.json`.
public struct Policy: Sendable, Equatable {
    /// Channels in the order per-customer decisions list them.
    public var channels: [Channel]
    public var purposes: [Purpose]
    /// The purposes each rule applies to.
    public var ruleScope: [PolicyRule: Set<Purpose>] { didSet { ruleBits = Self.bits(ruleScope) } }
    /// `ruleScope` turned around: per purpose, the bits of the rules that apply to it. A
    /// decision looks its purpose up once instead of hashing it for every rule.
    private var ruleBits: [PurposeRules]
    /// Cases at or above this severity suppress while open or pending, and cool off after.
    public var caseSeverityThreshold: Severity
    public var caseCoolOff: TimeInterval
    public var quietHours: [Channel: QuietHours]
    /// The clock for quiet hours when neither the request nor the profile names a time zone.
    public var defaultTimeZone: TimeZone
    public var frequencyCaps: [FrequencyCap]
    /// The score of each interaction type when an interaction does not carry its own.
    public var interactionScores: [String: Int]
    public var willingnessWindow: TimeInterval
    /// A willingness sum below this suppresses.
    public var willingnessThreshold: Int
    /// An unconfirmed single-channel opt-out covers every channel (of its address) for marketing.
    public var broadUnconfirmedOptOut: Bool

    public init(channels: [Channel], purposes: [Purpose], ruleScope: [PolicyRule: Set<Purpose>], caseSeverityThreshold: Severity,
                caseCoolOff: TimeInterval, quietHours: [Channel: QuietHours], defaultTimeZone: TimeZone, frequencyCaps: [FrequencyCap],
                interactionScores: [String: Int], willingnessWindow: TimeInterval, willingnessThreshold: Int, broadUnconfirmedOptOut: Bool) {
        self.channels = channels; self.purposes = purposes; self.ruleScope = ruleScope; ruleBits = Self.bits(ruleScope)
        self.caseSeverityThreshold = caseSeverityThreshold; self.caseCoolOff = caseCoolOff; self.quietHours = quietHours
        self.defaultTimeZone = defaultTimeZone; self.frequencyCaps = frequencyCaps; self.interactionScores = interactionScores
        self.willingnessWindow = willingnessWindow; self.willingnessThreshold = willingnessThreshold
        self.broadUnconfirmedOptOut = broadUnconfirmedOptOut
    }

    static let day: TimeInterval = 86_400

    /// DESIGN.md's defaults table.
    public static let standard = Policy(
        channels: ["email", "sms", "push", "voice", "ivr", "direct_mail", "in_app", "ads"],
        purposes: [.marketing, .service, .transactional],
        ruleScope: Dictionary(uniqueKeysWithValues: PolicyRule.allCases.map { ($0, [Purpose.marketing]) }),
        caseSeverityThreshold: .high,
        caseCoolOff: 72 * 3600,
        quietHours: [
            "sms": QuietHours(start: LocalTime(hour: 21), end: LocalTime(hour: 8)),
            "voice": QuietHours(start: LocalTime(hour: 21), end: LocalTime(hour: 8)),
            "push": QuietHours(start: LocalTime(hour: 22), end: LocalTime(hour: 7)),
        ],
        defaultTimeZone: TimeZone(identifier: "UTC")!,
        frequencyCaps: [
            FrequencyCap(purpose: .marketing, channel: "email", max: 3, window: 7 * day),
            FrequencyCap(purpose: .marketing, channel: "sms", max: 2, window: 7 * day),
            FrequencyCap(purpose: .marketing, channel: nil, max: 6, window: 7 * day),
        ],
        interactionScores: ["complaint": -5, "negative_survey": -3, "inbound_call": -1, "content_download": 1, "purchase": 2, "positive_survey": 3],
        willingnessWindow: 7 * day,
        willingnessThreshold: -6,
        broadUnconfirmedOptOut: true)

    public func applies(_ rule: PolicyRule, to purpose: Purpose) -> Bool {
        rules(for: purpose).contains(rule)
    }

    struct PurposeRules: Sendable, Equatable {
        let purpose: Purpose
        let bits: UInt8
    }

    /// The rules that apply to `purpose`.
    func rules(for purpose: Purpose) -> PolicyRules {
        for entry in ruleBits where entry.purpose == purpose { return PolicyRules(bits: entry.bits) }
        return PolicyRules(bits: 0)
    }

    private static func bits(_ scope: [PolicyRule: Set<Purpose>]) -> [PurposeRules] {
        var bits: [Purpose: UInt8] = [:]
        for (rule, purposes) in scope {
            for purpose in purposes { bits[purpose, default: 0] |= rule.bit }
        }
        return bits.map { PurposeRules(purpose: $0.key, bits: $0.value) }.sorted { $0.purpose < $1.purpose }
    }

    /// The longest window any rule looks back over: contacts and interactions older than this
    /// can be pruned.
    public var longestWindow: TimeInterval {
        max(willingnessWindow, frequencyCaps.map(\.window).max() ?? 0)
    }

    /// Checks that the policy is coherent; the error names the key under `policy.`.
    public func validate() throws(ValidationError) {
        func fail(_ field: String, _ message: String) -> ValidationError { ValidationError(field: "policy.\(field)", message: message) }
        if channels.isEmpty { throw fail("channels", "must list at least one channel") }
        if Set(channels).count != channels.count { throw fail("channels", "lists a channel twice") }
        if purposes.isEmpty { throw fail("purposes", "must list at least one purpose") }
        if Set(purposes).count != purposes.count { throw fail("purposes", "lists a purpose twice") }
        for name in channels.map(\.rawValue) + purposes.map(\.rawValue) where !Self.isName(name) {
            throw fail(channels.contains(Channel(name)) ? "channels" : "purposes", "\"\(name)\" must be 1 to 32 of a-z, 0-9 and _")
        }
        for (rule, scope) in ruleScope {
            for purpose in scope where !purposes.contains(purpose) {
                throw fail("rules.\(rule.rawValue)", "names unknown purpose \"\(purpose)\"")
            }
        }
        if caseCoolOff < 0 { throw fail("case_cooloff_hours", "must not be negative") }
        for channel in quietHours.keys where !channels.contains(channel) {
            throw fail("quiet_hours.\(channel)", "is not a configured channel")
        }
        for (i, cap) in frequencyCaps.enumerated() {
            if !purposes.contains(cap.purpose) { throw fail("frequency_caps[\(i)].purpose", "names unknown purpose \"\(cap.purpose)\"") }
            if let channel = cap.channel, !channels.contains(channel) {
                throw fail("frequency_caps[\(i)].channel", "names unknown channel \"\(channel)\"")
            }
            if cap.max < 1 { throw fail("frequency_caps[\(i)].max", "must be at least 1") }
            if cap.window <= 0 { throw fail("frequency_caps[\(i)].window_days", "must be positive") }
        }
        if willingnessWindow <= 0 { throw fail("willingness.window_days", "must be positive") }
    }

    static func isName(_ text: String) -> Bool {
        (1...32).contains(text.utf8.count) && text.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }
}

extension Policy {
    /// The policy as one line of text, the same for equal policies whatever the order of their
    /// dictionaries: what `policy_version` is a hash of.
    public var canonicalText: String {
        func seconds(_ interval: TimeInterval) -> String { String(Int64(interval)) }
        var parts: [String] = []
        parts.append("channels=" + channels.map(\.rawValue).joined(separator: ","))
        parts.append("purposes=" + purposes.map(\.rawValue).joined(separator: ","))
        for rule in PolicyRule.allCases {
            parts.append("rule.\(rule.rawValue)=" + (ruleScope[rule] ?? []).map(\.rawValue).sorted().joined(separator: ","))
        }
        parts.append("case_severity_threshold=\(caseSeverityThreshold.rawValue)")
        parts.append("case_cooloff=" + seconds(caseCoolOff))
        for (channel, window) in quietHours.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            parts.append("quiet.\(channel.rawValue)=\(window.start)-\(window.end)")
        }
        parts.append("default_timezone=" + defaultTimeZone.name)
        for cap in frequencyCaps {
            parts.append("cap=\(cap.purpose.rawValue)/\(cap.channel?.rawValue ?? "*")/\(cap.max)/" + seconds(cap.window))
        }
        for (type, score) in interactionScores.sorted(by: { $0.key < $1.key }) { parts.append("score.\(type)=\(score)") }
        parts.append("willingness=" + seconds(willingnessWindow) + "/\(willingnessThreshold)")
        parts.append("broad_unconfirmed_opt_out=\(broadUnconfirmedOptOut)")
        return parts.joined(separator: ";")
    }
}
