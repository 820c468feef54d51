import Foundation
import HushCore
import HushHTTP
import HushStore

/// Read-only views for people and tools: the suppression listing and the single customer view.
extension API {
    static let defaultPageSize = 100, maxPageSize = 1000

    /// A listing's `limit` (1 to `maxPageSize`, default `defaultPageSize`) and `cursor` (the
    /// last id of the page before; empty for the first page). Every listing pages by id.
    func page(_ query: QueryParameters) throws(APIError) -> (limit: Int, cursor: String) {
        var limit = Self.defaultPageSize, cursor = ""
        do throws(ValidationError) {
            if let text = query.first("limit") {
                guard let value = Int(text), (1...Self.maxPageSize).contains(value) else {
                    throw ValidationError(field: "limit", message: "must be a whole number from 1 to \(Self.maxPageSize)")
                }
                limit = value
            }
            if let text = query.first("cursor") { cursor = try Validate.identifier(text, field: "cursor") }
        } catch { throw .invalid(error) }
        return (limit, cursor)
    }

    func addViewRoutes(to router: inout Router) {
        router.add(.get, "/v1/suppressions") { [self] request in
            guarded(request, .read) { () throws(APIError) in
                try checkQuery(request.query, allowed: ["customer_id", "address", "limit", "cursor"])
                let query = request.query
                var customer: String?, address: String?
                let (limit, cursor) = try page(query)
                do throws(ValidationError) {
                    if let id = query.first("customer_id") { customer = try Validate.identifier(id, field: "customer_id") }
                    if let text = query.first("address") { address = try Address.parse(text, field: "address").value }
                    if customer != nil, address != nil {
                        throw ValidationError(field: "address", message: "cannot be combined with customer_id")
                    }
                } catch { throw .invalid(error) }
                let context = try self.context(for: request)
                let page: [Suppression]
                do throws(StoreError) {
                    // One more than asked tells whether another page follows.
                    page = try context.reader.suppressions(customerID: customer, address: address, after: cursor, limit: limit + 1)
                } catch { throw .store(error) }
                let items = page.prefix(limit)
                return json(request) { w in
                    w.objectStart()
                    w.key("items")
                    w.arrayStart()
                    for s in items { writeSuppression(&w, s) }
                    w.arrayEnd()
                    w.key("next_cursor"); w.string(page.count > limit ? items.last?.id : nil)
                    w.objectEnd()
                }
            }
        }

        router.add(.get, "/v1/customers/{id}") { [self] request in
            guarded(request, .read) { () throws(APIError) in
                try checkQuery(request.query, allowed: [])
                let id = try parameter(request, "id")
                let context = try self.context(for: request)
                let now = Date()
                let facts: Facts
                do throws(StoreError) {
                    facts = try context.reader.facts(customerID: id, address: nil, channel: policy.channels[0], at: now,
                                                     lookback: policy.longestWindow, holds: store.holds, tombstoneHash: context.hasher.hash)
                } catch { throw .store(error) }
                guard facts.isKnown else {
                    throw .notFound(facts.customerErased ? "customer \(id) was erased" : "no customer \(id)")
                }
                return json(request) { w in writeCustomerView(&w, id: id, facts: facts, context: context, loop: request.loop, now: now) }
            }
        }
    }

    /// The page an ops person opens first: what hush knows and what it would answer now.
    func writeCustomerView(_ w: inout JSONWriter, id: String, facts: Facts, context: LoopContext, loop: Int, now: Date) {
        w.objectStart()
        w.key("customer_id"); w.string(id)
        w.key("profile")
        if let profile = facts.profile { writeProfile(&w, profile) } else { w.null() }
        w.key("erased"); w.bool(facts.customerErased)
        // Open and pending cases, and closed ones still inside the cool-off or the lookback
        // (a positive resolution has no cool-off, but is shown for the lookback all the same).
        w.key("cases")
        w.arrayStart()
        for c in facts.cases where c.status != .closed || (c.closedAt.map { now.timeIntervalSince($0) < max(policy.caseCoolOff, policy.longestWindow) } ?? true) {
            writeCase(&w, c)
        }
        w.arrayEnd()
        w.key("suppressions")
        w.arrayStart()
        for s in facts.suppressions { writeSuppression(&w, s) }
        w.arrayEnd()
        let region = facts.profile?.region
        w.key("holds")
        w.arrayStart()
        for hold in facts.holds where hold.isActive(at: now) {
            if let regions = hold.regions {
                guard let region, regions.contains(where: { Region.covers($0, region) }) else { continue }
            }
            writeHold(&w, hold)
        }
        w.arrayEnd()
        w.key("contacts")
        w.arrayStart()
        for contact in facts.contacts.sorted(by: { $0.at > $1.at }) where contact.at <= now {
            w.objectStart()
            w.key("channel"); w.string(contact.channel.rawValue)
            w.key("purpose"); w.string(contact.purpose.rawValue)
            w.key("at"); w.time(contact.at)
            w.objectEnd()
        }
        w.arrayEnd()
        // The window a decision now counts, `(now - window, now]`, and what falls in it.
        let from = now.addingTimeInterval(-policy.willingnessWindow)
        let counted = facts.interactions.filter { $0.at > from && $0.at <= now }.sorted { $0.at > $1.at }
        w.key("willingness")
        w.objectStart()
        w.key("score"); w.integer(counted.reduce(0) { $0 + $1.score })
        w.key("threshold"); w.integer(policy.willingnessThreshold)
        w.key("window_days"); w.number(policy.willingnessWindow / 86_400)
        w.key("interactions")
        w.arrayStart()
        for interaction in counted {
            w.objectStart()
            w.key("type"); w.string(interaction.type)
            w.key("score"); w.integer(interaction.score)
            w.key("at"); w.time(interaction.at)
            w.objectEnd()
        }
        w.arrayEnd()
        w.objectEnd()
        w.key("decisions")
        w.arrayStart()
        for channel in policy.channels {
            var request = DecisionRequest(customerID: id, channel: channel)
            request.at = now
            let decision = decide(request, facts: facts, policy: policy, now: now)
            writeDecision(&w, decision, request, id: decisionID(context, loop: loop), reserved: nil)
        }
        w.arrayEnd()
        w.objectEnd()
    }
}
