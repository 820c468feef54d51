import Foundation
import HushCore
import HushHTTP
import HushStore

/// `/v1/suppressions`: do-not-contact, opt-out and objection records, by customer or address.
extension API {
    /// Idempotent: the same subject, kind, channels and purposes again is 200 with the stored one.
    func postSuppression(_ request: Request) throws(APIError) -> PreparedWrite {
        var r = try object(request)
        let suppression = try validating { () throws(ValidationError) in try self.suppression(&r) }
        let now = Date()
        return PreparedWrite({ w throws(StoreError) in try w.addSuppression(suppression, now: now) }) { [self] added in
            json(request, added.created ? .created : .ok) { $0.suppression(added.suppression) }
        }
    }

    /// A page of suppressions in id order, all or one customer's or one address's.
    func listSuppressions(_ request: Request) throws(APIError) -> Response {
        let query = request.query
        let (limit, cursor) = try page(query)
        let (customer, address) = try validating { () throws(ValidationError) -> (String?, String?) in
            let customer = try query.first("customer_id").map { id throws(ValidationError) in try Validate.identifier(id, field: "customer_id") }
            let address = try query.first("address").map { text throws(ValidationError) in try Address.parse(text, field: "address").value }
            if customer != nil, address != nil { throw ValidationError(field: "address", message: "cannot be combined with customer_id") }
            return (customer, address)
        }
        let context = try self.context(for: request)
        let found: [Suppression]
        do throws(StoreError) {
            // One more than asked tells whether another page follows.
            found = try context.reader.suppressions(customerID: customer, address: address, after: cursor, limit: limit + 1)
        } catch { throw .store(error) }
        return json(request) { w in writePage(&w, found, limit: limit, id: \.id) { $0.suppression($1) } }
    }

    func getSuppression(_ request: Request) throws(APIError) -> Response {
        let id = try parameter(request, "id")
        let reader = try self.context(for: request).reader
        let found: Suppression?
        do throws(StoreError) { found = try reader.suppression(id: id) } catch { throw .store(error) }
        guard let found else { throw .notFound("no suppression \(id)") }
        return json(request) { $0.suppression(found) }
    }

    /// Changes scope, confirmation, source or expiry; the subject and kind are its identity.
    func patchSuppression(_ request: Request) throws(APIError) -> PreparedWrite {
        let id = try parameter(request, "id")
        // Parsed once: checked here against a placeholder, applied on the writer to the stored one.
        let body = try self.body(request)
        var r = try object(body)
        for identity in ["id", "customer_id", "address", "kind"] where r.has(identity) {
            throw .invalid(ValidationError(field: identity, message: "cannot be changed; delete the suppression and add a new one"))
        }
        var probe = Suppression(id: id, subject: .customer("-"), kind: .doNotContact)
        try validating { () throws(ValidationError) in try applyScope(&r, to: &probe, patch: true); try r.finish() }
        return patchWrite(request, body: body, notFound: "no suppression \(id)",
                          read: { w throws(StoreError) in try w.readSuppression(id) },
                          apply: { [self] r, s throws(ValidationError) in try applyScope(&r, to: &s, patch: true) },
                          update: { w, s throws(StoreError) in try w.updateSuppression(s) },
                          answer: { w, s in w.suppression(s) })
    }

    func deleteSuppression(_ request: Request) throws(APIError) -> PreparedWrite {
        let id = try parameter(request, "id")
        return deleteWrite(request, notFound: "no suppression \(id)") { w throws(StoreError) in try w.deleteSuppression(id) }
    }

    func suppression(_ r: inout FieldReader) throws(ValidationError) -> Suppression {
        let customer = try r.string("customer_id"), address = try r.string("address")
        let subject: Subject
        switch (customer, address) {
        case let (id?, nil): subject = .customer(try Validate.identifier(id, field: "customer_id"))
        case let (nil, text?): subject = .address(try Address.parse(text, field: "address"))
        case (nil, nil): throw ValidationError(field: "customer_id", message: "or address is required")
        case (_?, _?): throw ValidationError(field: "address", message: "cannot be given with customer_id: a suppression has one subject")
        }
        let kindText = try r.requiredString("kind")
        guard let kind = SuppressionKind(rawValue: kindText) else {
            throw ValidationError(field: "kind", message: "must be one of: do_not_contact, opt_out, objection")
        }
        var s = Suppression(id: "", subject: subject, kind: kind)
        try applyScope(&r, to: &s, patch: false)
        try r.finish()
        return s
    }

    /// The mutable fields of a suppression; with `patch`, absent means unchanged and null clears.
    func applyScope(_ r: inout FieldReader, to s: inout Suppression, patch: Bool) throws(ValidationError) {
        if !patch || r.has("channels") { s.channels = try channels(try r.strings("channels"), field: "channels") }
        if !patch || r.has("purposes") { s.purposes = try purposes(try r.strings("purposes"), field: "purposes") }
        if !patch || r.has("source") { s.source = try r.string("source").map { v throws(ValidationError) in try Validate.identifier(v, field: "source") } }
        if !patch || r.has("confirmed") { s.confirmed = try r.bool("confirmed") ?? true }
        if !patch || r.has("expires_at") { s.expiresAt = try r.time("expires_at") }
        try s.validate()
    }

}
