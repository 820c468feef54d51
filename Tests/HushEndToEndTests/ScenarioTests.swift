import Foundation
import Testing
import HushTestSupport

/// The seed scenarios of DESIGN.md ("How we know it works"), each driven through the HTTP API
/// of the built binary on a free port with a throw-away database; and again, in
/// `ReplicatedScenarioTests`, through three nodes on PostgreSQL.
@Suite struct ScenarioTests {
    /// The node whose files the scenarios look into (the only one, or the first of a cluster).
    let hush: HushProcess
    let api: APIClient
    /// The nodes and PostgreSQL servers, kept running for the test, when there are several.
    let cluster: ReplicaCluster?

    init() throws {
        hush = try HushProcess(["--threads", "2"], environment: ["HUSH_ERASURE_KEY": String(repeating: "k", count: 32)])
        api = try APIClient(port: hush.port)
        cluster = nil
    }

    /// Through the nodes of `cluster`, each request to the next, the newest consistency token sent along.
    init(cluster: ReplicaCluster) throws {
        hush = cluster.nodes[0]
        api = try cluster.client()
        self.cluster = cluster
    }

    func customer(_ id: String, region: String = "US-CA", timezone: String = "America/Los_Angeles", email: String? = nil, phone: String? = nil) throws {
        var fields = [#""region": "\#(region)""#, #""timezone": "\#(timezone)""#]
        if let email { fields.append(#""email": "\#(email)""#) }
        if let phone { fields.append(#""phone": "\#(phone)""#) }
        let answer = try api.put("/v1/customers/\(id)", "{\(fields.joined(separator: ","))}")
        #expect(answer.status == 201, "\(answer.response.bodyText)")
    }

    /// A decision at `TestTime.anchor` (within the last day, afternoon on the US west coast and
    /// outside every quiet window there) unless `at` says otherwise. Dated facts are placed
    /// relative to the same anchor.
    func decide(_ query: String, at: String = TestTime.iso()) throws -> APIClient.Answer {
        try api.get("/v1/decisions?\(query)&at=\(at)")
    }

    @Test func aComplaintStopsMarketingButNotServiceMail_AndAPositiveResolutionResumesIt() throws {
        try customer("c-1042", email: "jo.doe@example.com")
        let openedAt = TestTime.iso(days: -4), closedAt = TestTime.iso(hours: -10)
        let opened = try api.put("/v1/cases/8812", #"{"customer_id": "c-1042", "severity": "high", "status": "open", "opened_at": "\#(openedAt)", "updated_at": "\#(openedAt)"}"#)
        #expect(opened.status == 201)
        let marketing = try decide("customer_id=c-1042&channel=email")
        #expect(marketing.decision == "suppress" && marketing.codes == ["open_case"])
        let reason = (marketing["reasons"] as? [[String: Any]])?.first
        #expect(reason?["ref"] as? String == "case:8812")
        #expect(reason?["message"] as? String == "service case 8812 (high) open since \(openedAt)")
        #expect(marketing["retry_after"] is NSNull)
        #expect(try decide("customer_id=c-1042&channel=email&purpose=service").decision == "allow")

        let closed = try api.put("/v1/cases/8812", #"{"customer_id": "c-1042", "severity": "high", "status": "closed", "opened_at": "\#(openedAt)", "closed_at": "\#(closedAt)", "resolution": "positive", "updated_at": "\#(closedAt)"}"#)
        #expect(closed.status == 200)
        #expect(try api.get("/v1/cases/8812")["status"] as? String == "closed", "read back on a loop's own connection")
        #expect(try decide("customer_id=c-1042&channel=email").decision == "allow")
        // An older update arriving late cannot reopen it.
        let stale = try api.put("/v1/cases/8812", #"{"customer_id": "c-1042", "severity": "high", "status": "open", "opened_at": "\#(openedAt)", "updated_at": "\#(TestTime.iso(days: -3))"}"#)
        #expect(stale.status == 409 && stale.errorCode == "conflict")
        #expect((stale["current"] as? [String: Any])?["status"] as? String == "closed")
        #expect(try decide("customer_id=c-1042&channel=email").decision == "allow")
    }

    @Test func aNeutralClosureCoolsOffFor72Hours() throws {
        try customer("c-7")
        let closedAt = TestTime.iso(days: -1)
        try api.put("/v1/cases/k-7", #"{"customer_id": "c-7", "severity": "critical", "status": "closed", "opened_at": "\#(TestTime.iso(days: -4))", "closed_at": "\#(closedAt)", "resolution": "neutral", "updated_at": "\#(closedAt)"}"#)
        let during = try decide("customer_id=c-7&channel=email")
        #expect(during.codes == ["case_cooloff"])
        #expect(during["retry_after"] as? String == TestTime.iso(days: 2))
        #expect(try decide("customer_id=c-7&channel=email", at: TestTime.iso(days: 2, seconds: -1)).codes == ["case_cooloff"], "a second before")
        #expect(try decide("customer_id=c-7&channel=email", at: TestTime.iso(days: 2)).decision == "allow", "expiry at the exact second")
    }

    @Test func anUnconfirmedDoNotEmail_StopsEveryMarketingChannel_UntilConfirmed() throws {
        try customer("c-2", email: "sam@example.com", phone: "+14155550123")
        let added = try api.post("/v1/suppressions", #"{"customer_id": "c-2", "kind": "opt_out", "channels": ["email"], "confirmed": false, "source": "preference_centre"}"#)
        #expect(added.status == 201)
        for channel in ["email", "push", "ads", "direct_mail"] {
            #expect(try decide("customer_id=c-2&channel=\(channel)").codes == ["opted_out"], "\(channel)")
        }
        #expect(try decide("customer_id=c-2&channel=email&purpose=service").decision == "allow")
        // The same one again is the same suppression.
        let again = try api.post("/v1/suppressions", #"{"customer_id": "c-2", "kind": "opt_out", "channels": ["email"], "confirmed": false, "source": "preference_centre"}"#)
        #expect(again.status == 200 && again["id"] as? String == added["id"] as? String)
        let id = try #require(added["id"] as? String)
        let confirmed = try api.call("PATCH", "/v1/suppressions/\(id)", #"{"confirmed": true}"#)
        #expect(confirmed.status == 200 && confirmed["confirmed"] as? Bool == true)
        let read = try api.get("/v1/suppressions/\(id)")
        #expect(read.status == 200 && read["confirmed"] as? Bool == true && read["customer_id"] as? String == "c-2")
        #expect(try decide("customer_id=c-2&channel=email").codes == ["opted_out"])
        #expect(try decide("customer_id=c-2&channel=push").decision == "allow", "confirmed: only what it names")
        #expect(try api.call("PATCH", "/v1/suppressions/\(id)", #"{"kind": "do_not_contact"}"#).errorField == "kind")
        #expect(try api.call("DELETE", "/v1/suppressions/\(id)").status == 200)
        #expect(try api.call("DELETE", "/v1/suppressions/\(id)").status == 404)
        #expect(try decide("customer_id=c-2&channel=email").decision == "allow")
    }

    @Test func anAddressSuppression_ReachesDecisionsByCustomerID() throws {
        try customer("c-3", email: "Pat@Example.com")
        try api.post("/v1/suppressions", #"{"address": "PAT@example.com ", "kind": "do_not_contact", "channels": ["email"], "source": "complaint"}"#)
        let byID = try decide("customer_id=c-3&channel=email")
        #expect(byID.codes == ["do_not_contact"])
        #expect((byID["reasons"] as? [[String: Any]])?.first?["message"] as? String == "do_not_contact for pat@example.com (source: complaint)")
        #expect(try decide("address=pat@example.com&channel=email").codes == ["do_not_contact"])
    }

    /// An e-mail address named on a push decision still meets that address's suppressions
    /// (they were skipped, as if the address were the profile's, matched by channel).
    @Test func anAddressOnAChannelThatDoesNotUseIt_StillMeetsItsSuppressions() throws {
        try api.post("/v1/suppressions", #"{"address": "lee@example.com", "kind": "do_not_contact", "source": "complaint"}"#)
        #expect(try decide("address=lee@example.com&channel=push").codes == ["do_not_contact"])
        let posted = try api.post("/v1/decisions", #"{"address": "lee@example.com", "channel": "in_app", "at": "\#(TestTime.iso())"}"#)
        #expect(posted.codes == ["do_not_contact"], "\(posted.response.bodyText)")
        #expect(try decide("address=other@example.com&channel=push").decision == "allow")
    }

    @Test func anErasureLeavesNoTrace_ButKeepsTheCustomerSuppressed() throws {
        try customer("c-4", email: "gone@example.com", phone: "+14155550199")
        try api.put("/v1/cases/k-4", #"{"customer_id": "c-4", "severity": "low", "status": "open", "opened_at": "\#(TestTime.iso(days: -4))"}"#)
        try api.post("/v1/interactions", #"{"customer_id": "c-4", "type": "purchase", "at": "\#(TestTime.iso(days: -1))"}"#)
        try api.post("/v1/contacts", #"{"customer_id": "c-4", "channel": "email", "at": "\#(TestTime.iso(days: -1))"}"#)
        let erased = try api.call("DELETE", "/v1/customers/c-4")
        #expect(erased.status == 200)
        let removed = erased["removed"] as? [String: Int]
        #expect(removed == ["profile": 1, "cases": 1, "suppressions": 0, "contacts": 1, "interactions": 1])
        let again = try api.call("DELETE", "/v1/customers/c-4")
        #expect(again["removed"] as? [String: Int] == ["profile": 0, "cases": 0, "suppressions": 0, "contacts": 0, "interactions": 0])
        #expect(try api.get("/v1/cases/k-4").status == 404)
        for purpose in ["marketing", "service", "transactional"] {
            #expect(try decide("customer_id=c-4&channel=email&purpose=\(purpose)").codes == ["erased"])
        }
        #expect(try decide("address=gone@example.com&channel=email").codes == ["erased"])
        #expect(try decide("address=%2B14155550199&channel=sms").codes == ["erased"])
        // Nothing on disk holds the address or the phone number: not the database, not the WAL.
        for file in ["hush.db", "hush.db-wal"] {
            let bytes = (try? Data(contentsOf: hush.directory.appendingPathComponent(file))) ?? Data()
            #expect(bytes.range(of: Data("gone@example.com".utf8)) == nil, "\(file)")
            #expect(bytes.range(of: Data("+14155550199".utf8)) == nil, "\(file)")
        }
        // A later sync brings the id and address back: still erased.
        try customer("c-4", email: "gone@example.com")
        #expect(try decide("customer_id=c-4&channel=email").codes == ["erased"])
        #expect(try decide("customer_id=c-4&channel=email&purpose=transactional").codes == ["erased"])
    }

    @Test func aWildfireHold_StopsGrillingAdsInTheRegion_AndNowhereElse() throws {
        try customer("c-ca", region: "US-CA")
        try customer("c-ny", region: "US-NY", timezone: "America/New_York")
        let endsAt = TestTime.iso(days: 7)
        let created = try api.post("/v1/holds", #"{"id": "wildfire-ca", "title": "California wildfire", "reason": "no grilling promotions", "regions": ["US-CA"], "categories": ["grilling", "outdoor"], "starts_at": "\#(TestTime.iso(days: -4))", "ends_at": "\#(endsAt)"}"#)
        #expect(created.status == 201)
        let inCA = try decide("customer_id=c-ca&channel=ads&category=grilling")
        #expect(inCA.codes == ["environmental_hold"])
        #expect((inCA["reasons"] as? [[String: Any]])?.first?["until"] as? String == endsAt)
        #expect(try decide("customer_id=c-ca&channel=ads&category=grilling", at: endsAt).decision == "allow", "ended at the exact second")
        #expect(try decide("customer_id=c-ny&channel=ads&category=grilling").decision == "allow")
        #expect(try decide("customer_id=c-ca&channel=ads&category=books").decision == "allow")
        #expect(try decide("customer_id=c-ca&channel=ads").decision == "allow", "no categories: only holds without categories")
        #expect(try decide("customer_id=c-ny&channel=ads&category=grilling&region=US").decision == "allow", "US does not fall inside US-CA")
        #expect(try api.post("/v1/holds", #"{"id": "wildfire-ca", "title": "again"}"#).status == 409)
        let ended = try api.call("PATCH", "/v1/holds/wildfire-ca", #"{"ends_at": "\#(TestTime.iso(days: -1))"}"#)
        #expect(ended.status == 200)
        #expect(try decide("customer_id=c-ca&channel=ads&category=grilling").decision == "allow")
        #expect(try api.post("/v1/holds", #"{"id": "h2", "title": "x", "regions": []}"#).errorField == "regions")
        #expect(try api.post("/v1/holds", #"{"id": "h3", "title": "x", "purposes": ["transactional"]}"#).errorField == "purposes")
    }

    /// No dated facts: a fixed winter date keeps London on GMT, so 03:00 UTC is 03:00 local.
    @Test func anSMSAt3AMLocal_IsHeldUntil8() throws {
        try customer("c-5", region: "GB-LND", timezone: "Europe/London")
        let night = try decide("customer_id=c-5&channel=sms", at: "2026-11-24T03:00:00Z")
        #expect(night.codes == ["quiet_hours"])
        #expect(night["retry_after"] as? String == "2026-11-24T08:00:00Z")
        #expect(try decide("customer_id=c-5&channel=sms", at: "2026-11-24T08:00:00Z").decision == "allow")
        #expect(try decide("customer_id=c-5&channel=sms&timezone=America/New_York", at: "2026-11-24T03:00:00Z")["retry_after"] as? String
                == "2026-11-24T13:00:00Z", "the request's time zone overrides the profile's")
        #expect(try decide("customer_id=c-5&channel=email", at: "2026-11-24T03:00:00Z").decision == "allow")
    }

    /// A fraction of a second is truncated: 07:59:59.999999999 is still quiet hours, and is
    /// written back as 07:59:59 (it was rounded into 08:00:00 and allowed).
    @Test func aTimeWithNineFractionalDigits_IsTruncated_NotRounded() throws {
        try customer("c-frac", region: "GB-LND", timezone: "Europe/London")
        let answer = try decide("customer_id=c-frac&channel=sms", at: "2026-01-15T07:59:59.999999999Z")
        #expect(answer["evaluated_at"] as? String == "2026-01-15T07:59:59Z")
        #expect(answer.codes == ["quiet_hours"], "\(answer.response.bodyText)")
        let posted = try api.post("/v1/decisions", #"{"customer_id": "c-frac", "channel": "sms", "at": "2026-01-15T07:59:59.9999Z"}"#)
        #expect(posted["evaluated_at"] as? String == "2026-01-15T07:59:59Z")
    }

    @Test func theDefaultZone_IsNamedUTC_InQuietHoursAndInTheProfile() throws {
        try customer("c-utc", region: "GB", timezone: "UTC")
        #expect((try api.get("/v1/customers/c-utc")["profile"] as? [String: Any])?["timezone"] as? String == "UTC")
        for id in ["c-utc", "c-nozone"] {
            let night = try decide("customer_id=\(id)&channel=sms", at: "2026-11-24T23:00:00Z")
            #expect((night["reasons"] as? [[String: Any]])?.first?["message"] as? String == "quiet hours for sms are 21:00–08:00 in UTC", "\(id)")
        }
    }

    @Test func aCustomerWhoComplainedTwiceThisWeek_IsNotSoldTo() throws {
        try customer("c-6")
        try api.post("/v1/interactions", #"{"customer_id": "c-6", "type": "complaint", "at": "\#(TestTime.iso(days: -4))"}"#)
        #expect(try decide("customer_id=c-6&channel=email").decision == "allow", "-5 is not below -6")
        let second = try api.post("/v1/interactions", #"{"customer_id": "c-6", "type": "complaint", "at": "\#(TestTime.iso(days: -2))"}"#)
        #expect(second.status == 201 && second["score"] as? Int == -5)
        let answer = try decide("customer_id=c-6&channel=email")
        #expect(answer.codes == ["low_willingness"])
        #expect(answer["retry_after"] as? String == TestTime.iso(days: 3), "when the first complaint leaves the window")
        #expect(try decide("customer_id=c-6&channel=email", at: TestTime.iso(days: 3)).decision == "allow", "left at the exact second")
        #expect(try decide("customer_id=c-6&channel=email&purpose=service").decision == "allow")
    }

    @Test func aCustomerOnHoldWithAnOpenCase_GetsNoSalesCallOnIVR_WithEveryReason() throws {
        try customer("c-8", region: "US-CA")
        try api.post("/v1/holds", #"{"id": "storm", "title": "Storm", "regions": ["US"], "starts_at": "\#(TestTime.iso(days: -10))"}"#)
        try api.put("/v1/cases/k-8", #"{"customer_id": "c-8", "severity": "high", "status": "pending", "opened_at": "\#(TestTime.iso(days: -1))"}"#)
        let answer = try decide("customer_id=c-8&channel=ivr")
        #expect(answer.codes == ["open_case", "environmental_hold"])
        #expect(answer["retry_after"] is NSNull)
    }

    @Test func reserve_RecordsTheContact_AndTheCapHolds() throws {
        try customer("c-9")
        var reserved = 0
        for _ in 0..<5 {
            let answer = try api.post("/v1/decisions", #"{"customer_id": "c-9", "channel": "sms", "at": "\#(TestTime.iso())", "reserve": true, "campaign_id": "bf"}"#)
            #expect(answer.status == 200)
            if answer["reserved"] as? Bool == true { reserved += 1 }
        }
        #expect(reserved == 2, "sms is capped at 2 per 7 days")
        #expect(try decide("customer_id=c-9&channel=sms").codes == ["frequency_cap"])
    }

    @Test func theBatch_DecidesValidItems_AndNamesTheBadOnes() throws {
        try customer("c-10")
        try api.put("/v1/cases/k-10", #"{"customer_id": "c-10", "severity": "high", "status": "open", "opened_at": "\#(TestTime.iso(days: -1))"}"#)
        let answer = try api.post("/v1/decisions/batch", #"{"requests": [{"customer_id": "c-10", "channel": "email", "at": "\#(TestTime.iso())"}, {"customer_id": "c-10", "channel": "fax"}, {"channel": "email"}, {"customer_id": "c-11", "channel": "email", "colour": 1}, {"customer_id": "c-11", "channel": "email"}]}"#)
        #expect(answer.status == 200)
        let results = try #require(answer["results"] as? [[String: Any]])
        #expect(results.count == 5)
        #expect(results[0]["decision"] as? String == "suppress")
        #expect((results[1]["error"] as? [String: Any])?["field"] as? String == "requests[1].channel")
        #expect((results[2]["error"] as? [String: Any])?["field"] as? String == "requests[2].customer_id")
        #expect((results[3]["error"] as? [String: Any])?["field"] as? String == "requests[3].colour")
        #expect(results[4]["decision"] as? String == "allow")
        let many = "{\"requests\": [" + Array(repeating: #"{"customer_id": "c", "channel": "email"}"#, count: 10_001).joined(separator: ",") + "]}"
        #expect(try api.post("/v1/decisions/batch", many).errorField == "requests")
    }

    @Test func theBatch_AnswersAPlainBodyAsItAnswersTheSameThroughTheJSONTree() throws {
        try customer("c-13")
        try api.put("/v1/cases/k-13", #"{"customer_id": "c-13", "severity": "high", "status": "open", "opened_at": "\#(TestTime.iso(days: -1))"}"#)
        let at = TestTime.iso()
        let items = [#"{"customer_id": "c-13", "channel": "email", "at": "\#(at)"}"#, #"{"customer_id": "c-13", "channel": "fax"}"#,
                     #"{"channel": "email"}"#, #"{"customer_id": "c-14", "channel": "sms", "categories": ["grilling"], "at": "\#(at)"}"#,
                     #"{"address": "Jo.Doe@Example.com", "channel": "email", "purpose": "service", "at": "\#(at)"}"#]
        let list = "[" + items.joined(separator: ", ") + "]"
        // Plain: read straight from the bytes. An escaped key sends the same batch through the
        // JSON tree; ?pretty answers it indented.
        let plain = try api.post("/v1/decisions/batch", "{\"requests\": \(list)}")
        let general = try api.post("/v1/decisions/batch?pretty", "{\"requests\": \(list), \"min_\\u0074oken\": null}")
        #expect(plain.status == 200 && general.status == 200)
        #expect(general.response.bodyText.contains("\n  "), "pretty")
        func results(_ answer: APIClient.Answer) throws -> [String] {
            try #require(answer["results"] as? [[String: Any]]).map { result in
                var result = result
                #expect(result["decision_id"] != nil || result["error"] != nil)
                result["decision_id"] = nil
                return String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self)
            }
        }
        let answers = try results(plain)
        #expect(answers.count == 5)
        #expect(answers == (try results(general)))
        #expect(answers[0].contains(#""decision":"suppress""#) && answers[0].contains("open_case"))
        #expect(answers[1].contains(#""field":"requests[1].channel""#))
        #expect(answers[2].contains(#""field":"requests[2].customer_id""#))
        #expect(answers[3].contains(#""decision":"#) && answers[4].contains(#""decision":"#))
    }

    @Test func perCustomerDecisions_ListEveryConfiguredChannelInOrder() throws {
        try customer("c-12", region: "GB-LND", timezone: "Europe/London")
        let answer = try api.get("/v1/customers/c-12/decisions?at=2026-11-24T23:30:00Z")
        let decisions = try #require(answer["decisions"] as? [[String: Any]])
        #expect(decisions.map { $0["channel"] as? String } == ["email", "sms", "push", "voice", "ivr", "direct_mail", "in_app", "ads"])
        #expect(decisions.map { $0["decision"] as? String } == ["allow", "suppress", "suppress", "suppress", "allow", "allow", "allow", "allow"])
    }

    @Test func theSingleCustomerView_ShowsWhatHushKnows_AndWhatItWouldAnswer() throws {
        try customer("c-13", email: "view@example.com")
        try api.put("/v1/cases/k-13", #"{"customer_id": "c-13", "severity": "high", "status": "open", "opened_at": "\#(TestTime.iso(days: -1))"}"#)
        try api.post("/v1/suppressions", #"{"address": "view@example.com", "kind": "objection"}"#)
        // Closed a day ago (neutral: cooling off), closed 30 days ago (gone from the view).
        try api.put("/v1/cases/k-13b", #"{"customer_id": "c-13", "severity": "high", "status": "closed", "opened_at": "\#(TestTime.iso(days: -3))", "closed_at": "\#(TestTime.iso(days: -1))", "resolution": "neutral"}"#)
        try api.put("/v1/cases/k-13c", #"{"customer_id": "c-13", "severity": "high", "status": "closed", "opened_at": "\#(TestTime.iso(days: -40))", "closed_at": "\#(TestTime.iso(days: -30))", "resolution": "neutral"}"#)
        try api.post("/v1/interactions", #"{"customer_id": "c-13", "type": "purchase"}"#)
        try api.post("/v1/interactions", #"{"customer_id": "c-13", "type": "complaint", "at": "\#(TestTime.iso(days: -2))"}"#)
        let view = try api.get("/v1/customers/c-13")
        #expect(view.status == 200)
        #expect((view["profile"] as? [String: Any])?["email"] as? String == "view@example.com")
        #expect(Set((view["cases"] as? [[String: Any]])?.compactMap { $0["case_id"] as? String } ?? []) == ["k-13", "k-13b"])
        #expect((view["suppressions"] as? [[String: Any]])?.first?["kind"] as? String == "objection")
        let willingness = try #require(view["willingness"] as? [String: Any])
        #expect(willingness["score"] as? Int == -3, "purchase +2, complaint -5")
        let interactions = try #require(willingness["interactions"] as? [[String: Any]])
        #expect(interactions.map { $0["type"] as? String } == ["purchase", "complaint"], "newest first")
        #expect(interactions.map { $0["score"] as? Int } == [2, -5])
        #expect(interactions.last?["at"] as? String == TestTime.iso(days: -2))
        let decisions = try #require(view["decisions"] as? [[String: Any]])
        #expect(decisions.count == 8)
        #expect((decisions[0]["reasons"] as? [[String: Any]])?.compactMap { $0["code"] as? String } == ["objected", "open_case", "case_cooloff"])
        #expect(try api.get("/v1/customers/nobody").status == 404)
        try api.call("DELETE", "/v1/customers/c-13")
        #expect(try api.get("/v1/customers/c-13").status == 404)
    }

    @Test func suppressions_ArePagedInIDOrder() throws {
        for i in 0..<7 { try api.post("/v1/suppressions", #"{"customer_id": "p-\#(i % 2)", "kind": "opt_out", "channels": ["\#(["email", "sms", "push", "voice"][i / 2])"]}"#) }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try api.get("/v1/suppressions?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
            let items = try #require(page["items"] as? [[String: Any]])
            #expect(items.count <= 3)
            seen += items.compactMap { $0["id"] as? String }
            cursor = page["next_cursor"] as? String
        } while cursor != nil
        #expect(seen.count == 7 && seen == seen.sorted() && Set(seen).count == 7)
        let one = try api.get("/v1/suppressions?customer_id=p-1")
        #expect((one["items"] as? [[String: Any]])?.count == 3)
        #expect(try api.get("/v1/suppressions?limit=0").errorField == "limit")
        #expect(try api.get("/v1/suppressions?limit=1001").errorField == "limit")
    }

    /// Holds page like every listing: `limit` and `cursor`, in id order, `active` kept.
    @Test func holds_ArePagedInIDOrder_WithLimitAndCursor() throws {
        for id in ["h-c", "h-a", "h-e", "h-b", "h-d"] {
            // h-b starts the day after tomorrow: not active yet.
            let start = TestTime.iso(days: id == "h-b" ? 2 : -1)
            #expect(try api.post("/v1/holds", #"{"id": "\#(id)", "title": "t", "starts_at": "\#(start)"}"#).status == 201)
        }
        func ids(_ answer: APIClient.Answer) -> [String] { (answer["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? [] }
        let first = try api.get("/v1/holds?limit=2")
        #expect(ids(first) == ["h-a", "h-b"])
        #expect(first["next_cursor"] as? String == "h-b")
        let second = try api.get("/v1/holds?limit=2&cursor=h-b")
        #expect(ids(second) == ["h-c", "h-d"])
        let last = try api.get("/v1/holds?limit=2&cursor=h-d")
        #expect(ids(last) == ["h-e"])
        #expect(last["next_cursor"] is NSNull)
        #expect(ids(try api.get("/v1/holds")) == ["h-a", "h-b", "h-c", "h-d", "h-e"])
        let active = try api.get("/v1/holds?active=true&limit=10")
        #expect(ids(active) == ["h-a", "h-c", "h-d", "h-e"], "\(active.response.bodyText)")
        let activePage = try api.get("/v1/holds?active=true&limit=2&cursor=h-a")
        #expect(ids(activePage) == ["h-c", "h-d"])
        #expect(activePage["next_cursor"] as? String == "h-d")
    }

    /// Decision ids are UUIDv7s made at the moment of the decision, unique within a batch; every
    /// answer names the policy it was made under.
    @Test func decisionIDs_AreTimeOrderedUUIDs_AndAnswersNameThePolicy() throws {
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        let single = try api.post("/v1/decisions", #"{"customer_id": "c-id", "channel": "email"}"#)
        let after = UInt64(Date().timeIntervalSince1970 * 1000)
        let id = try #require(single["decision_id"] as? String)
        let hex = id.replacingOccurrences(of: "-", with: "")
        #expect(id.count == 36 && hex.count == 32 && Array(id)[14] == "7", "\(id)")
        let millis = try #require(UInt64(hex.prefix(12), radix: 16))
        #expect(millis >= before && millis <= after, "made at the decision")
        let version = try #require(single["policy_version"] as? String)
        #expect(version.count == 12 && version.allSatisfy(\.isHexDigit))
        let batch = try api.post("/v1/decisions/batch", #"{"requests": [{"customer_id": "a", "channel": "email"}, {"customer_id": "b", "channel": "sms"}, {"customer_id": "c", "channel": "push"}]}"#)
        let results = try #require(batch["results"] as? [[String: Any]])
        let ids = results.compactMap { $0["decision_id"] as? String }
        #expect(Set(ids).count == 3 && !ids.contains(id))
        #expect(results.allSatisfy { $0["policy_version"] as? String == version }, "one policy")
    }

    @Test func metrics_CountAnswersAndDecisions() throws {
        try customer("c-14", region: "GB-LND", timezone: "Europe/London")
        for _ in 0..<3 { _ = try decide("customer_id=c-14&channel=sms", at: "2026-11-24T03:00:00Z") }
        // Each loop counts its own: decisions through fresh connections (spread over both loops)
        // are added to the same totals.
        for _ in 0..<4 {
            let fresh = try APIClient(port: hush.port)
            #expect(try fresh.get("/v1/decisions?customer_id=c-14&channel=sms&at=2026-11-24T03:00:00Z").status == 200)
        }
        #expect(try decide("customer_id=c-14&channel=email").decision == "allow", "e-mail keeps no quiet hours")
        _ = try api.get("/v1/nowhere")
        let metrics = try api.get("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.response.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = metrics.response.bodyText
        #expect(text.contains(#"hush_http_requests_total{route="GET /v1/decisions",status="200"} 8"#))
        #expect(text.contains(#"hush_http_requests_total{route="PUT /v1/customers/{id}",status="201"} 1"#))
        #expect(text.contains(#"hush_http_requests_total{route="none",status="404"} 1"#))
        #expect(text.contains(#"hush_decision_reasons_total{reason="quiet_hours"} 7"#))
        #expect(text.contains(#"hush_decision_reasons_total{reason="opted_out"} 0"#))
        #expect(text.contains(#"hush_decisions_total{decision="suppress"} 7"#))
        #expect(text.contains(#"hush_decisions_total{decision="allow"} 1"#))
        #expect(text.contains("hush_http_request_duration_seconds_count 10"))
        // Every answer took less than the largest bound, and some time: the buckets add up to
        // the count, and the sum is above zero.
        #expect(text.contains(#"hush_http_request_duration_seconds_bucket{le="2.5"} 10"#))
        #expect(text.contains(#"hush_http_request_duration_seconds_bucket{le="+Inf"} 10"#))
        let sum = text.split(separator: "\n").first { $0.hasPrefix("hush_http_request_duration_seconds_sum ") }
        #expect(sum.flatMap { Double($0.split(separator: " ")[1]) }.map { $0 > 0 } == true)
        #expect(text.contains("hush_writer_queue_depth 0"))
    }
}

/// Contacts and interactions count only inside the policy's windows back from now (7 days by
/// default); older ones are refused naming `at`, and a refused one leaves nothing behind.
@Suite struct LookbackTests {
    let hush: HushProcess
    let api: APIClient

    init() throws {
        hush = try HushProcess([], environment: ["HUSH_ERASURE_KEY": String(repeating: "l", count: 32)])
        api = try APIClient(port: hush.port)
    }

    @Test func contactsInteractionsAndReservations_OlderThanTheLongestWindow_AreRefusedNamingAt() throws {
        #expect(try api.put("/v1/customers/c-old", #"{"region": "US-CA"}"#).status == 201)
        let old = TestTime.rfc3339(Date().addingTimeInterval(-8 * 86_400))
        for (path, body) in [
            ("/v1/interactions", #"{"customer_id": "c-old", "type": "complaint", "at": "\#(old)"}"#),
            ("/v1/contacts", #"{"customer_id": "c-old", "channel": "email", "at": "\#(old)"}"#),
            ("/v1/decisions", #"{"customer_id": "c-old", "channel": "email", "at": "\#(old)", "reserve": true}"#),
        ] {
            let answer = try api.post(path, body)
            #expect(answer.status == 400 && answer.errorField == "at", "\(path): \(answer.response.bodyText)")
            #expect(((answer["error"] as? [String: Any])?["message"] as? String)?.contains("more than 7 days ago") == true)
        }
        // Six days back is inside the window: kept, and counted in the customer view's score.
        let recent = TestTime.rfc3339(Date().addingTimeInterval(-6 * 86_400))
        #expect(try api.post("/v1/interactions", #"{"customer_id": "c-old", "type": "complaint", "at": "\#(recent)"}"#).status == 201)
        let view = try api.get("/v1/customers/c-old")
        #expect((view["willingness"] as? [String: Any])?["score"] as? Int == -5, "the refused complaint left nothing")
        #expect((view["contacts"] as? [Any])?.isEmpty == true)
        // A decision about the past still asks nothing of the refused facts: without a reserve, an old `at` is fine.
        #expect(try api.post("/v1/decisions", #"{"customer_id": "c-old", "channel": "email", "at": "\#(old)"}"#).status == 200)
    }
}

/// The seed scenarios through three hush nodes on a PostgreSQL primary with a synchronous
/// standby: each request goes to the next node and carries the newest consistency token, so
/// every scenario's writes and decisions are spread over the nodes. The scenarios about one
/// process (its metrics) stay with `ScenarioTests`.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (apt-get install postgresql)"))
struct ReplicatedScenarioTests {
    nonisolated(unsafe) static let scenarios: [(name: String, run: (ScenarioTests) -> () throws -> Void)] = [
        ("a complaint stops marketing but not service mail; a positive resolution resumes it",
         ScenarioTests.aComplaintStopsMarketingButNotServiceMail_AndAPositiveResolutionResumesIt),
        ("a neutral closure cools off for 72 hours", ScenarioTests.aNeutralClosureCoolsOffFor72Hours),
        ("an unconfirmed do-not-email stops every marketing channel", ScenarioTests.anUnconfirmedDoNotEmail_StopsEveryMarketingChannel_UntilConfirmed),
        ("an address suppression reaches decisions by customer id", ScenarioTests.anAddressSuppression_ReachesDecisionsByCustomerID),
        ("an address on a channel that does not use it", ScenarioTests.anAddressOnAChannelThatDoesNotUseIt_StillMeetsItsSuppressions),
        ("an erasure leaves no trace but keeps the customer suppressed", ScenarioTests.anErasureLeavesNoTrace_ButKeepsTheCustomerSuppressed),
        ("a wildfire hold stops grilling ads in the region", ScenarioTests.aWildfireHold_StopsGrillingAdsInTheRegion_AndNowhereElse),
        ("an SMS at 03:00 local is held until 08:00", ScenarioTests.anSMSAt3AMLocal_IsHeldUntil8),
        ("a customer who complained twice this week is not sold to", ScenarioTests.aCustomerWhoComplainedTwiceThisWeek_IsNotSoldTo),
        ("a customer on hold with an open case gets no sales call on IVR",
         ScenarioTests.aCustomerOnHoldWithAnOpenCase_GetsNoSalesCallOnIVR_WithEveryReason),
        ("reserve records the contact and the cap holds", ScenarioTests.reserve_RecordsTheContact_AndTheCapHolds),
        ("the single customer view", ScenarioTests.theSingleCustomerView_ShowsWhatHushKnows_AndWhatItWouldAnswer),
        ("suppressions are paged in id order", ScenarioTests.suppressions_ArePagedInIDOrder),
    ]

    @Test(arguments: 0..<scenarios.count)
    func scenario(_ index: Int) throws {
        let cluster = try ReplicaCluster()
        let scenarios = try ScenarioTests(cluster: cluster)
        try Self.scenarios[index].run(scenarios)()
    }
}

