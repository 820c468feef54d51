import Foundation
import Testing
@testable import HushAPI
import HushCore

/// A log line keeps the runs that repeat from one decision to the next (the times, the request's
/// attributes, the key's name) and writes them again: every line must be the line written afresh,
/// whatever came before it.
@Suite struct LogLineTests {
    static let version = Array("\"0123456789ab\"".utf8)
    static let base = Date(timeIntervalSince1970: 1_795_514_400)

    struct Case {
        var ms: UInt64
        var at: Date
        var request: DecisionRequest
        var reasons: [Reason]
        var key: String
        var version = LogLineTests.version
        var customer: (high: UInt64, low: UInt64)? = (0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210)
    }

    /// Lines one after another, each differing from the one before in one thing or in none.
    static var cases: [Case] {
        let ms = UInt64(base.timeIntervalSince1970 * 1000) + 123
        let email = DecisionRequest(customerID: "C1", channel: .email, categories: ["grilling"])
        var cases = [Case(ms: ms, at: base, request: email, reasons: [], key: "sender")]
        func next(_ change: (inout Case) -> Void) { var c = cases.last!; change(&c); cases.append(c) }
        next { _ in }                                                   // the same again: every run kept
        next { $0.request.channel = .sms }                              // another kind of request
        next { $0.request.channel = .email }                            // the first kind, still kept
        next { $0.ms += 1 }                                             // the next millisecond
        next { $0.at = base.addingTimeInterval(1) }                     // another `at`, same millisecond
        next { $0.request.purpose = .service }
        next { $0.request.categories = [] }
        next { $0.request.categories = ["grilling", "wine"] }
        next { $0.request.categories = ["wine", "grilling"] }           // the same categories in another order
        next { $0.request.region = "CA-BC" }
        next { $0.request.region = "CA-\"quoted\"" }                    // a value that needs escapes
        next { $0.key = "ops" }
        next { $0.key = "sender" }
        next { $0.version = Array("\"ba9876543210\"".utf8) }            // a policy reloaded
        next { $0.customer = nil }
        next { $0.reasons = [Reason(code: .quietHours, message: "quiet hours", ref: "policy:quiet_hours:sms", until: base.addingTimeInterval(3_600))] }
        // More kinds of request than are kept, then the first again.
        for channel in ["push", "voice", "letter", "fax", "email"] { next { $0.request.channel = Channel(channel) } }
        next { $0.request.channel = .sms; $0.request.purpose = .marketing }
        return cases
    }

    static func line(_ c: Case, _ runs: inout LogLineRuns) -> String {
        var w = JSONWriter()
        let decision = Decision(reasons: c.reasons, evaluatedAt: c.at)
        let id = DecisionID(milliseconds: c.ms, randA: 0x123, randB: 0x0456_789a_bcde_f012)
        API.writeLogLine(&w, &runs, decision, c.request, id: id, reserved: nil, customer: c.customer, address: nil,
                         key: c.key, policyVersion: c.version)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    @Test func aLineWithKeptRuns_IsTheLineWrittenAfresh() throws {
        var kept = LogLineRuns()
        for (i, c) in Self.cases.enumerated() {
            var fresh = LogLineRuns()
            let written = Self.line(c, &kept)
            #expect(written == Self.line(c, &fresh), "line \(i)")
            // And it says what it was written from.
            let object = try #require(try JSONSerialization.jsonObject(with: Data(written.utf8)) as? [String: Any], "line \(i): \(written)")
            #expect(object["channel"] as? String == c.request.channel.rawValue, "line \(i)")
            #expect(object["purpose"] as? String == c.request.purpose.rawValue, "line \(i)")
            #expect(object["categories"] as? [String] == c.request.categories, "line \(i)")
            #expect(object["region"] as? String == c.request.region, "line \(i)")
            #expect(object["key"] as? String == c.key, "line \(i)")
            #expect(object["at"] as? String == Timestamp.format(c.at), "line \(i)")
            #expect(object["policy_version"] as? String == String(decoding: c.version.dropFirst().dropLast(), as: UTF8.self), "line \(i)")
            #expect((object["customer"] as? String != nil) == (c.customer != nil), "line \(i)")
            let madeAt = try #require(object["made_at"] as? String)
            #expect(madeAt.hasSuffix(String(format: ".%03dZ", Int(c.ms % 1000))), "line \(i): \(madeAt)")
        }
    }
}
