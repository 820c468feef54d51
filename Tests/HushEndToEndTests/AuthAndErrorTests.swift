import Foundation
import Testing
import HushTestSupport

@Suite struct AuthTests {
    let keys = ["decider": "k-decide-0123456789abcdef", "reader": "k-read-0123456789abcdef", "writer": "k-write-0123456789abcdef",
                "root": "k-admin-0123456789abcdef"]

    func start() throws -> HushProcess {
        let scopes = ["decider": "decide", "reader": "read", "writer": "write", "root": "admin"]
        return try startKeyedHush(keys.reduce(into: [:]) { $0[$1.key] = ($1.value, scopes[$1.key]!) })
    }

    @Test func hashKey_PrintsTheSHA256OfTheKeyOnStandardInput() throws {
        #expect(try hashKey("secret-key-1234567890abcdef").out == "dfcf75593ede6402df1a9947bd319d53753af1626f675fbfe622e93a48643d5f")
        #expect(try hashKey("short").status == 1)
    }

    @Test func keys_AreCheckedAndScoped() throws {
        let hush = try start()
        let anonymous = try APIClient(port: hush.port)
        let missing = try anonymous.get("/v1/decisions?customer_id=c&channel=email")
        #expect(missing.status == 401 && missing.errorCode == "unauthorized")
        #expect(missing.response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        #expect(try anonymous.get("/healthz").status == 200, "operations need no key")
        #expect(try anonymous.get("/readyz").status == 200)
        #expect(try anonymous.get("/metrics").status == 401, "auth.protect_metrics puts /metrics under read")
        #expect(try APIClient(port: hush.port, key: keys["reader"]).get("/metrics").status == 200)

        let wrong = try APIClient(port: hush.port, key: "k-decide-0123456789abcdeX")
        #expect(try wrong.get("/v1/decisions?customer_id=c&channel=email").status == 401)

        let decider = try APIClient(port: hush.port, key: keys["decider"])
        #expect(try decider.get("/v1/decisions?customer_id=c&channel=email").status == 200)
        let refused = try decider.put("/v1/customers/c", "{}")
        #expect(refused.status == 403 && refused.errorCode == "forbidden")

        let writer = try APIClient(port: hush.port, key: keys["writer"])
        #expect(try writer.put("/v1/customers/c", #"{"region": "US"}"#).status == 201)
        #expect(try writer.call("DELETE", "/v1/customers/c").status == 403, "erasure needs admin")
        #expect(try writer.get("/v1/decisions?customer_id=c&channel=email").status == 403)
        let batch = try writer.post("/v1/decisions/batch", #"{"requests": []}"#)
        #expect(batch.status == 403 && batch.errorCode == "forbidden", "the batch needs decide")
        #expect(try decider.post("/v1/decisions/batch", #"{"requests": []}"#).status == 200)

        let reader = try APIClient(port: hush.port, key: keys["reader"])
        #expect(try reader.get("/v1/holds").status == 200)
        #expect(try reader.post("/v1/holds", #"{"id": "h", "title": "t"}"#).status == 403)

        let root = try APIClient(port: hush.port, key: keys["root"])
        #expect(try root.get("/v1/decisions?customer_id=c&channel=email").status == 200, "admin implies the other scopes")
        #expect(try root.call("DELETE", "/v1/customers/c").status == 200)
        // The scheme is case-insensitive.
        let lower = try APIClient(port: hush.port)
        #expect(try lower.call("GET", "/v1/holds", headers: [("Authorization", "bearer \(keys["reader"]!)")]).status == 200)
        #expect(try lower.call("GET", "/v1/holds", headers: [("Authorization", "Basic abc")]).status == 401)
    }

    @Test func withoutKeys_HushRefusesToServeOffLoopback() throws {
        let result = try HushProcess.run(["--host", "0.0.0.0", "--port", "0", "--database",
                                          FileManager.default.temporaryDirectory.appendingPathComponent("hush-\(UUID().uuidString).db").path])
        #expect(result.status == 1)
        #expect(result.err.contains("auth.keys is empty"))
    }
}

@Suite struct ErrorTests {
    let hush: HushProcess
    let api: APIClient

    init() throws {
        hush = try HushProcess([], environment: ["HUSH_ERASURE_KEY": String(repeating: "e", count: 40)])
        api = try APIClient(port: hush.port)
    }

    @Test(arguments: [
        ("POST", "/v1/decisions", #"{"customer_id": "c", "channel": "email""#, 400, "malformed_request", nil),
        ("POST", "/v1/decisions", #"{"customer_id": "c", "channel": "email", "chanel": "sms"}"#, 400, "invalid_field", "chanel"),
        ("POST", "/v1/decisions", #"{"customer_id": "c", "channel": "fax"}"#, 400, "invalid_field", "channel"),
        ("POST", "/v1/decisions", #"{"customer_id": "c", "channel": 3}"#, 400, "invalid_field", "channel"),
        ("POST", "/v1/decisions", #"{"customer_id": "c", "channel": "email", "purpose": "sales"}"#, 400, "invalid_field", "purpose"),
        ("POST", "/v1/decisions", #"{"customer_id": "c", "channel": "email", "at": "yesterday"}"#, 400, "invalid_field", "at"),
        ("POST", "/v1/decisions", #"{"customer_id": "c", "channel": "email", "timezone": "Mars/Olympus"}"#, 400, "invalid_field", "timezone"),
        ("POST", "/v1/decisions", #"{"customer_id": "", "channel": "email"}"#, 400, "invalid_field", "customer_id"),
        ("POST", "/v1/decisions", #"{"address": "not-an-address", "channel": "email"}"#, 400, "invalid_field", "address"),
        ("POST", "/v1/decisions", #"{"channel": "email"}"#, 400, "invalid_field", "customer_id"),
        ("POST", "/v1/decisions", #"{"customer_id": "c", "channel": "email", "categories": [1]}"#, 400, "invalid_field", "categories[0]"),
        ("POST", "/v1/decisions", #"[1, 2]"#, 400, "invalid_field", nil),
        ("GET", "/v1/decisions?customer_id=c&channel=email&colour=red", nil, 400, "invalid_field", "colour"),
        ("GET", "/v1/decisions?customer_id=c&channel=email&channel=sms", nil, 400, "invalid_field", "channel"),
        ("GET", "/v1/decisions?customer_id=c&channel=email&categories=grilling", nil, 400, "invalid_field", "categories"),
        ("POST", "/v1/decisions", #"{"customer_id": "c", "channel": "email", "category": "grilling"}"#, 400, "invalid_field", "category"),
        ("GET", "/v1/decisions?customer_id=c&channel=email&pretty=yes", nil, 400, "invalid_field", "pretty"),
        ("PUT", "/v1/customers/c", #"{"email": "nobody"}"#, 400, "invalid_field", "email"),
        ("PUT", "/v1/customers/c", #"{"phone": "0123"}"#, 400, "invalid_field", "phone"),
        ("PUT", "/v1/customers/c", #"{"region": "California"}"#, 400, "invalid_field", "region"),
        ("PUT", "/v1/cases/k", #"{"customer_id": "c", "severity": "huge", "status": "open", "opened_at": "2026-11-24T10:00:00Z"}"#, 400, "invalid_field", "severity"),
        ("PUT", "/v1/cases/k", #"{"customer_id": "c", "severity": "high", "status": "closed", "opened_at": "2026-11-24T10:00:00Z"}"#, 400, "invalid_field", "closed_at"),
        ("POST", "/v1/suppressions", #"{"customer_id": "c", "kind": "opt_out", "channels": []}"#, 400, "invalid_field", "channels"),
        ("POST", "/v1/suppressions", #"{"customer_id": "c", "kind": "opt_out", "purposes": ["transactional"]}"#, 400, "invalid_field", "purposes"),
        ("POST", "/v1/suppressions", #"{"customer_id": "c", "address": "a@b.co", "kind": "opt_out"}"#, 400, "invalid_field", "address"),
        ("POST", "/v1/interactions", #"{"customer_id": "c", "type": "hug"}"#, 400, "invalid_field", "score"),
        ("GET", "/v1/cases/nothing", nil, 404, "not_found", nil),
        ("GET", "/v1/nowhere", nil, 404, "not_found", nil),
        ("DELETE", "/v1/decisions", nil, 405, "method_not_allowed", nil),
        ("GET", "/openapi.json?x=1", nil, 400, "invalid_field", "x"),
        ("GET", "/v1/holds?limit=0", nil, 400, "invalid_field", "limit"),
        ("GET", "/v1/holds?cursor=", nil, 400, "invalid_field", "cursor"),
    ] as [(String, String, String?, Int, String, String?)])
    func badRequests_GetTheirStatus_AndNameTheField(method: String, path: String, body: String?, status: Int, code: String, field: String?) throws {
        let answer = try api.call(method, path, body)
        #expect(answer.status == status, "\(answer.response.bodyText)")
        #expect(answer.errorCode == code)
        #expect(answer.errorField == field)
    }

    @Test func categoryAndCategories_AreEachRefusedUnderTheOthersName_PointingToTheRightOne() throws {
        let query = try api.get("/v1/decisions?customer_id=c&channel=email&categories=grilling")
        #expect(((query["error"] as? [String: Any])?["message"] as? String)?.contains("in a query use category") == true)
        let body = try api.post("/v1/decisions", #"{"customer_id": "c", "channel": "email", "category": "grilling"}"#)
        #expect(((body["error"] as? [String: Any])?["message"] as? String)?.contains("in a JSON body use categories") == true)
        let batch = try api.post("/v1/decisions/batch", #"{"requests": [{"customer_id": "c", "channel": "email", "category": "grilling"}]}"#)
        let item = (batch["results"] as? [[String: Any]])?.first?["error"] as? [String: Any]
        #expect(item?["field"] as? String == "requests[0].category")
        #expect((item?["message"] as? String)?.contains("in a JSON body use categories") == true)
    }

    @Test func aRejectedRequest_WritesNothing() throws {
        #expect(try api.put("/v1/customers/c-1", #"{"region": "US-CA", "timezone": "Nowhere/Else"}"#).status == 400)
        #expect(try api.get("/v1/customers/c-1/decisions?at=2026-11-24T10:00:00Z").status == 200)
        #expect(try api.post("/v1/holds", #"{"id": "h", "title": "t", "regions": ["US"], "ends_at": "2020-01-01T00:00:00Z"}"#).errorField == "ends_at")
        #expect(try api.get("/v1/holds/h").status == 404)
    }

    @Test func answers_AreNotCached_AndIndentedOnRequest() throws {
        let plain = try api.get("/v1/decisions?customer_id=c&channel=email")
        #expect(plain.response.header("Cache-Control") == "no-store")
        #expect(!plain.response.bodyText.contains("\n"))
        let pretty = try api.get("/v1/decisions?customer_id=c&channel=email&pretty")
        #expect(pretty.response.bodyText.contains("\n  \"decision\": \"allow\""))
        #expect(try api.get("/v1/decisions?customer_id=c&channel=email&pretty=true").response.bodyText.contains("\n  \"decision\""))
        #expect(!(try api.get("/v1/decisions?customer_id=c&channel=email&pretty=false").response.bodyText.contains("\n")))
        for path in ["/healthz", "/readyz"] {
            #expect(try api.get(path + "?pretty").response.bodyText == "{\n  \"status\": \"ok\"\n}\n", "\(path)")
            #expect(try api.get(path + "?pretty=false").response.bodyText == #"{"status":"ok"}"#, "\(path)")
        }
        #expect(try api.get("/healthz?pretty").response.header("Cache-Control") == "no-store")
        let media = try api.call("POST", "/v1/decisions", #"{"customer_id": "c", "channel": "email"}"#, contentType: "text/plain")
        #expect(media.status == 415 && media.errorCode == "unsupported_media_type")
        let error = try api.get("/v1/decisions?channel=fax&customer_id=c")
        #expect(error.response.header("Cache-Control") == "no-store")
        #expect(try api.get("/v1/nowhere").response.header("Cache-Control") == "no-store", "the router's own 404 too")
        #expect(try api.call("DELETE", "/v1/decisions").response.header("Cache-Control") == "no-store")
    }
}
