import Foundation
import HushCore

/// The `policy` object of the configuration file, key for key.
struct RawPolicy: Decodable {
    struct Window: Decodable {
        var start: String, end: String
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, ["start", "end"])
            let c = try decoder.container(keyedBy: StringKey.self)
            start = try c.decode(String.self, forKey: "start")
            end = try c.decode(String.self, forKey: "end")
        }
    }
    struct Cap: Decodable {
        var purpose: String, channel: String, max: Int, windowDays: Double
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, ["purpose", "channel", "max", "window_days"])
            let c = try decoder.container(keyedBy: StringKey.self)
            purpose = try c.decode(String.self, forKey: "purpose")
            channel = try c.decode(String.self, forKey: "channel")
            guard let max = try c.integer("max") else {
                throw DecodingError.keyNotFound(StringKey(stringValue: "max"), .init(codingPath: c.codingPath, debugDescription: ""))
            }
            self.max = max
            windowDays = try c.decode(Double.self, forKey: "window_days")
        }
    }
    struct Willingness: Decodable {
        var windowDays: Double?, threshold: Int?
        init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, ["window_days", "threshold"])
            let c = try decoder.container(keyedBy: StringKey.self)
            windowDays = try c.decodeIfPresent(Double.self, forKey: "window_days")
            threshold = try c.integer("threshold")
        }
    }

    static let keys = ["channels", "purposes", "rules", "case_severity_threshold", "case_cooloff_hours", "quiet_hours",
                       "default_timezone", "frequency_caps", "interaction_scores", "willingness", "broad_unconfirmed_opt_out"]
    var channels: [String]?, purposes: [String]?, rules: [String: [String]]?, severity: String?, coolOffHours: Double?
    var quietHours: [String: Window]?, defaultTimeZone: String?, caps: [Cap]?, scores: [String: Int]?
    var willingness: Willingness?, broad: Bool?

    init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, Self.keys)
        let c = try decoder.container(keyedBy: StringKey.self)
        channels = try c.decodeIfPresent([String].self, forKey: "channels")
        purposes = try c.decodeIfPresent([String].self, forKey: "purposes")
        rules = try c.decodeIfPresent([String: [String]].self, forKey: "rules")
        severity = try c.decodeIfPresent(String.self, forKey: "case_severity_threshold")
        coolOffHours = try c.decodeIfPresent(Double.self, forKey: "case_cooloff_hours")
        quietHours = try c.decodeIfPresent([String: Window].self, forKey: "quiet_hours")
        defaultTimeZone = try c.decodeIfPresent(String.self, forKey: "default_timezone")
        caps = try c.decodeIfPresent([Cap].self, forKey: "frequency_caps")
        scores = try c.decodeIfPresent([String: Int].self, forKey: "interaction_scores")
        willingness = try c.decodeIfPresent(Willingness.self, forKey: "willingness")
        broad = try c.decodeIfPresent(Bool.self, forKey: "broad_unconfirmed_opt_out")
    }

    /// The HushCore policy: the standard one with these keys applied, then validated.
    func policy() throws(ConfigError) -> Policy {
        var policy = Policy.standard
        func fail(_ key: String, _ message: String) -> ConfigError { ConfigError(message: "policy.\(key) \(message)") }
        if let channels { policy.channels = channels.map(Channel.init(rawValue:)) }
        if let purposes { policy.purposes = purposes.map(Purpose.init(rawValue:)) }
        if let rules {
            for (name, purposes) in rules {
                guard let rule = PolicyRule(rawValue: name) else {
                    throw fail("rules.\(name)", "is not a rule; rules are: \(PolicyRule.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                policy.ruleScope[rule] = Set(purposes.map(Purpose.init(rawValue:)))
            }
        }
        if let severity {
            guard let threshold = Severity(rawValue: severity) else { throw fail("case_severity_threshold", "must be low, medium, high or critical") }
            policy.caseSeverityThreshold = threshold
        }
        if let coolOffHours { policy.caseCoolOff = coolOffHours * 3600 }
        if let quietHours {
            policy.quietHours = [:]
            for (channel, window) in quietHours {
                do {
                    policy.quietHours[Channel(channel)] = QuietHours(
                        start: try LocalTime(parsing: window.start, field: "policy.quiet_hours.\(channel).start"),
                        end: try LocalTime(parsing: window.end, field: "policy.quiet_hours.\(channel).end"))
                } catch {
                    throw ConfigError(message: "\(error.field) \(error.message)")
                }
            }
        }
        if let defaultTimeZone {
            guard let zone = TimeZone(identifier: defaultTimeZone) else { throw fail("default_timezone", "is not an IANA time zone: \(defaultTimeZone)") }
            policy.defaultTimeZone = zone
        }
        if let caps {
            policy.frequencyCaps = caps.map {
                FrequencyCap(purpose: Purpose($0.purpose), channel: $0.channel == "*" ? nil : Channel($0.channel), max: $0.max, window: $0.windowDays * 86_400)
            }
        }
        if let scores { policy.interactionScores = scores }
        if let windowDays = willingness?.windowDays { policy.willingnessWindow = windowDays * 86_400 }
        if let threshold = willingness?.threshold { policy.willingnessThreshold = threshold }
        if let broad { policy.broadUnconfirmedOptOut = broad }
        do { try policy.validate() } catch { throw ConfigError(message: "\(error.field) \(error.message)") }
        return policy
    }
}
