import Foundation
import HushCore
import HushHTTP
import HushStore

/// `/v1/cases/{case_id}`: service cases, replaced whole by a feed, never by an older update.
extension API {
    func putCase(_ request: Request) throws(APIError) -> PreparedWrite {
        let id = try parameter(request, "case_id")
        var r = try object(request)
        let serviceCase = try validating { () throws(ValidationError) in try self.serviceCase(&r, id: id, now: Date()) }
        return PreparedWrite({ w throws(StoreError) in try w.upsertCase(serviceCase) }) { [self] (outcome) throws(APIError) in
            switch outcome {
            case .created: return json(request, .created) { $0.serviceCase(serviceCase) }
            case .replaced: return json(request) { $0.serviceCase(serviceCase) }
            case .stale(let current):
                throw .conflict("the stored case is newer (updated_at \(Timestamp.format(current.updatedAt))); nothing was changed",
                                current: { $0.serviceCase(current) })
            }
        }
    }

    func getCase(_ request: Request) throws(APIError) -> Response {
        let id = try parameter(request, "case_id")
        let reader = try self.context(for: request).reader
        let found: ServiceCase?
        do throws(StoreError) { found = try reader.serviceCase(id: id) } catch { throw .store(error) }
        guard let found else { throw .notFound("no case \(id)") }
        return json(request) { $0.serviceCase(found) }
    }

    func deleteCase(_ request: Request) throws(APIError) -> PreparedWrite {
        let id = try parameter(request, "case_id")
        return deleteWrite(request, notFound: "no case \(id)") { w throws(StoreError) in try w.deleteCase(id) }
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

}
