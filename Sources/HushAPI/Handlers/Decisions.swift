import Foundation
import HushCore
import HushHTTP
import HushStore

/// `POST` and `GET /v1/decisions`, the batch, and every channel of one customer.
extension API {
    /// One decision; with `reserve: true`, decided and recorded by the writer in one transaction.
    func postDecision(_ request: Request, _ caller: Actor, _ responder: Responder) throws(APIError) {
        let input = try decisionInput(body: request)
        try requireCurrent(input.minToken)
        let context = try self.context(for: request)
        let now = Date()
        let id = decisionID(context, at: now)
        if input.reserve { return reserve(input, id: id, now: now, caller: caller, request: request, responder: responder) }
        let (decision, failed) = decideAndRecord(input, id: id, caller: caller, context: context, now: now)
        sendJSON(request, responder, failed ? .serviceUnavailable : .ok) { writeDecision(&$0, decision, input.request, id: id, reserved: nil) }
    }

    func getDecision(_ request: Request, _ caller: Actor) throws(APIError) -> Response {
        let input = try decisionInput(query: request.query)
        try requireCurrent(input.minToken)
        let context = try self.context(for: request)
        let now = Date()
        let id = decisionID(context, at: now)
        let (decision, failed) = decideAndRecord(input, id: id, caller: caller, context: context, now: now)
        return json(request, failed ? .serviceUnavailable : .ok) { writeDecision(&$0, decision, input.request, id: id, reserved: nil) }
    }

    /// Decides on the loop and records the decision in the decision log; one that cannot be
    /// recorded is answered `unavailable` instead (503).
    func decideAndRecord(_ input: borrowing DecisionInput, id: DecisionID, caller: Actor, context: LoopContext, now: Date) -> (Decision, failed: Bool) {
        let (decision, failed) = decideNow(input, context: context, now: now)
        if record(decision, input.request, id: id, reserved: nil, caller: caller, context: context) {
            return (decision, failed)
        }
        return (Decision.unavailable(at: input.request.at ?? now, detail: Self.unrecordedDetail), true)
    }

    /// Up to `limits.maxBatchRequests` decisions; a bad item gets its error in its place, the others their answers.
    /// A plain body (`DecisionBatchBody`) is read straight from its bytes; any other through the JSON tree.
    func decideBatch(_ request: Request, _ caller: Actor, _ responder: Responder) throws(APIError) {
        if Self.hasJSONBody(request),
           let batch = DecisionBatchBody.parse(request.body, maxCategories: limits.maxCategories, maxItems: limits.maxBatchRequests) {
            let minToken = try validating { () throws(ValidationError) in
                try Self.consistencyToken(DecisionBody.text(batch.minToken, in: request.body), field: "min_token")
            }
            try requireCurrent(minToken)
            let context = try self.context(for: request)
            return sendBatch(request, responder, count: batch.items.count, caller: caller, context: context) { i throws(ValidationError) in
                try decisionInput(item: i, of: batch, in: request.body)
            }
        }
        var r = try object(request)
        var minToken: ConsistencyToken?
        let items = try validating { () throws(ValidationError) -> [JSONValue] in
            minToken = try Self.consistencyToken(try r.string("min_token"), field: "min_token")
            guard let value = r.raw("requests") else { throw ValidationError(field: "requests", message: "is required") }
            guard case .array(let list) = value else { throw ValidationError(field: "requests", message: "must be a list of decision requests") }
            guard list.count <= limits.maxBatchRequests else {
                throw ValidationError(field: "requests", message: "holds \(list.count) requests; at most \(limits.maxBatchRequests) are taken")
            }
            try r.finish()
            return list
        }
        try requireCurrent(minToken)
        let context = try self.context(for: request)
        sendBatch(request, responder, count: items.count, caller: caller, context: context) { i throws(ValidationError) in
            try decisionInput(items[i], prefix: "requests[\(i)].", allowReserve: false)
        }
    }

    /// Item `i` of a batch read by `DecisionBatchBody`, its errors named as the general path
    /// names them (`requests[i].channel`).
    func decisionInput(item i: Int, of batch: DecisionBatchBody, in body: [UInt8]) throws(ValidationError) -> DecisionInput {
        do throws(ValidationError) { return try decisionInput(fast: batch.items[i], in: body) } catch {
            throw ValidationError(field: "requests[\(i)]." + error.field, message: error.message)
        }
    }

    /// `{"results": [...]}` for `count` items, written into a buffer sized for them and sent from it.
    private func sendBatch(_ request: Request, _ responder: Responder, count: Int, caller: Actor, context: LoopContext,
                           _ input: (Int) throws(ValidationError) -> DecisionInput) {
        var w = JSONWriter(capacity: 64 + Self.batchAnswerBytes * min(count, Self.batchAnswersSized))
        w.objectStart()
        w.key("results")
        let failed = writeDecisions(&w, count: count, caller: caller, context: context, input)
        w.objectEnd()
        send(w, request, responder, failed ? .serviceUnavailable : .ok)
    }

    /// About what one answer in a batch takes (an answer with two reasons is about 600 bytes,
    /// one with none about 250): the buffer is sized once instead of doubled as it fills, for
    /// up to `batchAnswersSized` answers (1 MiB); a larger batch's buffer grows from there.
    static let batchAnswerBytes = 512, batchAnswersSized = 2_048

    /// The customer's decision on every configured channel, in the configuration's order.
    func customerDecisions(_ request: Request, _ caller: Actor) throws(APIError) -> Response {
        let id = try parameter(request, "id")
        let query = QueryParameters(request.query.items.filter { $0.name != "pretty" } + [("customer_id", id), ("channel", policy.channels[0].rawValue)])
        let base = try decisionInput(query: query)
        try requireCurrent(base.minToken)
        let context = try self.context(for: request)
        var failed = false
        var response = json(request) { w in
            w.objectStart()
            w.key("customer_id"); w.string(id)
            w.key("purpose"); w.string(base.request.purpose.rawValue)
            w.key("decisions")
            failed = writeDecisions(&w, count: policy.channels.count, caller: caller, context: context) { i in
                var input = base
                input.request.channel = policy.channels[i]
                return input
            }
            w.objectEnd()
        }
        if failed { response.status = .serviceUnavailable }
        return response
    }

    /// Decides `count` inputs on the calling loop and writes them as an array: each answer, or
    /// for an input that is not valid its error. Returns whether the store failed for any.
    private func writeDecisions(_ w: inout JSONWriter, count: Int, caller: Actor, context: LoopContext,
                                _ input: (Int) throws(ValidationError) -> DecisionInput) -> Bool {
        let now = Date()
        var failed = false
        w.arrayStart()
        for i in 0..<count {
            do throws(ValidationError) {
                let one = try input(i)
                let id = decisionID(context, at: now)
                let (decision, itemFailed) = decideAndRecord(one, id: id, caller: caller, context: context, now: now)
                failed = failed || itemFailed
                writeDecision(&w, decision, one.request, id: id, reserved: nil)
            } catch {
                w.objectStart()
                Self.writeError(&w, code: .invalidField, message: "\(error.field) \(error.message)", field: error.field)
                w.objectEnd()
            }
        }
        w.arrayEnd()
        return failed
    }

    /// `reserve: true`: decided and, when allowed, recorded by the writer in one transaction;
    /// answered after the commit. A store failure answers `unavailable`: fail closed.
    private func reserve(_ input: DecisionInput, id: DecisionID, now: Date, caller: Actor, request: Request, responder: Responder) {
        // A log that cannot record refuses before anything is reserved.
        if decisionLog.options.whenFull == .hold, decisionLog.failure != nil {
            let decision = Decision.unavailable(at: input.request.at ?? now, detail: Self.unrecordedDetail)
            metrics.decision(decision, loop: request.loop)
            return sendJSON(request, responder, .serviceUnavailable) { writeDecision(&$0, decision, input.request, id: id, reserved: false) }
        }
        let policy = self.policy, hasher = writerHasher, lookback = self.lookback
        store.write(as: caller, { (w: any StoreTransaction) throws(StoreError) -> (decision: Decision, reserved: Bool) in
            try w.reserve(input.request, now: now, lookback: lookback, campaignID: input.campaignID, tombstoneHash: hasher.hash) { facts in
                decide(input.request, facts: facts, policy: policy, now: now)
            }
        }, committed: { [self] result, token in
            responder.send(rendering: { [self] in
                switch result {
                case .success(let reserved):
                    // Rendered on the loop that read the request: its context records the line.
                    guard let context = try? self.context(request.loop),
                          record(reserved.decision, input.request, id: id, reserved: reserved.reserved, caller: caller, context: context) else {
                        // Reserved but not on record: answered unavailable, so that nothing is sent; the
                        // recorded contact counts against the caps, the safe side.
                        let decision = Decision.unavailable(at: input.request.at ?? now, detail: Self.unrecordedDetail)
                        metrics.decision(decision, loop: request.loop)
                        return json(request, .serviceUnavailable) { writeDecision(&$0, decision, input.request, id: id, reserved: false) }
                    }
                    metrics.decision(reserved.decision, loop: request.loop)
                    return API.carrying(token, json(request) { writeDecision(&$0, reserved.decision, input.request, id: id, reserved: reserved.reserved) })
                case .failure(let error):
                    log("reserve failed: \(error.message)")
                    metrics.storeErrors.add()
                    let decision = Decision.unavailable(at: input.request.at ?? now)
                    metrics.decision(decision, loop: request.loop)
                    return json(request, .serviceUnavailable) { writeDecision(&$0, decision, input.request, id: id, reserved: false) }
                }
            })
        })
    }

    /// Decides on the calling loop's own connection. A store failure answers `unavailable`:
    /// fail closed, never a silent allow.
    func decideNow(_ input: borrowing DecisionInput, context: LoopContext, now: Date) -> (Decision, failed: Bool) {
        // A node whose copy of a replicated store is too far behind answers nothing from it.
        if let stale = store.staleness(now: now) {
            metrics.storeErrors.add()
            let decision = Decision.unavailable(at: input.request.at ?? now, detail: stale)
            metrics.decision(decision, loop: context.index)
            return (decision, true)
        }
        do {
            let decision = try context.reader.withFacts(customerID: input.request.customerID, address: input.request.address,
                                                        channel: input.request.channel, at: input.request.at ?? now, lookback: lookback,
                                                        holds: context.holds(of: store), tombstoneHash: context.hasher.hash) { facts in
                decide(input.request, facts: facts, policy: policy, now: now, offsets: context.zoneOffsets)
            }
            metrics.decision(decision, loop: context.index)
            return (decision, false)
        } catch {
            log("decision read failed: \(error.message)")
            metrics.storeErrors.add()
            let decision = Decision.unavailable(at: input.request.at ?? now)
            metrics.decision(decision, loop: context.index)
            return (decision, true)
        }
    }

    func writeDecision(_ w: inout JSONWriter, _ decision: Decision, _ request: DecisionRequest, id: DecisionID, reserved: Bool?) {
        Self.writeDecision(&w, decision, request, id: id, reserved: reserved, policyVersion: policyVersion)
    }

    /// A decision as the API answers it; `id` nil (null) for one no log recorded (`hush decide`).
    static func writeDecision(_ w: inout JSONWriter, _ decision: Decision, _ request: DecisionRequest, id: DecisionID?, reserved: Bool?,
                              policyVersion: String) {
        w.objectStart()
        w.key("decision"); w.string(decision.allowed ? "allow" : "suppress")
        w.key("decision_id")
        if let id { w.string(id) } else { w.null() }
        w.key("customer_id"); w.string(request.customerID)
        if let address = request.address { w.key("address"); w.string(address.value) }
        w.key("channel"); w.string(request.channel.rawValue)
        w.key("purpose"); w.string(request.purpose.rawValue)
        w.key("evaluated_at"); w.time(decision.evaluatedAt)
        w.key("policy_version"); w.string(policyVersion)
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
}
