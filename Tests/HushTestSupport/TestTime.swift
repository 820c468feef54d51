import Foundation

/// Instants for tests that store dated facts, placed relative to the present so that no test
/// expires: hush keeps contacts and interactions only for the policy's windows back from now,
/// and holds, cool-offs and expiries end at the instants they name.
public enum TestTime {
    /// 20:00 UTC of the latest day on which it has passed: within the last 24 hours, and outside
    /// every default quiet window on the US west coast (12:00 PST, 13:00 PDT) and east coast.
    public static let anchor: Date = {
        let now = Date().timeIntervalSince1970
        let day = (now / 86_400).rounded(.down) * 86_400
        let evening = day + 20 * 3600
        return Date(timeIntervalSince1970: evening <= now ? evening : evening - 86_400)
    }()

    /// `anchor` moved by days, hours and seconds (negative: earlier).
    public static func anchor(days: Double = 0, hours: Double = 0, seconds: Double = 0) -> Date {
        anchor.addingTimeInterval(days * 86_400 + hours * 3600 + seconds)
    }

    /// RFC 3339 in UTC with whole seconds, as hush writes times (`2026-11-24T20:00:00Z`).
    public static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// `rfc3339(anchor(days:hours:seconds:))`.
    public static func iso(days: Double = 0, hours: Double = 0, seconds: Double = 0) -> String {
        rfc3339(anchor(days: days, hours: hours, seconds: seconds))
    }
}
