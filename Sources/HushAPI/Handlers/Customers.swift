import Foundation
import HushCore
import HushHTTP
import HushLog
import HushStore

/// `/v1/customers/{id}`: the profile, the single customer view, and erasure.
extension API {
    func putCustomer(_ request: Request) throws(APIError) -> PreparedWrite {
        let id = try parameter(request, "id")
        var r = try object(request)
        let profile = try validating { () throws(ValidationError) in try self.profile(&r, customerID: id) }
        let now = Date()
        return PreparedWrite({ w throws(StoreError) in try w.upsertProfile(profile, now: now) }) { [self] created in
            json(request, created ? .created : .ok) { $0.profile(profile) }
        }
    }

    /// The page an ops person opens first: what hush knows and what it would answer now.
    func getCustomer(_ request: Request, _ caller: Actor) throws(APIError) -> Response {
        let id = try parameter(request, "id")
        let context = try self.context(for: request)
        let now = Date()
        let facts: Facts, history: [HistoryEntry]
        var erasure: HistoryEntry?
        do throws(StoreError) {
            facts = try context.reader.facts(customerID: id, address: nil, channel: policy.channels[0], at: now,
                                             lookback: policy.longestWindow, holds: context.holds(of: store), tombstoneHash: context.hasher.hash)
            let addresses = [facts.profile?.email, facts.profile?.phone].compactMap { $0 }
            history = facts.isKnown ? try context.reader.history(ofCustomer: id, addresses: addresses, limit: Self.customerViewHistory) : []
            if facts.customerErased { erasure = try context.reader.erasure(tombstone: context.hasher.hash(.customer(id))) }
        } catch { throw .store(error) }
        guard facts.isKnown else {
            guard facts.customerErased else { throw .notFound("no customer \(id)") }
            // What stays of an erased customer: the fact of the erasure, when and by whom.
            throw .notFound(erasure.map { "customer \(id) was erased at \(Timestamp.format($0.at)) by \($0.actor)" } ?? "customer \(id) was erased")
        }
        var recorded = true
        var response = json(request) { w in
            recorded = writeCustomerView(&w, id: id, facts: facts, history: history, caller: caller, context: context, now: now)
        }
        if !recorded { response.status = .serviceUnavailable }
        return response
    }

    /// The newest changes the single customer view shows; each record's own history has them all.
    static let customerViewHistory = 20

    /// GDPR erasure: every row goes, HMAC tombstones stay.
    func eraseCustomer(_ request: Request) throws(APIError) -> PreparedWrite {
        let id = try parameter(request, "id")
        let hasher = writerHasher, logHasher = writerLogHasher, decisionLog = self.decisionLog
        // The decision log's subjects for the id and its addresses: keyed hashes, never the values.
        let logSubjects: @Sendable ([Address]) -> [String] = { addresses in ([Subject.customer(id)] + addresses.map(Subject.address)).map { Self.logHashHex(logHasher.hash($0)) } }
        return PreparedWrite({ w throws(StoreError) in
            let removed = try w.erase(customerID: id, tombstoneHash: hasher.hash)
            // Other nodes (a replicated store) erase the same subjects from their own logs.
            try w.recordLogErasure(logSubjects(removed.addresses))
            return removed
        }, committed: { removed throws(APIError) in
            // The decision log's lines about the id and its addresses become unreachable too.
            do throws(LogError) {
                try decisionLog.erase(subjects: logSubjects(removed.addresses))
            } catch {
                throw .unavailable("customer \(id) was erased, but the decision log could not record the erasure (\(error.message)); erase again")
            }
        }) { [self] removed in
            json(request) { out in
                out.objectStart()
                out.key("erased"); out.bool(true)
                out.key("removed")
                out.objectStart()
                out.key("profile"); out.integer(removed.profile)
                out.key("cases"); out.integer(removed.cases)
                out.key("suppressions"); out.integer(removed.suppressions)
                out.key("contacts"); out.integer(removed.contacts)
                out.key("interactions"); out.integer(removed.interactions)
                out.objectEnd()
                out.objectEnd()
            }
        }
    }

    func profile(_ r: inout FieldReader, customerID: String) throws(ValidationError) -> Profile {
        var profile = Profile(customerID: customerID)
        if let region = try r.string("region") { profile.region = try Validate.region(region, field: "region") }
        if let zone = try r.string("timezone") { profile.timeZone = try Validate.timeZone(zone, field: "timezone") }
        if let email = try r.string("email") { profile.email = try Address.normaliseEmail(email, field: "email") }
        if let phone = try r.string("phone") { profile.phone = try Address.normalisePhone(phone, field: "phone") }
        try r.finish()
        return profile
    }

}
