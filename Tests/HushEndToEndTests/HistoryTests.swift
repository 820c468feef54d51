import Foundation
import Testing
import HushTestSupport

/// The history of changes, through the binary: who changed what, when, and what it was before.
@Suite struct HistoryEndToEndTests {
    let keys: [String: (key: String, scope: String)] = [
        "crm-sync": ("k-crm-0123456789abcdef", "write"), "ops-desk": ("k-ops-0123456789abcdef", "write"),
        "auditor": ("k-audit-0123456789abcdef", "read"), "dpo": ("k-dpo-0123456789abcdef", "admin"),
    ]
    let hush: HushProcess

    init() throws { hush = try startKeyedHush(keys) }

    func client(_ name: String) throws -> APIClient { try APIClient(port: hush.port, key: keys[name]!.key) }

    func items(_ answer: APIClient.Answer) -> [[String: Any]] { answer["items"] as? [[String: Any]] ?? [] }

    /// Two JSON values compare equal (objects by their members).
    func same(_ a: Any?, _ b: Any?) -> Bool {
        guard let a, let b, !(a is NSNull), !(b is NSNull) else { return (a == nil || a is NSNull) && (b == nil || b is NSNull) }
        return NSDictionary(dictionary: ["v": a]).isEqual(to: ["v": b])
    }

    @Test func whoLiftedThisOptOut_IsAnswered_AfterItsDeletion() throws {
        let crm = try client("crm-sync"), ops = try client("ops-desk"), auditor = try client("auditor")
        let created = try crm.post("/v1/suppressions", #"{"customer_id": "c-77", "kind": "opt_out", "channels": ["sms"]}"#)
        #expect(created.status == 201)
        let id = try #require(created["id"] as? String)
        let patched = try ops.call("PATCH", "/v1/suppressions/\(id)", #"{"confirmed": false, "source": "call-centre"}"#)
        #expect(patched.status == 200)
        #expect(try ops.call("DELETE", "/v1/suppressions/\(id)").status == 200)
        #expect(try auditor.get("/v1/suppressions/\(id)").status == 404)

        let history = try auditor.get("/v1/suppressions/\(id)/history")
        #expect(history.status == 200, "\(history.response.bodyText)")
        let changes = items(history)
        #expect(changes.map { $0["operation"] as? String } == ["create", "update", "delete"])
        #expect(changes.map { $0["actor"] as? String } == ["crm-sync", "ops-desk", "ops-desk"])
        #expect(changes.allSatisfy { $0["via"] as? String == "api" && $0["record"] as? String == "suppression" })
        // The records as the API showed them: the POST's and the PATCH's answers.
        #expect(same(changes[0]["before"], nil) && same(changes[0]["after"], created.json))
        #expect(same(changes[1]["before"], created.json) && same(changes[1]["after"], patched.json))
        #expect(same(changes[2]["before"], patched.json) && same(changes[2]["after"], nil))
        #expect(changes.allSatisfy { ($0["at"] as? String)?.hasSuffix("Z") == true })
        #expect(history["next_cursor"] is NSNull)

        // Paged by seq.
        let first = try auditor.get("/v1/suppressions/\(id)/history?limit=2")
        #expect(items(first).count == 2)
        let cursor = try #require(first["next_cursor"] as? String)
        let rest = try auditor.get("/v1/suppressions/\(id)/history?limit=2&cursor=\(cursor)")
        #expect(items(rest).map { $0["operation"] as? String } == ["delete"])

        let bad = try auditor.get("/v1/suppressions/\(id)/history?cursor=abc")
        #expect(bad.status == 400 && bad.errorField == "cursor")
        #expect(try auditor.get("/v1/suppressions/no-such-id/history").status == 404)
        #expect(try crm.get("/v1/holds/h/history").status == 403, "reading history needs the read scope")
    }

    @Test func importsAndHolds_AreRecorded_AndTheCustomerViewShowsItsNewestChanges() throws {
        let crm = try client("crm-sync"), ops = try client("ops-desk"), auditor = try client("auditor")
        #expect(try crm.put("/v1/customers/c-88", #"{"region": "GB-LND", "email": "c88@example.com"}"#).status == 201)
        let csv = "case_id,customer_id,severity,status,opened_at,updated_at\nk-88,c-88,high,open,2026-11-01T10:00:00Z,2026-11-01T10:00:00Z\n"
        let imported = try crm.call("POST", "/v1/import/cases", csv, contentType: "text/csv")
        #expect(imported.status == 200, "\(imported.response.bodyText)")
        let caseHistory = items(try auditor.get("/v1/cases/k-88/history"))
        #expect(caseHistory.count == 1)
        #expect(caseHistory.first?["via"] as? String == "import" && caseHistory.first?["actor"] as? String == "crm-sync")
        // Imported again unchanged: no change recorded.
        #expect(try crm.call("POST", "/v1/import/cases", csv, contentType: "text/csv").status == 200)
        #expect(items(try auditor.get("/v1/cases/k-88/history")).count == 1)

        let hold = try ops.post("/v1/holds", #"{"id": "fire-88", "title": "Wildfire", "regions": ["US-CA"], "starts_at": "2026-11-01T00:00:00Z"}"#)
        #expect(hold.status == 201)
        #expect(try ops.call("PATCH", "/v1/holds/fire-88", #"{"ends_at": "2026-12-01T00:00:00Z"}"#).status == 200)
        let holdHistory = items(try auditor.get("/v1/holds/fire-88/history"))
        #expect(holdHistory.map { $0["operation"] as? String } == ["create", "update"])
        #expect(((holdHistory.last?["after"] as? [String: Any])?["ends_at"] as? String) == "2026-12-01T00:00:00Z")

        let view = try auditor.get("/v1/customers/c-88")
        let newest = view["history"] as? [[String: Any]] ?? []
        #expect(newest.map { $0["record"] as? String } == ["case", "profile"], "newest first; the hold is about no customer")
    }

    @Test func anErasure_RemovesTheHistory_AndLeavesOnlyWhoErasedAndWhen() throws {
        let crm = try client("crm-sync"), auditor = try client("auditor"), dpo = try client("dpo")
        #expect(try crm.put("/v1/customers/c-99", #"{"email": "gone99@example.com"}"#).status == 201)
        let suppression = try crm.post("/v1/suppressions", #"{"address": "gone99@example.com", "kind": "do_not_contact"}"#)
        let id = try #require(suppression["id"] as? String)
        #expect(try crm.put("/v1/cases/k-99", #"{"customer_id": "c-99", "severity": "low", "status": "open", "opened_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:00:00Z"}"#).status == 201)
        #expect(items(try auditor.get("/v1/suppressions/\(id)/history")).count == 1)

        #expect(try dpo.call("DELETE", "/v1/customers/c-99").status == 200)
        #expect(try auditor.get("/v1/suppressions/\(id)/history").status == 404)
        #expect(try auditor.get("/v1/cases/k-99/history").status == 404)
        let gone = try auditor.get("/v1/customers/c-99")
        #expect(gone.status == 404)
        let message = (gone["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.hasPrefix("customer c-99 was erased at ") && message.hasSuffix(" by dpo"), "\(message)")
    }
}
