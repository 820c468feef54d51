import Foundation
import HushCore
import HushHTTP
import HushStore

/// One decision request as the API takes it, validated.
struct DecisionInput {
    var request: DecisionRequest
    var reserve = false
    var campaignID: String?
}

extension API {
    static let maxBatch = 10_000
    static let maxCategories = 100

    // MARK: Reading requests

    /// A decision request from a JSON object; errors name the field under `prefix`.
    func decisionInput(_ value: JSONValue, prefix: String = "", allowReserve: Bool = true) throws(ValidationError) -> DecisionInput {
        var r = try FieldReader(value, prefix: prefix, what: prefix.isEmpty ? "the body" : "each request")
        let input = try decisionInput(
            customerID: try r.string("customer_id"), channel: try r.string("channel"), purpose: try r.string("purpose"),
            categories: try r.strings("categories", nonEmpty: false, maxCount: Self.maxCategories), address: try r.string("address"),
            region: try r.string("region"), timezone: try r.string("timezone"), at: try r.time("at"),
            reserve: allowReserve ? try r.bool("reserve") : nil, campaignID: try r.string("campaign_id"), path: r.path)
        if !allowReserve, r.has("reserve") {
            throw ValidationError(field: r.path("reserve"), message: "is not taken in a batch: reserve with POST /v1/decisions, one at a time")
        }
        if r.has("category") {
            throw ValidationError(field: r.path("category"), message: "is the query parameter's name: in a JSON body use categories, a list")
        }
        try r.finish()
        return input
    }

    /// A decision request from fields read straight from the bytes (`DecisionBody`): the same
    /// checks, in the same order, as the general path (which reads `at` before the rest).
    func decisionInput(fast body: DecisionBody, in bytes: [UInt8]) throws(ValidationError) -> DecisionInput {
        func text(_ range: Range<Int>?) -> String? { DecisionBody.text(range, in: bytes) }
        let at = try text(body.at).map { text throws(ValidationError) in try Validate.time(text, field: "at") }
        return try decisionInput(customerID: text(body.customerID), channel: text(body.channel), purpose: text(body.purpose),
                                 categories: body.categories,
                                 address: text(body.address), region: text(body.region), timezone: text(body.timezone), at: at,
                                 reserve: body.reserve, campaignID: text(body.campaignID), path: { $0 })
    }

    /// The decision request in a POST body: straight from the bytes when the body is plain,
    /// else through the general JSON path.
    func decisionInput(body request: Request) throws(APIError) -> DecisionInput {
        if Self.hasJSONBody(request), let fields = DecisionBody.parse(request.body) {
            do throws(ValidationError) { return try decisionInput(fast: fields, in: request.body) } catch { throw .invalid(error) }
        }
        do { return try decisionInput(try body(request)) } catch let error as APIError { throw error } catch let error as ValidationError {
            throw .invalid(error)
        } catch { throw .malformed("\(error)") }
    }

    /// A decision request from `GET /v1/decisions` query parameters (`category` may repeat).
    func decisionInput(query: QueryParameters) throws(APIError) -> DecisionInput {
        try checkQuery(query, allowed: ["customer_id", "channel", "purpose", "category", "address", "region", "timezone", "at", "campaign_id"])
        do throws(ValidationError) {
            let at = try query.first("at").map { text throws(ValidationError) in try Validate.time(text, field: "at") }
            let categories = query.all("category")
            if categories.count > Self.maxCategories { throw ValidationError(field: "category", message: "may repeat at most \(Self.maxCategories) times") }
            return try decisionInput(customerID: query.first("customer_id"), channel: query.first("channel"), purpose: query.first("purpose"),
                                     categories: categories, address: query.first("address"), region: query.first("region"),
                                     timezone: query.first("timezone"), at: at, reserve: nil, campaignID: query.first("campaign_id"),
                                     path: { $0 })
        } catch {
            throw .invalid(error)
        }
    }

    /// Refuses query parameters other than `allowed` (and `pretty`, taken everywhere), and any
    /// given twice but `category`, the one that may repeat.
    func checkQuery(_ query: QueryParameters, allowed: Set<String>) throws(APIError) {
        if query.isEmpty { return }
        var seen: Set<String> = []
        for item in query.items {
            if item.name == "pretty" {
                guard item.value.isEmpty || item.value == "true" || item.value == "false" else {
                    throw .invalid(ValidationError(field: "pretty", message: "must be true or false (or no value)"))
                }
                continue
            }
            guard allowed.contains(item.name) else {
                if item.name == "categories", allowed.contains("category") {
                    throw .invalid(ValidationError(field: "categories", message: "is the JSON body's name: in a query use category, once for each"))
                }
                throw .invalid(ValidationError(field: item.name, message: "is not a known query parameter"))
            }
            guard item.name == "category" || seen.insert(item.name).inserted else {
                throw .invalid(ValidationError(field: item.name, message: "is given more than once"))
            }
        }
    }

    private func decisionInput(customerID: String?, channel: String?, purpose: String?, categories: [String]?, address: String?,
                               region: String?, timezone: String?, at: Date?, reserve: Bool?, campaignID: String?,
                               path: (String) -> String) throws(ValidationError) -> DecisionInput {
        guard let channelName = channel else { throw ValidationError(field: path("channel"), message: "is required") }
        let channel = try Validate.channel(channelName, field: path("channel"), policy: policy)
        let customer = try customerID.map { id throws(ValidationError) in try Validate.identifier(id, field: path("customer_id")) }
        let parsedAddress = try address.map { text throws(ValidationError) in try Address.parse(text, field: path("address")) }
        guard customer != nil || parsedAddress != nil else {
            throw ValidationError(field: path("customer_id"), message: "or address is required")
        }
        let purposeValue = try purpose.map { name throws(ValidationError) in try Validate.purpose(name, field: path("purpose"), policy: policy) }
        var uniqueCategories: [String] = []
        if let categories {
            // Validation returns each name unchanged; the list is taken as it came (no second
            // array) unless a name repeats.
            var repeats = false
            for (i, category) in categories.enumerated() {
                _ = try Validate.identifier(category, field: path("categories") + "[\(i)]")
                if !repeats, categories[..<i].contains(category) { repeats = true }
            }
            if repeats {
                uniqueCategories.reserveCapacity(categories.count)
                for category in categories where !uniqueCategories.contains(category) { uniqueCategories.append(category) }
            } else {
                uniqueCategories = categories
            }
        }
        let regionValue = try region.map { text throws(ValidationError) in try Validate.region(text, field: path("region")) }
        let zone = try timezone.map { name throws(ValidationError) in try Validate.timeZone(name, field: path("timezone")) }
        let campaign = try campaignID.map { id throws(ValidationError) in try Validate.identifier(id, field: path("campaign_id")) }
        if reserve == true, customer == nil {
            throw ValidationError(field: path("reserve"), message: "needs customer_id: a contact is recorded against a customer")
        }
        if reserve == true, let at { _ = try Validate.counted(at, field: path("at"), now: Date(), policy: policy) }
        // Built in one expression, after every check: a request assembled apart and then
        // stored, or changed after it was made, would be copied.
        return DecisionInput(request: DecisionRequest(customerID: customer, address: parsedAddress, channel: channel, purpose: purposeValue ?? .marketing,
                                                      categories: uniqueCategories, region: regionValue, timeZone: zone, at: at),
                             reserve: reserve ?? false, campaignID: campaign)
    }

    // MARK: Deciding

    /// Decides on the calling loop's own connection. A store failure answers `unavailable`:
    /// fail closed, never a silent allow.
    func decideNow(_ input: borrowing DecisionInput, context: LoopContext, now: Date) -> (Decision, failed: Bool) {
        do {
            let decision = try context.reader.withFacts(customerID: input.request.customerID, address: input.request.address,
                                                        channel: input.request.channel, at: input.request.at ?? now, lookback: lookback,
                                                        holds: store.holds, tombstoneHash: context.hasher.hash) { facts in
                decide(input.request, facts: facts, policy: policy, now: now)
            }
            metrics.decision(decision)
            return (decision, false)
        } catch {
            log("decision read failed: \(error.message)")
            metrics.storeErrors.add()
            let decision = Decision.unavailable(at: input.request.at ?? now)
            metrics.decision(decision)
            return (decision, true)
        }
    }

    func writeDecision(_ w: inout JSONWriter, _ decision: Decision, _ request: DecisionRequest, id: DecisionID, reserved: Bool?) {
        w.objectStart()
        w.key("decision"); w.string(decision.allowed ? "allow" : "suppress")
        w.key("decision_id"); w.string(prefix: id.prefix, base36: id.counter)
        w.key("customer_id"); w.string(request.customerID)
        if let address = request.address { w.key("address"); w.string(address.value) }
        w.key("channel"); w.string(request.channel.rawValue)
        w.key("purpose"); w.string(request.purpose.rawValue)
        w.key("evaluated_at"); w.time(decision.evaluatedAt)
        w.key("retry_after"); w.time(decision.retryAfter)
        if let reserved { w.key("reserved"); w.bool(reserved) }
        w.key("reasons")
        w.arrayStart()
        for reason in decision.reasons {
            w.objectStart()
            w.key("code"); w.string(reason.code.rawValue)
            w.key("message"); w.string { reason.writeMessage($0) }
            w.key("ref")
            if reason.hasRef { w.string { reason.writeRef($0) } } else { w.null() }
            w.key("until"); w.time(reason.until)
            w.objectEnd()
        }
        w.arrayEnd()
        w.objectEnd()
    }

    // MARK: Routes

    func addDecisionRoutes(to router: inout Router) {
        router.addDeferred(.post, "/v1/decisions") { [self] request, responder in
            if case .refused(let response) = auth.check(request, needs: .decide) { return responder.send(response) }
            do throws(APIError) { try postDecision(request, responder) } catch { responder.send(self.error(request, error)) }
        }

        router.add(.get, "/v1/decisions") { [self] request in
            guarded(request, .decide) { () throws(APIError) in
                decisionResponse(try decisionInput(query: request.query), request: request)
            }
        }

        router.add(.post, "/v1/decisions/batch", maxBodyBytes: 16 << 20) { [self] request in
            guarded(request, .decide) { () throws(APIError) in
                try checkQuery(request.query, allowed: [])
                var r: FieldReader
                let items: [JSONValue]
                do {
                    r = try FieldReader(try body(request))
                    guard let value = r.raw("requests") else { throw ValidationError(field: "requests", message: "is required") }
                    guard case .array(let list) = value else { throw ValidationError(field: "requests", message: "must be a list of decision requests") }
                    guard list.count <= Self.maxBatch else {
                        throw ValidationError(field: "requests", message: "holds \(list.count) requests; at most \(Self.maxBatch) are taken")
                    }
                    try r.finish()
                    items = list
                } catch let error as ValidationError { throw .invalid(error) } catch let error as APIError { throw error } catch { throw .malformed("\(error)") }
                let context = try self.context(for: request)
                let now = Date()
                var failed = false
                var response = json(request) { w in
                    w.objectStart()
                    w.key("results")
                    w.arrayStart()
                    for (i, item) in items.enumerated() {
                        do throws(ValidationError) {
                            let input = try decisionInput(item, prefix: "requests[\(i)].", allowReserve: false)
                            let (decision, itemFailed) = decideNow(input, context: context, now: now)
                            failed = failed || itemFailed
                            writeDecision(&w, decision, input.request, id: decisionID(context, loop: request.loop), reserved: nil)
                        } catch {
                            Self.writeError(&w, code: "invalid_field", message: "\(error.field) \(error.message)", field: error.field)
                        }
                    }
                    w.arrayEnd()
                    w.objectEnd()
                }
                if failed { response.status = .serviceUnavailable }
                return response
            }
        }

        router.add(.get, "/v1/customers/{id}/decisions") { [self] request in
            guarded(request, .decide) { () throws(APIError) in
                try checkQuery(request.query, allowed: ["purpose", "at", "category"])
                var base: DecisionInput
                do {
                    let id = try Validate.identifier(request.pathParameters["id"] ?? "", field: "id")
                    base = try decisionInput(query: QueryParameters(request.query.items.filter { $0.name != "pretty" }
                        + [("customer_id", id), ("channel", policy.channels[0].rawValue)]))
                } catch let error as APIError { throw error } catch let error as ValidationError { throw .invalid(error) } catch { throw .malformed("\(error)") }
                let context = try self.context(for: request)
                let now = Date()
                var failed = false
                var response = json(request) { w in
                    w.objectStart()
                    w.key("customer_id"); w.string(base.request.customerID)
                    w.key("purpose"); w.string(base.request.purpose.rawValue)
                    w.key("decisions")
                    w.arrayStart()
                    for channel in policy.channels {
                        base.request.channel = channel
                        let (decision, itemFailed) = decideNow(base, context: context, now: now)
                        failed = failed || itemFailed
                        writeDecision(&w, decision, base.request, id: decisionID(context, loop: request.loop), reserved: nil)
                    }
                    w.arrayEnd()
                    w.objectEnd()
                }
                if failed { response.status = .serviceUnavailable }
                return response
            }
        }
    }

    /// `POST /v1/decisions` once authorized; throws only before anything was sent.
    private func postDecision(_ request: Request, _ responder: Responder) throws(APIError) {
        try checkQuery(request.query, allowed: [])
        let input = try decisionInput(body: request)
        if input.reserve { return reserve(input, request: request, responder: responder) }
        let (decision, failed, id) = try decideOnLoop(input, request: request)
        sendJSON(request, responder, failed ? .serviceUnavailable : .ok) { writeDecision(&$0, decision, input.request, id: id, reserved: nil) }
    }

    /// One decision on the loop that read it: 200, or 503 with `unavailable` when the store failed.
    func decisionResponse(_ input: DecisionInput, request: Request) -> Response {
        let decided: (Decision, failed: Bool, id: DecisionID)
        do throws(APIError) { decided = try decideOnLoop(input, request: request) } catch { return self.error(request, error) }
        return json(request, decided.failed ? .serviceUnavailable : .ok) { writeDecision(&$0, decided.0, input.request, id: decided.id, reserved: nil) }
    }

    /// One decision on the loop that read it, and its id.
    private func decideOnLoop(_ input: DecisionInput, request: Request) throws(APIError) -> (Decision, failed: Bool, id: DecisionID) {
        let context = try self.context(for: request)
        let (decision, failed) = decideNow(input, context: context, now: Date())
        return (decision, failed, decisionID(context, loop: request.loop))
    }

    /// `reserve: true`: decided and, when allowed, recorded by the writer in one transaction.
    func reserve(_ input: DecisionInput, request: Request, responder: Responder) {
        let policy = self.policy, hasher = writerHasher
        let id = randomDecisionID()
        let now = Date()
        store.write({ (w: WriteContext) throws(StoreError) -> (Decision, Bool) in
            let result = try w.reserve(input.request, policy: policy, now: now, campaignID: input.campaignID, tombstoneHash: hasher.hash)
            return (result.decision, result.reserved)
        }) { [self] result in
            switch result {
            case .success(let (decision, reserved)):
                metrics.decision(decision)
                responder.send(json(request) { writeDecision(&$0, decision, input.request, id: id, reserved: reserved) })
            case .failure(let error):
                log("reserve failed: \(error.message)")
                metrics.storeErrors.add()
                let decision = Decision.unavailable(at: input.request.at ?? now)
                responder.send(json(request, .serviceUnavailable) { writeDecision(&$0, decision, input.request, id: id, reserved: false) })
            }
        }
    }
}
