import HushCore
import HushHTTP
import HushStore

/// One route of the API: method, path, who may call it, the query it takes, its body limit and
/// its handler. `API.routes` lists them all; the router, the OpenAPI test, the metrics' route
/// names and the key check are all made from that one table.
struct APIRoute: Sendable {
    /// Who may call a route.
    enum Access: Sendable {
        /// Anyone (load balancers, probes).
        case open
        /// A key with this scope, when keys are configured.
        case key(Config.Scope)
        /// A key with this scope when `auth.protect_metrics` is on; anyone otherwise.
        case keyIfMetricsProtected(Config.Scope)
    }

    /// How large a body may be.
    enum BodyLimit: Sendable {
        /// `limits.max_body_bytes`.
        case standard
        /// `limits.max_batch_body_bytes`: a batch of decisions.
        case batch
        /// Streamed to the handler as it arrives, with no total limit (imports).
        case streamed
    }

    /// What a route runs once the key and the query were checked. Errors thrown become their
    /// answer (`API.errorResponse`).
    enum Work: Sendable {
        /// Answered on the loop that read the request.
        case read(@Sendable (API, Request, Actor) throws(APIError) -> Response)
        /// Answered through the responder, at once or later.
        case respond(@Sendable (API, Request, Actor, Responder) throws(APIError) -> Void)
        /// Validated on the loop; the write runs on the store's writer as the caller's (the
        /// history names its key), answered after it committed.
        case write(@Sendable (API, Request) throws(APIError) -> PreparedWrite)
        /// The body goes to a sink as it arrives.
        case stream(@Sendable (API, Request, Actor) throws(APIError) -> BodySink)
    }

    let method: HTTPMethod
    let path: String
    let access: Access
    /// The query parameters taken besides `pretty`; nil: any, ignored (`/healthz`, `/readyz`, `/metrics`).
    let query: Set<String>?
    let body: BodyLimit
    let work: Work

    init(_ method: HTTPMethod, _ path: String, _ access: Access, query: Set<String>? = [], body: BodyLimit = .standard, _ work: Work) {
        self.method = method; self.path = path; self.access = access; self.query = query; self.body = body; self.work = work
    }

    /// `GET /v1/holds`, as the OpenAPI document and the metrics name it.
    var name: String { "\(method) \(path)" }
}

/// A write validated on the loop that read it: `job` runs inside the writer's transaction and
/// returns a value; `answer` makes the HTTP answer from that value after the commit, on the
/// loop, never inside the transaction.
struct PreparedWrite: Sendable {
    let submit: @Sendable (API, Request, Actor, Responder) -> Void

    /// `committed` runs on the writer's thread once the job committed, before the answer is
    /// made; what it throws is answered instead, as `unavailable`. `failed` runs when the job
    /// or its commit failed (nothing was written).
    init<Value: Sendable>(_ job: @escaping @Sendable (any StoreTransaction) throws(StoreError) -> Value,
                          committed: (@Sendable (Value) throws(APIError) -> Void)? = nil,
                          failed: (@Sendable (StoreError) -> Void)? = nil,
                          answer: @escaping @Sendable (Value) throws(APIError) -> Response) {
        submit = { api, request, actor, responder in
            api.store.write(as: actor, job, committed: { result, token in
                if case .failure(let error) = result { failed?(error) }
                let afterCommit: String? = {
                    guard case .success(let value) = result, let committed else { return nil }
                    do throws(APIError) { try committed(value) } catch {
                        if case .unavailable(let message) = error { return message }
                        return "\(error)"
                    }
                    return nil
                }()
                responder.send(rendering: {
                    do throws(APIError) {
                        if let afterCommit { throw .unavailable(afterCommit) }
                        switch result {
                        case .success(let value): return API.carrying(token, try answer(value))
                        case .failure(let error): throw .store(error)
                        }
                    } catch {
                        return api.error(request, error)
                    }
                })
            })
        }
    }
}

extension API {
    /// Every route of the API. Handlers live in `Handlers/`, one file per resource.
    static let routes: [APIRoute] = [
        // Operations (Handlers/Operations.swift)
        APIRoute(.get, "/healthz", .open, query: nil, .read { api, request, _ in api.health(request) }),
        APIRoute(.get, "/readyz", .open, query: nil, .read { api, request, _ in api.readiness(request) }),
        APIRoute(.get, "/metrics", .keyIfMetricsProtected(.read), query: nil, .read { api, _, _ in api.metricsText() }),
        APIRoute(.get, "/openapi.json", .open, .read { api, _, _ in api.openAPIResponse }),
        // Decisions (Handlers/Decisions.swift; read back from the log in Handlers/DecisionLookup.swift)
        APIRoute(.post, "/v1/decisions", .key(.decide), .respond { api, request, caller, responder throws(APIError) in
            try api.postDecision(request, caller, responder)
        }),
        APIRoute(.get, "/v1/decisions", .key(.decide), query: API.decisionQuery, .read { api, request, caller throws(APIError) in
            try api.getDecision(request, caller)
        }),
        APIRoute(.post, "/v1/decisions/batch", .key(.decide), body: .batch, .respond { api, request, caller, responder throws(APIError) in
            try api.decideBatch(request, caller, responder)
        }),
        APIRoute(.get, "/v1/decisions/{decision_id}", .key(.read), .read { api, request, _ throws(APIError) in
            try api.loggedDecision(request)
        }),
        APIRoute(.get, "/v1/customers/{id}/decision-log", .key(.read), query: ["from", "to", "limit", "cursor"], .read { api, request, _ throws(APIError) in
            try api.customerDecisionLog(request)
        }),
        APIRoute(.get, "/v1/customers/{id}/decisions", .key(.decide), query: ["purpose", "at", "category", "min_token"], .read { api, request, caller throws(APIError) in
            try api.customerDecisions(request, caller)
        }),
        // Customers (Handlers/Customers.swift)
        APIRoute(.put, "/v1/customers/{id}", .key(.write), .write { api, request throws(APIError) in try api.putCustomer(request) }),
        APIRoute(.get, "/v1/customers/{id}", .key(.read), .read { api, request, caller throws(APIError) in try api.getCustomer(request, caller) }),
        APIRoute(.delete, "/v1/customers/{id}", .key(.admin), .write { api, request throws(APIError) in try api.eraseCustomer(request) }),
        // Cases (Handlers/Cases.swift)
        APIRoute(.put, "/v1/cases/{case_id}", .key(.write), .write { api, request throws(APIError) in try api.putCase(request) }),
        APIRoute(.get, "/v1/cases/{case_id}", .key(.read), .read { api, request, _ throws(APIError) in try api.getCase(request) }),
        APIRoute(.get, "/v1/cases/{case_id}/history", .key(.read), query: ["limit", "cursor"], .read { api, request, _ throws(APIError) in
            try api.recordHistory(request, .case, parameter: "case_id")
        }),
        APIRoute(.delete, "/v1/cases/{case_id}", .key(.write), .write { api, request throws(APIError) in try api.deleteCase(request) }),
        // Suppressions (Handlers/Suppressions.swift)
        APIRoute(.post, "/v1/suppressions", .key(.write), .write { api, request throws(APIError) in try api.postSuppression(request) }),
        APIRoute(.get, "/v1/suppressions", .key(.read), query: ["customer_id", "address", "limit", "cursor"], .read { api, request, _ throws(APIError) in
            try api.listSuppressions(request)
        }),
        APIRoute(.get, "/v1/suppressions/{id}", .key(.read), .read { api, request, _ throws(APIError) in try api.getSuppression(request) }),
        APIRoute(.get, "/v1/suppressions/{id}/history", .key(.read), query: ["limit", "cursor"], .read { api, request, _ throws(APIError) in
            try api.recordHistory(request, .suppression, parameter: "id")
        }),
        APIRoute(.patch, "/v1/suppressions/{id}", .key(.write), .write { api, request throws(APIError) in try api.patchSuppression(request) }),
        APIRoute(.delete, "/v1/suppressions/{id}", .key(.write), .write { api, request throws(APIError) in try api.deleteSuppression(request) }),
        // Holds (Handlers/Holds.swift); the histories are in Handlers/History.swift
        APIRoute(.post, "/v1/holds", .key(.write), .write { api, request throws(APIError) in try api.postHold(request) }),
        APIRoute(.get, "/v1/holds", .key(.read), query: ["active", "limit", "cursor"], .read { api, request, _ throws(APIError) in
            try api.listHolds(request)
        }),
        APIRoute(.get, "/v1/holds/{id}", .key(.read), .read { api, request, _ throws(APIError) in try api.getHold(request) }),
        APIRoute(.get, "/v1/holds/{id}/history", .key(.read), query: ["limit", "cursor"], .read { api, request, _ throws(APIError) in
            try api.recordHistory(request, .hold, parameter: "id")
        }),
        APIRoute(.patch, "/v1/holds/{id}", .key(.write), .write { api, request throws(APIError) in try api.patchHold(request) }),
        APIRoute(.delete, "/v1/holds/{id}", .key(.write), .write { api, request throws(APIError) in try api.deleteHold(request) }),
        // Contacts and interactions (Handlers/Events.swift)
        APIRoute(.post, "/v1/contacts", .key(.write), .write { api, request throws(APIError) in try api.postContact(request) }),
        APIRoute(.post, "/v1/interactions", .key(.write), .write { api, request throws(APIError) in try api.postInteraction(request) }),
        // Imports (Handlers/Imports.swift)
        APIRoute(.post, "/v1/import/suppressions", .key(.write), query: ["dry_run"], body: .streamed, .stream { api, request, caller throws(APIError) in
            try api.startImport(request, .suppressions, by: caller)
        }),
        APIRoute(.post, "/v1/import/cases", .key(.write), query: ["dry_run"], body: .streamed, .stream { api, request, caller throws(APIError) in
            try api.startImport(request, .cases, by: caller)
        }),
        APIRoute(.post, "/v1/import/customers", .key(.write), query: ["dry_run"], body: .streamed, .stream { api, request, caller throws(APIError) in
            try api.startImport(request, .customers, by: caller)
        }),
        APIRoute(.get, "/v1/import/jobs", .key(.read), .read { api, request, _ in api.importJobList(request) }),
        APIRoute(.get, "/v1/import/jobs/{job_id}", .key(.read), .read { api, request, _ throws(APIError) in try api.importJob(request) }),
    ]

    /// The router for `routes`: each handler runs after its key and query were checked.
    func makeRouter() -> Router {
        var router = Router()
        for route in Self.routes {
            let maxBodyBytes: Int? = switch route.body {
            case .standard: nil
            case .batch: limits.maxBatchBodyBytes
            case .streamed: Int.max
            }
            switch route.work {
            case .read(let handler) where !tokens:
                router.add(route.method, route.path, maxBodyBytes: maxBodyBytes) { [self] request in
                    do throws(APIError) {
                        return try handler(self, request, try admit(request, route))
                    } catch { return self.error(request, error) }
                }
            case .read(let handler):
                // A replicated store: the route may have to wait for a token, and answer later.
                router.addDeferred(route.method, route.path, maxBodyBytes: maxBodyBytes) { [self] request, responder in
                    whenCurrent(request, responder) { [self] responder throws(APIError) in
                        responder.send(try handler(self, request, try admit(request, route)))
                    }
                }
            case .respond(let handler) where !tokens:
                router.addDeferred(route.method, route.path, maxBodyBytes: maxBodyBytes) { [self] request, responder in
                    do throws(APIError) {
                        try handler(self, request, try admit(request, route), responder)
                    } catch { responder.send(self.error(request, error)) }
                }
            case .respond(let handler):
                router.addDeferred(route.method, route.path, maxBodyBytes: maxBodyBytes) { [self] request, responder in
                    whenCurrent(request, responder) { [self] responder throws(APIError) in
                        try handler(self, request, try admit(request, route), responder)
                    }
                }
            case .write(let prepare):
                router.addDeferred(route.method, route.path, maxBodyBytes: maxBodyBytes) { [self] request, responder in
                    do throws(APIError) {
                        let caller = try admit(request, route)
                        try prepare(self, request).submit(self, request, caller, responder)
                    } catch { responder.send(self.error(request, error)) }
                }
            case .stream(let start):
                router.addStreaming(route.method, route.path) { [self] request in
                    do throws(APIError) {
                        return .accept(try start(self, request, try admit(request, route)))
                    } catch { return .refuse(self.error(request, error)) }
                }
            }
        }
        return router
    }

    /// Runs `work`; when it finds that this node has not reached the request's consistency
    /// token (`APIError.notCurrent`), waits up to `store.token_wait_ms` for the node to reach it
    /// and runs it again on the loop, or answers 503 `unavailable`: fail closed, never an answer
    /// from before a write the caller has seen acknowledged. The token is a decision's
    /// `min_token`, or on any route the `Hush-Consistency-Token` field a write answered, sent back.
    func whenCurrent(_ request: Request, _ responder: Responder, _ work: @escaping @Sendable (Responder) throws(APIError) -> Void) {
        do throws(APIError) {
            if let text = request.headers.first(lowercase: "hush-consistency-token") {
                guard let token = ConsistencyToken(text) else {
                    throw .invalid(ValidationError(field: Self.tokenField, message: "must be a consistency token as a write answered it (such as 0/16B3748)"))
                }
                try requireCurrent(token)
            }
            try work(responder)
        } catch {
            guard case .notCurrent(let token) = error else { return responder.send(self.error(request, error)) }
            store.whenCurrent(through: token, timeout: tokenWait) { [self] reached in
                guard reached else { return responder.send(self.error(request, .notCurrent(token))) }
                responder.resume { [self] responder in
                    do throws(APIError) { try work(responder) } catch { responder.send(self.error(request, error)) }
                }
            }
        }
    }

    /// Throws `.notCurrent` when this node has not reached `token` (nil: nothing to wait for).
    func requireCurrent(_ token: ConsistencyToken?) throws(APIError) {
        if let token, !store.isCurrent(through: token) { throw .notCurrent(token) }
    }

    /// The name of the header field that carries a write's consistency token.
    static let tokenField = "Hush-Consistency-Token"

    /// A write's answer with its consistency token, when the store gave one: in the
    /// `Hush-Consistency-Token` field, and as `consistency_token`, the first member of a JSON
    /// object body (compact or indented).
    static func carrying(_ token: ConsistencyToken?, _ response: Response) -> Response {
        guard let token else { return response }
        var response = response
        response.headers.append((tokenField, token.description))
        let body = response.body
        guard body.first == UInt8(ascii: "{") else { return response }
        let indented = body.count > 1 && body[1] == UInt8(ascii: "\n")
        let empty = body.dropFirst().first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }) == UInt8(ascii: "}")
        let member = indented ? "\n  \"consistency_token\": \"\(token)\"" : "\"consistency_token\":\"\(token)\""
        response.body = [body[0]] + Array((member + (empty ? (indented ? "\n" : "") : ",")).utf8) + body.dropFirst(empty && indented ? 2 : 1)
        return response
    }

    /// The key check and the query check of `route`; returns the caller: the key's name, or
    /// `anonymous` where no key was needed.
    func admit(_ request: Request, _ route: APIRoute) throws(APIError) -> Actor {
        var name: String?
        switch route.access {
        case .open: break
        case .key(let scope): name = try auth.check(request, needs: scope)
        case .keyIfMetricsProtected(let scope): if protectMetrics { name = try auth.check(request, needs: scope) }
        }
        let caller = name ?? Actor.anonymousName
        request.notes.principal = caller
        if let allowed = route.query { try checkQuery(request.query, allowed: allowed) }
        return Actor(name: caller, via: .api)
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
}
