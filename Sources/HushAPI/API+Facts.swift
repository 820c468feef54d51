import Foundation
import HushCore
import HushHTTP
import HushStore

/// The fact endpoints: customers, cases, suppressions, holds, contacts, interactions. Every
/// request is validated on the loop that read it; the write runs on the store's writer and
/// is answered only after it committed.
extension API {
    typealias WriteJob = (WriteContext) throws(StoreError) -> Response

    /// A route whose work runs on the writer. `prepare` validates on the loop and returns the
    /// job; the job's answer is sent once its transaction committed (or the store's error).
    func addWrite(_ router: inout Router, _ method: HTTPMethod, _ pattern: String, _ scope: Config.Scope,
                  query: Set<String> = [], _ prepare: @escaping @Sendable (Request) throws(APIError) -> WriteJob) {
        router.addDeferred(method, pattern) { [self] request, responder in
            if case .refused(let response) = auth.check(request, needs: scope) { return responder.send(response) }
            let job: WriteJob
            do throws(APIError) {
                try checkQuery(request.query, allowed: query)
                job = try prepare(request)
            } catch {
                return responder.send(self.error(request, error))
            }
            store.write(job) { [self] result in
                switch result {
                case .success(let response): responder.send(response)
                case .failure(let error): responder.send(self.error(request, .store(error)))
                }
            }
        }
    }

    func parameter(_ request: Request, _ name: String) throws(APIError) -> String {
        do throws(ValidationError) { return try Validate.identifier(request.pathParameters[name] ?? "", field: name) } catch { throw .invalid(error) }
    }

    func object(_ request: Request) throws(APIError) -> FieldReader {
        try object(try body(request))
    }

    func object(_ value: JSONValue) throws(APIError) -> FieldReader {
        do throws(ValidationError) { return try FieldReader(value) } catch { throw .invalid(error) }
    }

    /// `{"deleted": true}`.
    func deleted(_ request: Request) -> Response {
        json(request) { $0.objectStart(); $0.key("deleted"); $0.bool(true); $0.objectEnd() }
    }

    func channels(_ names: [String]?, field: String) throws(ValidationError) -> Set<Channel>? {
        guard let names else { return nil }
        var out: Set<Channel> = []
        for (i, name) in names.enumerated() { out.insert(try Validate.channel(name, field: "\(field)[\(i)]", policy: policy)) }
        return out
    }

    func purposes(_ names: [String]?, field: String) throws(ValidationError) -> Set<Purpose>? {
        guard let names else { return nil }
        var out: Set<Purpose> = []
        for (i, name) in names.enumerated() { out.insert(try Validate.purpose(name, field: "\(field)[\(i)]", policy: policy)) }
        return out
    }

    // MARK: Writing records as JSON

    func writeProfile(_ w: inout JSONWriter, _ p: Profile) {
        w.objectStart()
        w.key("customer_id"); w.string(p.customerID)
        w.key("region"); w.string(p.region)
        w.key("timezone"); w.string(p.timeZone?.name)
        w.key("email"); w.string(p.email)
        w.key("phone"); w.string(p.phone)
        w.objectEnd()
    }

    func writeCase(_ w: inout JSONWriter, _ c: ServiceCase) {
        w.objectStart()
        w.key("case_id"); w.string(c.id)
        w.key("customer_id"); w.string(c.customerID)
        w.key("severity"); w.string(c.severity.rawValue)
        w.key("status"); w.string(c.status.rawValue)
        w.key("opened_at"); w.time(c.openedAt)
        w.key("closed_at"); w.time(c.closedAt)
        w.key("resolution"); w.string(c.resolution?.rawValue)
        w.key("updated_at"); w.time(c.updatedAt)
        w.objectEnd()
    }

    func writeSuppression(_ w: inout JSONWriter, _ s: Suppression) {
        w.objectStart()
        w.key("id"); w.string(s.id)
        switch s.subject {
        case .customer(let id): w.key("customer_id"); w.string(id)
        case .address(let address): w.key("address"); w.string(address.value)
        }
        w.key("kind"); w.string(s.kind.rawValue)
        w.key("channels"); w.strings(s.channels.map { $0.map(\.rawValue).sorted() })
        w.key("purposes"); w.strings(s.purposes.map { $0.map(\.rawValue).sorted() })
        w.key("source"); w.string(s.source)
        w.key("confirmed"); w.bool(s.confirmed)
        w.key("expires_at"); w.time(s.expiresAt)
        w.objectEnd()
    }

    func writeHold(_ w: inout JSONWriter, _ h: Hold) {
        w.objectStart()
        w.key("id"); w.string(h.id)
        w.key("title"); w.string(h.title)
        w.key("reason"); w.string(h.reason)
        w.key("regions"); w.strings(h.regions)
        w.key("channels"); w.strings(h.channels.map { $0.map(\.rawValue).sorted() })
        w.key("purposes"); w.strings(h.purposes.map { $0.map(\.rawValue).sorted() })
        w.key("categories"); w.strings(h.categories.map { $0.sorted() })
        w.key("starts_at"); w.time(h.startsAt)
        w.key("ends_at"); w.time(h.endsAt)
        w.objectEnd()
    }

    // MARK: Reading bodies

    func profile(_ r: inout FieldReader, customerID: String) throws(ValidationError) -> Profile {
        var profile = Profile(customerID: customerID)
        if let region = try r.string("region") { profile.region = try Validate.region(region, field: "region") }
        if let zone = try r.string("timezone") { profile.timeZone = try Validate.timeZone(zone, field: "timezone") }
        if let email = try r.string("email") { profile.email = try Address.normaliseEmail(email, field: "email") }
        if let phone = try r.string("phone") { profile.phone = try Address.normalisePhone(phone, field: "phone") }
        try r.finish()
        return profile
    }

    func serviceCase(_ r: inout FieldReader, id: String, now: Date) throws(ValidationError) -> ServiceCase {
        let customer = try Validate.identifier(try r.requiredString("customer_id"), field: "customer_id")
        let severityText = try r.requiredString("severity")
        guard let severity = Severity(rawValue: severityText) else {
            throw ValidationError(field: "severity", message: "must be one of: low, medium, high, critical")
        }
        let statusText = try r.requiredString("status")
        guard let status = CaseStatus(rawValue: statusText) else { throw ValidationError(field: "status", message: "must be one of: open, pending, closed") }
        guard let openedAt = try r.time("opened_at") else { throw ValidationError(field: "opened_at", message: "is required") }
        let closedAt = try r.time("closed_at")
        var resolution: Resolution?
        if let text = try r.string("resolution") {
            guard let value = Resolution(rawValue: text) else {
                throw ValidationError(field: "resolution", message: "must be one of: positive, neutral, negative")
            }
            resolution = value
        }
        let updatedAt = try r.time("updated_at") ?? now
        try r.finish()
        if status == .closed, closedAt == nil { throw ValidationError(field: "closed_at", message: "is required when status is closed") }
        if status != .closed, closedAt != nil { throw ValidationError(field: "closed_at", message: "must be null unless status is closed") }
        if status != .closed, resolution != nil { throw ValidationError(field: "resolution", message: "must be null unless status is closed") }
        if let closedAt, closedAt < openedAt { throw ValidationError(field: "closed_at", message: "must not be before opened_at") }
        return ServiceCase(id: id, customerID: customer, severity: severity, status: status, openedAt: openedAt, closedAt: closedAt,
                           resolution: resolution, updatedAt: updatedAt)
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

    func hold(_ r: inout FieldReader, now: Date) throws(ValidationError) -> Hold {
        let id = try Validate.identifier(try r.requiredString("id"), field: "id")
        var h = Hold(id: id, title: "", startsAt: now)
        try applyHold(&r, to: &h, patch: false, now: now)
        try r.finish()
        return h
    }

    func applyHold(_ r: inout FieldReader, to h: inout Hold, patch: Bool, now: Date) throws(ValidationError) {
        if !patch || r.has("title") {
            guard let title = try r.string("title"), !title.isEmpty, title.count <= 200 else {
                throw ValidationError(field: "title", message: "is required: 1 to 200 characters")
            }
            h.title = title
        }
        if !patch || r.has("reason") {
            let reason = try r.string("reason") ?? ""
            guard reason.count <= 1000 else { throw ValidationError(field: "reason", message: "must be at most 1000 characters") }
            h.reason = reason
        }
        if !patch || r.has("regions") {
            h.regions = try r.strings("regions").map { list throws(ValidationError) in
                try list.enumerated().map { (i, v) throws(ValidationError) in try Validate.region(v, field: "regions[\(i)]") }
            }
        }
        if !patch || r.has("channels") { h.channels = try channels(try r.strings("channels"), field: "channels") }
        if !patch || r.has("purposes") { h.purposes = try purposes(try r.strings("purposes"), field: "purposes") }
        if !patch || r.has("categories") {
            h.categories = try r.strings("categories").map { list throws(ValidationError) in
                Set(try list.enumerated().map { (i, v) throws(ValidationError) in try Validate.identifier(v, field: "categories[\(i)]") })
            }
        }
        if !patch || r.has("starts_at") { h.startsAt = try r.time("starts_at") ?? (patch ? h.startsAt : now) }
        if !patch || r.has("ends_at") { h.endsAt = try r.time("ends_at") }
        try h.validate()
    }

    // MARK: Routes

    func addFactRoutes(to router: inout Router) {
        addWrite(&router, .put, "/v1/customers/{id}", .write) { [self] (request) throws(APIError) -> WriteJob in
            let id = try parameter(request, "id")
            var r = try object(request)
            let profile: Profile
            do throws(ValidationError) { profile = try self.profile(&r, customerID: id) } catch { throw .invalid(error) }
            let now = Date()
            return { [self] (w) throws(StoreError) in
                let created = try w.upsertProfile(profile, now: now)
                return json(request, created ? .created : .ok) { writeProfile(&$0, profile) }
            }
        }

        addWrite(&router, .delete, "/v1/customers/{id}", .admin) { [self] (request) throws(APIError) -> WriteJob in
            let id = try parameter(request, "id")
            let hasher = writerHasher
            return { [self] (w) throws(StoreError) in
                let removed = try w.erase(customerID: id, tombstoneHash: hasher.hash)
                return json(request) { out in
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

        addWrite(&router, .put, "/v1/cases/{case_id}", .write) { [self] (request) throws(APIError) -> WriteJob in
            let id = try parameter(request, "case_id")
            var r = try object(request)
            let serviceCase: ServiceCase
            do throws(ValidationError) { serviceCase = try self.serviceCase(&r, id: id, now: Date()) } catch { throw .invalid(error) }
            return { [self] (w) throws(StoreError) in
                switch try w.upsertCase(serviceCase) {
                case .created: return json(request, .created) { writeCase(&$0, serviceCase) }
                case .replaced: return json(request) { writeCase(&$0, serviceCase) }
                case .stale(let current):
                    return error(request, .conflict("the stored case is newer (updated_at \(Timestamp.format(current.updatedAt))); nothing was changed",
                                                    current: { [self] in writeCase(&$0, current) }))
                }
            }
        }

        router.add(.get, "/v1/cases/{case_id}") { [self] request in
            guarded(request, .read) { () throws(APIError) in
                try checkQuery(request.query, allowed: [])
                let id = try parameter(request, "case_id")
                let reader = try self.context(for: request).reader
                let found: ServiceCase?
                do throws(StoreError) { found = try reader.serviceCase(id: id) } catch { throw .store(error) }
                guard let found else { throw .notFound("no case \(id)") }
                return json(request) { writeCase(&$0, found) }
            }
        }

        addWrite(&router, .delete, "/v1/cases/{case_id}", .write) { [self] (request) throws(APIError) -> WriteJob in
            let id = try parameter(request, "case_id")
            return { [self] (w) throws(StoreError) in
                guard try w.deleteCase(id) else { return error(request, .notFound("no case \(id)")) }
                return deleted(request)
            }
        }

        addWrite(&router, .post, "/v1/suppressions", .write) { [self] (request) throws(APIError) -> WriteJob in
            var r = try object(request)
            let suppression: Suppression
            do throws(ValidationError) { suppression = try self.suppression(&r) } catch { throw .invalid(error) }
            let now = Date()
            return { [self] (w) throws(StoreError) in
                let (stored, created) = try w.addSuppression(suppression, now: now)
                return json(request, created ? .created : .ok) { writeSuppression(&$0, stored) }
            }
        }

        router.add(.get, "/v1/suppressions/{id}") { [self] request in
            guarded(request, .read) { () throws(APIError) in
                try checkQuery(request.query, allowed: [])
                let id = try parameter(request, "id")
                let reader = try self.context(for: request).reader
                let found: Suppression?
                do throws(StoreError) { found = try reader.suppression(id: id) } catch { throw .store(error) }
                guard let found else { throw .notFound("no suppression \(id)") }
                return json(request) { writeSuppression(&$0, found) }
            }
        }

        addWrite(&router, .patch, "/v1/suppressions/{id}", .write) { [self] (request) throws(APIError) -> WriteJob in
            let id = try parameter(request, "id")
            // Parsed once: checked here against a placeholder, applied on the writer to the stored one.
            let body = try self.body(request)
            var r = try object(body)
            for identity in ["id", "customer_id", "address", "kind"] where r.has(identity) {
                throw .invalid(ValidationError(field: identity, message: "cannot be changed; delete the suppression and add a new one"))
            }
            var probe = Suppression(id: id, subject: .customer("-"), kind: .doNotContact)
            do throws(ValidationError) { try applyScope(&r, to: &probe, patch: true); try r.finish() } catch { throw .invalid(error) }
            return { [self] (w) throws(StoreError) in
                guard var current = try w.readSuppression(id) else { return error(request, .notFound("no suppression \(id)")) }
                var reader = try! FieldReader(body)
                do throws(ValidationError) { try applyScope(&reader, to: &current, patch: true) } catch { return self.error(request, .invalid(error)) }
                guard try w.updateSuppression(current) else { return error(request, .notFound("no suppression \(id)")) }
                return json(request) { writeSuppression(&$0, current) }
            }
        }

        addWrite(&router, .delete, "/v1/suppressions/{id}", .write) { [self] (request) throws(APIError) -> WriteJob in
            let id = try parameter(request, "id")
            return { [self] (w) throws(StoreError) in
                guard try w.deleteSuppression(id) else { return error(request, .notFound("no suppression \(id)")) }
                return deleted(request)
            }
        }

        addWrite(&router, .post, "/v1/holds", .write) { [self] (request) throws(APIError) -> WriteJob in
            var r = try object(request)
            let now = Date()
            let hold: Hold
            do throws(ValidationError) { hold = try self.hold(&r, now: now) } catch { throw .invalid(error) }
            return { [self] (w) throws(StoreError) in
                switch try w.createHold(hold, now: now) {
                case .created: return json(request, .created) { writeHold(&$0, hold) }
                case .exists(let current):
                    return error(request, .conflict("a hold with id \(hold.id) exists", current: { [self] in writeHold(&$0, current) }))
                case .full(let limit):
                    return error(request, .conflict("at most \(limit) holds may exist; delete ended ones first", current: nil))
                }
            }
        }

        router.add(.get, "/v1/holds") { [self] request in
            guarded(request, .read) { () throws(APIError) in
                try checkQuery(request.query, allowed: ["active", "limit", "cursor"])
                let (limit, cursor) = try page(request.query)
                var activeOnly = false
                if let active = request.query.first("active") {
                    guard active == "true" || active == "false" else {
                        throw .invalid(ValidationError(field: "active", message: "must be true or false"))
                    }
                    activeOnly = active == "true"
                }
                let now = Date()
                // In id order (bytewise, as SQLite orders the suppressions), after the cursor.
                let holds = store.holds.filter { cursor.utf8.lexicographicallyPrecedes($0.id.utf8) && (!activeOnly || $0.isActive(at: now)) }
                    .sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
                let items = holds.prefix(limit)
                return json(request) { w in
                    w.objectStart()
                    w.key("items")
                    w.arrayStart()
                    for hold in items { writeHold(&w, hold) }
                    w.arrayEnd()
                    w.key("next_cursor"); w.string(holds.count > limit ? items.last?.id : nil)
                    w.objectEnd()
                }
            }
        }

        router.add(.get, "/v1/holds/{id}") { [self] request in
            guarded(request, .read) { () throws(APIError) in
                try checkQuery(request.query, allowed: [])
                let id = try parameter(request, "id")
                guard let hold = store.holds.first(where: { $0.id == id }) else { throw .notFound("no hold \(id)") }
                return json(request) { writeHold(&$0, hold) }
            }
        }

        addWrite(&router, .patch, "/v1/holds/{id}", .write) { [self] (request) throws(APIError) -> WriteJob in
            let id = try parameter(request, "id")
            let body = try self.body(request)
            var r = try object(body)
            if r.has("id") { throw .invalid(ValidationError(field: "id", message: "cannot be changed")) }
            let now = Date()
            var probe = Hold(id: id, title: "-", startsAt: Date(timeIntervalSince1970: 0))
            do throws(ValidationError) { try applyHold(&r, to: &probe, patch: true, now: now) } catch {
                // ends_at against the placeholder's start says nothing yet; it is checked against the stored hold below.
                if error.field != "ends_at" { throw .invalid(error) }
            }
            do throws(ValidationError) { try r.finish() } catch { throw .invalid(error) }
            return { [self] (w) throws(StoreError) in
                guard var current = try w.readHold(id) else { return error(request, .notFound("no hold \(id)")) }
                var reader = try! FieldReader(body)
                do throws(ValidationError) { try applyHold(&reader, to: &current, patch: true, now: now) } catch { return self.error(request, .invalid(error)) }
                guard try w.updateHold(current, now: now) else { return error(request, .notFound("no hold \(id)")) }
                return json(request) { writeHold(&$0, current) }
            }
        }

        addWrite(&router, .delete, "/v1/holds/{id}", .write) { [self] (request) throws(APIError) -> WriteJob in
            let id = try parameter(request, "id")
            return { [self] (w) throws(StoreError) in
                guard try w.deleteHold(id) else { return error(request, .notFound("no hold \(id)")) }
                return deleted(request)
            }
        }

        addWrite(&router, .post, "/v1/contacts", .write) { [self] (request) throws(APIError) -> WriteJob in
            var r = try object(request)
            let customer: String, contact: Contact, campaign: String?
            do throws(ValidationError) {
                customer = try Validate.identifier(try r.requiredString("customer_id"), field: "customer_id")
                let channel = try Validate.channel(try r.requiredString("channel"), field: "channel", policy: policy)
                let purpose = try r.string("purpose").map { v throws(ValidationError) in try Validate.purpose(v, field: "purpose", policy: policy) } ?? .marketing
                let now = Date()
                let at = try r.time("at").map { t throws(ValidationError) in try Validate.counted(t, field: "at", now: now, policy: policy) }
                contact = Contact(channel: channel, purpose: purpose, at: at ?? now)
                campaign = try r.string("campaign_id").map { v throws(ValidationError) in try Validate.identifier(v, field: "campaign_id") }
                try r.finish()
            } catch { throw .invalid(error) }
            return { [self] (w) throws(StoreError) in
                try w.recordContact(customerID: customer, contact, campaignID: campaign)
                return json(request, .created) { out in
                    out.objectStart()
                    out.key("customer_id"); out.string(customer)
                    out.key("channel"); out.string(contact.channel.rawValue)
                    out.key("purpose"); out.string(contact.purpose.rawValue)
                    out.key("at"); out.time(contact.at)
                    out.key("campaign_id"); out.string(campaign)
                    out.objectEnd()
                }
            }
        }

        addWrite(&router, .post, "/v1/interactions", .write) { [self] (request) throws(APIError) -> WriteJob in
            var r = try object(request)
            let customer: String, interaction: Interaction
            do throws(ValidationError) {
                customer = try Validate.identifier(try r.requiredString("customer_id"), field: "customer_id")
                let type = try Validate.identifier(try r.requiredString("type"), field: "type")
                let score: Int
                if let given = try r.integer("score", in: -1000...1000) {
                    score = Int(given)
                } else if let configured = policy.interactionScores[type] {
                    score = configured
                } else {
                    throw ValidationError(field: "score", message: "is required for type \"\(type)\", which has no configured score")
                }
                let now = Date()
                let at = try r.time("at").map { t throws(ValidationError) in try Validate.counted(t, field: "at", now: now, policy: policy) }
                interaction = Interaction(type: type, score: score, at: at ?? now)
                try r.finish()
            } catch { throw .invalid(error) }
            return { [self] (w) throws(StoreError) in
                try w.recordInteraction(customerID: customer, interaction)
                return json(request, .created) { out in
                    out.objectStart()
                    out.key("customer_id"); out.string(customer)
                    out.key("type"); out.string(interaction.type)
                    out.key("score"); out.integer(interaction.score)
                    out.key("at"); out.time(interaction.at)
                    out.objectEnd()
                }
            }
        }
    }
}
