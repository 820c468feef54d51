import Foundation
import Testing
import HushTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// hush's own log on standard error, read from the running binary: the access log's lines,
/// their fields and what they must never hold, and `log.access` and `log.level`.
@Suite struct AccessLogTests {
    /// The JSON lines of a stopped hush's standard error.
    static func lines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? ["unparsed": String(line)]
        }
    }

    static func requests(_ lines: [[String: Any]]) -> [[String: Any]] { lines.filter { $0["event"] as? String == "request" } }

    @Test func everyAnswer_GetsALine_WithItsFields_AndTheRequestIdEchoed_AndNoPersonalData() throws {
        let key = "ops-key-5f2d9c1e7a3b4d6f"
        let hush = try startKeyedHush(["ops": (key: key, scope: "admin")], extra: #""log": {"access": "all"}"#)
        let client = try APIClient(port: hush.port, key: key)
        let profile = #"{"region": "US-CA", "timezone": "America/Los_Angeles", "email": "private.person@example.com", "phone": "+14155550123"}"#
        #expect(try client.put("/v1/customers/C-Private-4711", profile).status == 201)
        let body = #"{"customer_id": "C-Private-4711", "channel": "email"}"#
        let decision = try client.call("POST", "/v1/decisions", body, headers: [("X-Request-Id", "trace-42.a_b:c")])
        #expect(decision.status == 200)
        #expect(decision.response.header("X-Request-Id") == "trace-42.a_b:c")
        let byAddress = try client.post("/v1/decisions", #"{"address": "private.person@example.com", "channel": "email"}"#)
        #expect(byAddress.status == 200)
        // An id that is not a plain token is not echoed: one is made up instead.
        let view = try client.call("GET", "/v1/customers/C-Private-4711", headers: [("X-Request-Id", "bad\"id")])
        #expect(view.status == 200)
        let madeUp = view.response.header("X-Request-Id") ?? ""
        #expect(madeUp.count == 16 && madeUp.allSatisfy(\.isHexDigit), "\(madeUp)")
        client.key = nil
        #expect(try client.get("/v1/customers/C-Private-4711").status == 401)
        #expect(try client.get("/v1/nothing/C-Private-4711").status == 404)
        #expect(hush.stop() == 0)

        let text = hush.restOfStandardError
        for secret in ["C-Private-4711", "private.person@example.com", "+14155550123", "14155550123", key] {
            #expect(!text.contains(secret), "\(secret) in the log")
        }
        let lines = Self.lines(text)
        #expect(lines.allSatisfy { $0["unparsed"] == nil && $0["time"] is String && $0["level"] is String }, "\(text)")
        let requests = Self.requests(lines)
        #expect(requests.count == 6, "\(text)")
        guard requests.count == 6 else { return }
        #expect(requests.map { $0["route"] as? String ?? "-" }
                == ["/v1/customers/{id}", "/v1/decisions", "/v1/decisions", "/v1/customers/{id}", "/v1/customers/{id}", "-"])
        #expect(requests.map { $0["status"] as? Int ?? 0 } == [201, 200, 200, 200, 401, 404])
        #expect(requests.map { $0["method"] as? String ?? "-" } == ["PUT", "POST", "POST", "GET", "GET", "GET"])
        #expect(requests.map { $0["key"] as? String ?? "-" } == ["ops", "ops", "ops", "ops", "-", "-"])
        #expect(requests.map { $0["level"] as? String ?? "-" } == ["info", "info", "info", "info", "warn", "warn"])
        let line = requests[1]
        #expect(line["request_id"] as? String == "trace-42.a_b:c")
        #expect(requests[3]["request_id"] as? String == madeUp)
        // The bytes as they went over the wire: the head APIClient wrote, then the body.
        let head = "POST /v1/decisions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(key)\r\nX-Request-Id: trace-42.a_b:c\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        #expect(line["bytes_in"] as? Int == head.utf8.count + body.utf8.count)
        #expect((line["bytes_out"] as? Int ?? 0) > decision.response.body.count)
        #expect((line["duration_us"] as? Int).map { $0 >= 0 } == true)
        // Start, drain and stop are lines of their own.
        let events = lines.compactMap { $0["event"] as? String }
        #expect(events.first == "start" && events.suffix(2) == ["stopping", "stopped"], "\(events)")
    }

    @Test func accessErrors_LogsOnlyFailures() throws {
        let hush = try startKeyedHush([:], extra: #""log": {"access": "errors"}"#)
        let client = try APIClient(port: hush.port)
        #expect(try client.get("/healthz").status == 200)
        #expect(try client.get("/v1/nothing").status == 404)
        #expect(hush.stop() == 0)
        let requests = Self.requests(Self.lines(hush.restOfStandardError))
        #expect(requests.map { $0["status"] as? Int ?? 0 } == [404])
    }

    @Test func theDefault_KeepsEveryOtherAnswer_AndAboutOneSuccessfulDecisionInAHundred() throws {
        let hush = try startKeyedHush([:])
        let client = try APIClient(port: hush.port)
        for _ in 0..<2_000 { #expect(try client.post("/v1/decisions", #"{"customer_id": "c-1", "channel": "sms"}"#).status == 200) }
        #expect(try client.get("/v1/customers/c-1").status == 404)
        #expect(hush.stop() == 0)
        let requests = Self.requests(Self.lines(hush.restOfStandardError))
        let decisions = requests.filter { $0["route"] as? String == "/v1/decisions" }.count
        // 20 expected; the chance of fewer than 5 or more than 50 is below one in a million.
        #expect((5...50).contains(decisions), "\(decisions) of 2,000 decisions logged")
        #expect(requests.contains { $0["route"] as? String == "/v1/customers/{id}" && $0["status"] as? Int == 404 })
    }

    @Test func aSamplingRateOfZero_LeavesOutSuccessfulDecisions_AndKeepsTheRest() throws {
        let hush = try startKeyedHush([:], extra: #""log": {"access": 0}"#)
        let client = try APIClient(port: hush.port)
        for _ in 0..<20 { #expect(try client.post("/v1/decisions", #"{"customer_id": "c-1", "channel": "sms"}"#).status == 200) }
        #expect(try client.post("/v1/decisions", #"{"channel": "sms"}"#).status == 400)
        #expect(try client.get("/healthz").status == 200)
        #expect(hush.stop() == 0)
        let requests = Self.requests(Self.lines(hush.restOfStandardError))
        #expect(requests.map { "\($0["route"] as? String ?? "-") \($0["status"] as? Int ?? 0)" } == ["/v1/decisions 400", "/healthz 200"])
    }

    @Test func accessOff_AndLevelError_LeaveOnlyErrors() throws {
        let hush = try startKeyedHush([:], extra: #""log": {"access": "off", "level": "error"}"#)
        let client = try APIClient(port: hush.port)
        #expect(try client.get("/v1/nothing").status == 404)
        #expect(hush.stop() == 0)
        let text = hush.restOfStandardError
        #expect(text.isEmpty, "\(text)")
    }
}
