import Foundation
import HushCore
import HushHTTP
import HushLog
import HushStore

/// `GET /v1/decisions/{decision_id}` and `GET /v1/customers/{id}/decision-log`: the decision
/// log read back, while it is retained.
extension API {
    func loggedDecision(_ request: Request) throws(APIError) -> Response {
        let text = request.pathParameters["decision_id"] ?? ""
        guard let id = DecisionID(text) else {
            throw .invalid(ValidationError(field: "decision_id", message: "must be a decision id as hush gives them (a UUIDv7: 8-4-4-4-12 hex digits)"))
        }
        try requireFileLog()
        let line: [UInt8]?
        do throws(LogError) { line = try decisionLog.line(id: id.text, ms: id.milliseconds) } catch {
            log("decision log read failed: \(error.message)")
            throw .unavailable("the decision log cannot be read now")
        }
        guard let line else { throw .notFound("no decision \(id.text) in the decision log (kept \(decisionLog.options.retentionDays) days)") }
        return json(request) { Self.writeLogged(&$0, line) }
    }

    /// A customer's logged decisions, newest first, from `from` (default: the retention's
    /// start) to `to` (default: now), paged by decision id.
    func customerDecisionLog(_ request: Request) throws(APIError) -> Response {
        let id = try parameter(request, "id")
        let query = request.query
        let (limit, _) = try page(QueryParameters(query.items.filter { $0.name != "cursor" }))
        let now = Date()
        let (from, to, cursor) = try validating { () throws(ValidationError) -> (Date, Date, DecisionID?) in
            let from = try query.first("from").map { text throws(ValidationError) in try Validate.time(text, field: "from") }
                ?? now.addingTimeInterval(-Double(decisionLog.options.retentionDays) * 86_400)
            let to = try query.first("to").map { text throws(ValidationError) in try Validate.time(text, field: "to") } ?? now
            guard from <= to else { throw ValidationError(field: "from", message: "must not be after to") }
            let cursor = try query.first("cursor").map { text throws(ValidationError) -> DecisionID in
                guard let id = DecisionID(text) else { throw ValidationError(field: "cursor", message: "must be the next_cursor of the page before") }
                return id
            }
            return (from, to, cursor)
        }
        try requireFileLog()
        let context = try self.context(for: request)
        // An erased customer's decisions are unreachable: the fact of the erasure is what stays.
        let erasure: HistoryEntry?
        do throws(StoreError) { erasure = try context.reader.erasure(tombstone: context.hasher.hash(.customer(id))) } catch { throw .store(error) }
        if let erasure {
            throw .notFound("customer \(id) was erased at \(Timestamp.format(erasure.at)) by \(erasure.actor); their decisions are no longer listed")
        }
        let hex = Self.logHashHex(context.logHasher.hash(.customer(id)))
        let lines: [[UInt8]]
        do throws(LogError) {
            lines = try decisionLog.lines(customer: hex, fromMs: Self.milliseconds(from), toMs: Self.milliseconds(to) + 999,
                                          before: cursor?.text, limit: limit + 1)
        } catch {
            log("decision log read failed: \(error.message)")
            throw .unavailable("the decision log cannot be read now")
        }
        return json(request) { w in
            writePage(&w, lines, limit: limit, id: { line in DecisionLog.decisionID(ofLine: line) ?? "" }) { w, line in Self.writeLogged(&w, line) }
        }
    }

    /// Refuses reads when the decision log is not kept in files.
    private func requireFileLog() throws(APIError) {
        switch decisionLog.options.sink {
        case .file: return
        case .stdout: throw .notFound("the decision log goes to standard output (decision_log.sink), where hush cannot read it back")
        case .off: throw .notFound("the decision log is off (decision_log.sink)")
        }
    }

    static func milliseconds(_ date: Date) -> UInt64 { UInt64(max(0, (date.timeIntervalSince1970 * 1000).rounded(.down))) }
}
