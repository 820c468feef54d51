import Foundation
import HushCore
import HushHTTP
import HushStore

/// `/v1/customers/{id}`: the profile, the single customer view, and erasure.
extension API {
    func putCustomer(_ request: Request) throws(APIError) -> PreparedWrite {
        let id = try parameter(request, "id")
        var r = try object(request)
        let profile = try validating { () throws(ValidationError) in try self.profile(&r, customerID: id) }
        let now = Date()
        return PreparedWrite({ w throws(StoreError) in try w.upsertProfile(profile, now: now) }) { [self] created in
            json(request, created ? .created : .ok) { writeProfile(&$0, profile) }
        }
    }

    /// The page an ops person opens first: what hush knows and what it would answer now.
    func getCustomer(_ request: Request) throws(APIError) -> Response {
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
        return json(request) { w in writeCustomerView(&w, id: id, facts: facts, context: context, now: now) }
    }

    /// GDPR erasure: every row goes, HMAC tombstones stay.
    func eraseCustomer(_ request: Request) throws(APIError) -> PreparedWrite {
        let id = try parameter(request, "id")
        let hasher = writerHasher
        return PreparedWrite({ w throws(StoreError) in try w.erase(customerID: id, tombstoneHash: hasher.hash) }) { [self] removed in
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

    func writeProfile(_ w: inout JSONWriter, _ p: Profile) {
        w.objectStart()
        w.key("customer_id"); w.string(p.customerID)
        w.key("region"); w.string(p.region)
        w.key("timezone"); w.string(p.timeZone?.name)
        w.key("email"); w.string(p.email)
        w.key("phone"); w.string(p.phone)
        w.objectEnd()
    }
}
