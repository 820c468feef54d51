import Foundation
import Testing
import HushLog
import HushCore
import HushStore
@testable import HushAPI

/// The fast path for decision bodies must agree with the general JSON path on every body it
/// takes, and leave every other body to it.
@Suite struct DecisionBodyTests {
    static let bodies: [String] = [
        #"{"customer_id": "c-1042", "channel": "email"}"#,
        #"{"customer_id":"c-1","channel":"sms","purpose":"service","categories":["grilling","outdoor"],"region":"us-ca","timezone":"Europe/London","at":"2026-11-24T10:00:00+01:00","reserve":true,"campaign_id":"bf"}"#,
        #"  {"channel": "push", "address": "Jo.Doe@Example.com", "categories": []}  "#,
        #"{"channel": "email", "customer_id": null, "address": "+1 415 555 0100"}"#,
        #"{"customer_id": "c", "channel": "fax"}"#,
        #"{"customer_id": "", "channel": "email"}"#,
        #"{"customer_id": "c", "channel": "email", "at": "yesterday"}"#,
        #"{"customer_id": "c", "channel": "email", "colour": "red"}"#,
        #"{"customer_id": "c", "channel": "email", "channel": "sms"}"#,
        #"{"customer_id": "c\u002d1", "channel": "email"}"#,
        #"{"customer_id": "zoë", "channel": "email"}"#,
        #"{"customer_id": 7, "channel": "email"}"#,
        #"{"customer_id": "c", "channel": "email", "reserve": "yes"}"#,
        #"{"channel": "email", "reserve": true, "address": "a@b.co"}"#,
        #"{"customer_id": "c", "channel": "email", "categories": ["a", 1]}"#,
        #"{"customer_id": "c", "channel": "email",}"#,
        #"{"customer_id": "c", "channel": "email"} x"#,
        #"{}"#,
        #"[]"#,
        #"{"customer_id": "c", "channel": "email", "timezone": "Mars/Olympus"}"#,
        #"{"customer_id": "c", "channel": "email", "categories": ["b", "a", "b", "a", "c"]}"#,
        "{\"customer_id\": \"c\", \"channel\": \"email\", \"categories\": [" + (0..<101).map { "\"k\($0)\"" }.joined(separator: ",") + "]}",
    ]

    func describe(_ result: Result<DecisionInput, ValidationError>) -> String {
        switch result {
        case .failure(let error): return "error \(error.field): \(error.message)"
        case .success(let input):
            let r = input.request
            return [r.customerID ?? "-", r.address?.value ?? "-", r.channel.rawValue, r.purpose.rawValue, r.categories.sorted().joined(separator: "|"),
                    r.region ?? "-", r.timeZone?.identifier ?? "-", r.at.map { "\($0.timeIntervalSince1970)" } ?? "-",
                    "\(input.reserve)", input.campaignID ?? "-"].joined(separator: " ")
        }
    }

    @Test func theFastPath_AgreesWithTheGeneralOne_OrStandsAside() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-body-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = [UInt8](repeating: 1, count: 32)
        let hasher = try SharedTombstoneHasher(key: key)
        let store = try SQLiteStore(path: directory.appendingPathComponent("hush.db").path, tombstoneHash: hasher.hash,
                                    renderHistory: JSONWriter.render)
        defer { store.close() }
        let api = try API(store: store, config: Config(), erasureKey: key, writerHasher: hasher, loops: 1, decisionLog: .off())
        var taken = 0
        for body in Self.bodies {
            let bytes = Array(body.utf8)
            let general: Result<DecisionInput, ValidationError>? = (try? JSONParser.parse(bytes)).map { value in
                Result { () throws(ValidationError) in try api.decisionInput(value) }
            }
            guard let fields = DecisionBody.parse(bytes) else { continue }
            let fast = Result { () throws(ValidationError) in try api.decisionInput(fast: fields, in: bytes) }
            taken += 1
            #expect(general.map(describe) == describe(fast), "\(body)")
        }
        #expect(taken >= 7, "the plain bodies take the fast path")
        // Categories are kept once each, in the order first given, on both paths.
        let repeated = Array(#"{"customer_id": "c", "channel": "email", "categories": ["b", "a", "b", "a", "c"]}"#.utf8)
        let fields = try #require(DecisionBody.parse(repeated))
        #expect(try api.decisionInput(fast: fields, in: repeated).request.categories == ["b", "a", "c"])
        #expect(try api.decisionInput(JSONParser.parse(repeated)).request.categories == ["b", "a", "c"])
        // The bodies the fast path must leave alone.
        for body in [#"{"customer_id": "c\u002d1", "channel": "email"}"#, #"{"customer_id": "c", "channel": "email", "colour": "red"}"#,
                     #"{"customer_id": "c", "channel": "email", "channel": "sms"}"#, #"{"customer_id": 7, "channel": "email"}"#] {
            #expect(DecisionBody.parse(Array(body.utf8)) == nil, "\(body)")
        }
        // More categories than the configured limit go to the general path, which refuses them.
        #expect(DecisionBody.parse(repeated, maxCategories: 5) != nil)
        #expect(DecisionBody.parse(repeated, maxCategories: 4) == nil)
    }
}
