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

    /// An API over a fresh store in a directory of its own, removed after `body`.
    func withAPI(_ body: (API) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-body-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = [UInt8](repeating: 1, count: 32)
        let hasher = try SharedTombstoneHasher(key: key)
        let store = try SQLiteStore(path: directory.appendingPathComponent("hush.db").path, tombstoneHash: hasher.hash,
                                    renderHistory: JSONWriter.render)
        defer { store.close() }
        let api = try API(store: store, config: Config(), erasureKey: key, writerHasher: hasher, loops: 1, decisionLog: .off())
        try body(api)
    }

    @Test func theFastPath_AgreesWithTheGeneralOne_OrStandsAside() throws {
        try withAPI { api in
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

    /// Batch bodies: plain ones, and each way one can stop being plain.
    static let batches: [String] = [
        #"{"requests": [{"customer_id": "c-1", "channel": "email"}, {"customer_id": "c-2", "channel": "sms", "categories": ["grilling"]}]}"#,
        #" { "min_token" : "0/16B3748", "requests" : [ {"channel": "push", "address": "Jo.Doe@Example.com"} , {} ] } "#,
        #"{"requests": [], "min_token": null}"#,
        #"{"requests": [{"customer_id": "c", "channel": "fax"}, {"channel": "email"}, {"customer_id": "c", "channel": "email", "at": "soon"}]}"#,
        #"{"requests": [{"customer_id": "c", "channel": "email", "categories": ["a", "b c"]}]}"#,
        #"{"requests": [{"customer_id": "c", "channel": "email", "reserve": true}]}"#,
        #"{"requests": [{"customer_id": "c", "channel": "email", "reserve": null}]}"#,
        #"{"requests": [{"customer_id": "c", "channel": "email", "category": "grilling"}]}"#,
        #"{"requests": [{"customer_id": "c", "channel": "email", "colour": 1}]}"#,
        #"{"requests": [{"customer_id": "c", "channel": "email"}], "requests": []}"#,
        #"{"requests": [{"customer_id": "c", "channel": "email"}], "extra": true}"#,
        #"{"requests": [{"customer_id": "c", "channel": "email"}],}"#,
        #"{"requests": [{"customer_id": "c", "channel": "email"},]}"#,
        #"{"requests": [{"customer_id": "c", "channel": "email"}]} x"#,
        #"{"requests": {"customer_id": "c", "channel": "email"}}"#,
        #"{"requests": ["c"]}"#,
        #"{"min_token": "0/1"}"#,
        #"{"min_token": 7, "requests": []}"#,
        #"{"requests": [{"customer_id": "c\u002d1", "channel": "email"}]}"#,
        #"{}"#,
        #"[]"#,
    ]

    @Test func theBatchFastPath_AgreesWithTheGeneralOne_ItemByItem_OrStandsAside() throws {
        try withAPI { api in
            var taken: [String] = []
            for body in Self.batches {
                let bytes = Array(body.utf8)
                guard let batch = DecisionBatchBody.parse(bytes, maxCategories: 100, maxItems: 10) else { continue }
                taken.append(body)
                // What the general path reads: a JSON object with a list of requests and no other member.
                let value = try JSONParser.parse(bytes)
                var reader = try FieldReader(value)
                let token = try reader.string("min_token")
                guard case .array(let items)? = reader.raw("requests") else { Issue.record("no list of requests: \(body)"); continue }
                try reader.finish()
                #expect(token == DecisionBody.text(batch.minToken, in: bytes), "\(body)")
                #expect(items.count == batch.items.count, "\(body)")
                for i in 0..<min(items.count, batch.items.count) {
                    let general = Result { () throws(ValidationError) in try api.decisionInput(items[i], prefix: "requests[\(i)].", allowReserve: false) }
                    let fast = Result { () throws(ValidationError) in try api.decisionInput(item: i, of: batch, in: bytes) }
                    #expect(describe(general) == describe(fast), "\(body) item \(i)")
                }
            }
            #expect(taken == Array(Self.batches.prefix(5)), "exactly the plain batches take the fast path")
            // More items than the limit, or more categories, go to the general path, which refuses them.
            let two = Array(Self.batches[0].utf8)
            #expect(DecisionBatchBody.parse(two, maxCategories: 100, maxItems: 2)?.items.count == 2)
            #expect(DecisionBatchBody.parse(two, maxCategories: 100, maxItems: 1) == nil)
            #expect(DecisionBatchBody.parse(two, maxCategories: 0, maxItems: 2) == nil)
        }
    }
}
