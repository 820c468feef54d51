import Foundation
import HushCore
import HushHTTP
import HushLog
import HushStore
#if canImport(Glibc)
import Glibc
#endif

/// `/healthz`, `/readyz`, `/metrics` and `/openapi.json`: for load balancers, Prometheus and tools.
extension API {
    func health(_ request: Request) -> Response {
        statusResponse(request, .ok, #"{"status":"ok"}"#)
    }

    /// 503 while draining (so that load balancers send traffic elsewhere), when the database
    /// cannot be read on this loop, when the decision log's sink cannot write, or when this
    /// node's image of a replicated store is further behind than allowed.
    func readiness(_ request: Request) -> Response {
        if isDraining { return statusResponse(request, .serviceUnavailable, #"{"status":"unavailable","failing":"draining"}"#) }
        if let failure = decisionLog.failure { return unready(request, failing: "decision_log", reason: failure) }
        if let stale = store.staleness(now: Date()) { return unready(request, failing: "replica", reason: stale) }
        do {
            let context = try self.context(request.loop)
            try context.reader.checkReadable()
            return statusResponse(request, .ok, #"{"status":"ok"}"#)
        } catch {
            return statusResponse(request, .serviceUnavailable, #"{"status":"unavailable","failing":"database"}"#)
        }
    }

    /// `{"status": "unavailable", "failing": …, "reason": …}` with 503.
    private func unready(_ request: Request, failing: String, reason: String) -> Response {
        json(request, .serviceUnavailable) { w in
            w.objectStart()
            w.key("status"); w.string("unavailable")
            w.key("failing"); w.string(failing)
            w.key("reason"); w.string(reason)
            w.objectEnd()
        }
    }

    /// Prometheus text: answers by route and status, durations, decisions, connections, the writer's queue.
    func metricsText() -> Response {
        func size(_ path: String) -> Int {
            var info = stat()
            return stat(path, &info) == 0 ? Int(info.st_size) : 0
        }
        let gauges = ProcessGauges(databaseBytes: size(databasePath), walBytes: size(databasePath + "-wal"),
                                   logLinesDropped: serviceLog?.dropped ?? 0, pruned: store.pruned, writer: store.writerReport,
                                   replica: store.replicaReport)
        let text = metrics.render(openConnections: server?.openConnections ?? 0, writerQueueDepth: store.writerQueueDepth, log: decisionLog.stats,
                                  process: gauges)
        return Response(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", headers: [("Cache-Control", "no-store")],
                        body: Array(text.utf8))
    }

    /// The OpenAPI document, with this server's channels and purposes (`OpenAPIDocument.served`).
    static func openAPIResponse(policy: Policy) -> Response {
        let text = OpenAPIDocument.served(channels: policy.channels.map(\.rawValue), purposes: policy.purposes.map(\.rawValue),
                                          interactionTypes: policy.interactionScores.keys.sorted())
        return Response(status: .ok, contentType: "application/json", body: Array(text.utf8))
    }

    /// A fixed JSON answer, indented on `?pretty` like every other.
    private func statusResponse(_ request: Request, _ status: HTTPStatus, _ body: String) -> Response {
        let bytes = Array(body.utf8)
        return Response(status: status, fixedFields: API.jsonFields, body: API.wantsPretty(request) ? JSONPretty.format(bytes) : bytes)
    }
}
