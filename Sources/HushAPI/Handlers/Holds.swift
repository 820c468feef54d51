import Foundation
import HushCore
import HushHTTP
import HushStore

/// `/v1/holds`: environmental holds (a wildfire, a storm), kept in memory by every reader.
extension API {
    func postHold(_ request: Request) throws(APIError) -> PreparedWrite {
        var r = try object(request)
        let now = Date()
        let hold = try validating { () throws(ValidationError) in try self.hold(&r, now: now) }
        let limit = limits.maxHolds
        return PreparedWrite({ w throws(StoreError) in try w.createHold(hold, now: now, limit: limit) }) { [self] (outcome) throws(APIError) in
            switch outcome {
            case .created: return json(request, .created) { $0.hold(hold) }
            case .exists(let current):
                throw .conflict("a hold with id \(hold.id) exists", current: { $0.hold(current) })
            case .full(let limit):
                throw .conflict("at most \(limit) holds may exist; delete ended ones first", current: nil)
            }
        }
    }

    /// A page of holds in id order (bytewise, as SQLite orders the suppressions); `active=true`
    /// keeps those in force now.
    func listHolds(_ request: Request) throws(APIError) -> Response {
        let (limit, cursor) = try page(request.query)
        let activeOnly = try validating { () throws(ValidationError) -> Bool in
            guard let active = request.query.first("active") else { return false }
            guard active == "true" || active == "false" else { throw ValidationError(field: "active", message: "must be true or false") }
            return active == "true"
        }
        let now = Date()
        let holds = store.holds.filter { cursor.utf8.lexicographicallyPrecedes($0.id.utf8) && (!activeOnly || $0.isActive(at: now)) }
            .sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
        return json(request) { w in writePage(&w, holds.prefix(limit + 1), limit: limit, id: \.id) { $0.hold($1) } }
    }

    func getHold(_ request: Request) throws(APIError) -> Response {
        let id = try parameter(request, "id")
        guard let hold = store.holds.first(where: { $0.id == id }) else { throw .notFound("no hold \(id)") }
        return json(request) { $0.hold(hold) }
    }

    func patchHold(_ request: Request) throws(APIError) -> PreparedWrite {
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
        try validating { () throws(ValidationError) in try r.finish() }
        return patchWrite(request, body: body, notFound: "no hold \(id)",
                          read: { w throws(StoreError) in try w.readHold(id) },
                          apply: { [self] r, h throws(ValidationError) in try applyHold(&r, to: &h, patch: true, now: now) },
                          update: { w, h throws(StoreError) in try w.updateHold(h, now: now) },
                          answer: { w, h in w.hold(h) })
    }

    func deleteHold(_ request: Request) throws(APIError) -> PreparedWrite {
        let id = try parameter(request, "id")
        return deleteWrite(request, notFound: "no hold \(id)") { w throws(StoreError) in try w.deleteHold(id) }
    }

    func hold(_ r: inout FieldReader, now: Date) throws(ValidationError) -> Hold {
        let id = try Validate.identifier(try r.requiredString("id"), field: "id")
        var h = Hold(id: id, title: "", startsAt: now)
        try applyHold(&r, to: &h, patch: false, now: now)
        try r.finish()
        return h
    }

    /// The fields of a hold; with `patch`, absent means unchanged and null clears.
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

}
