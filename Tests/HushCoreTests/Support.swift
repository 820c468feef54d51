import Foundation
@testable import HushCore

/// `"2026-11-24T10:00:00Z"` → Date (tests only; the API has its own strict parser).
func t(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    guard let date = formatter.date(from: text) else { fatalError("bad test time \(text)") }
    return date
}

let hour: TimeInterval = 3600
let day: TimeInterval = 86_400

func zone(_ id: String) -> TimeZone { TimeZone(identifier: id)! }

/// decide() with the standard policy unless told otherwise.
func decision(_ request: DecisionRequest, _ facts: Facts = Facts(), policy: Policy = .standard, at: String) -> Decision {
    decide(request, facts: facts, policy: policy, now: t(at))
}

extension Decision {
    var codes: [ReasonCode] { reasons.map(\.code) }
}

func customer(_ id: String = "c-1042", channel: Channel = "email", purpose: Purpose = .marketing,
              categories: [String] = [], region: String? = nil, timeZone: TimeZone? = nil) -> DecisionRequest {
    DecisionRequest(customerID: id, channel: channel, purpose: purpose, categories: categories, region: region, timeZone: timeZone)
}
