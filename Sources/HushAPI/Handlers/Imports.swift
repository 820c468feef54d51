import Foundation
import HushCore
import HushHTTP
import HushStore

/// `POST /v1/import/suppressions`, `/cases` and `/customers`: CSV or NDJSON, streamed, all or
/// nothing (`ImportSink`); and the imports as jobs, `GET /v1/import/jobs[/{job_id}]`.
extension API {
    func startImport(_ request: Request, _ kind: ImportSink.Kind, by caller: Actor) throws(APIError) -> BodySink {
        let dryRun = try validating { () throws(ValidationError) -> Bool in
            guard let value = request.query.first("dry_run") else { return false }
            guard value == "true" || value == "false" || value.isEmpty else {
                throw ValidationError(field: "dry_run", message: "must be true or false")
            }
            return value != "false"
        }
        let media = API.mediaType(request.headers.first(lowercase: "content-type") ?? "")
        let format: RecordSplitter.Format
        switch media {
        case "text/csv": format = .csv
        case "application/x-ndjson", "application/ndjson", "application/jsonl": format = .ndjson
        default:
            throw .unsupportedMediaType("an import must be text/csv or application/x-ndjson, not \(media.isEmpty ? "unlabelled" : Validate.excerpt(media))")
        }
        return ImportSink(api: self, kind: kind, format: format, dryRun: dryRun, actor: Actor(name: caller.name, via: .import),
                          respondAsync: Self.prefersAsync(request))
    }

    /// RFC 7240: a `Prefer` header (one or several, each a comma-separated list) that names
    /// `respond-async`, in any case, with or without parameters.
    static func prefersAsync(_ request: Request) -> Bool {
        request.headers.values("Prefer").contains { value in
            value.split(separator: ",").contains { preference in
                preference.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == "respond-async"
            }
        }
    }

    /// `GET /v1/import/jobs`: running imports and the recent finished ones, newest first.
    func importJobList(_ request: Request) -> Response {
        let jobs = importJobs.all()
        return json(request) { w in
            w.objectStart()
            w.key("items")
            w.arrayStart()
            for job in jobs { job.write(&w) }
            w.arrayEnd()
            w.objectEnd()
        }
    }

    /// `GET /v1/import/jobs/{job_id}`.
    func importJob(_ request: Request) throws(APIError) -> Response {
        let id = try parameter(request, "job_id")
        guard let job = importJobs.job(id) else {
            throw .notFound("no import job \(id): jobs are kept while they run and for a day after (the last \(ImportJobs.keptFinished)), on the node that ran them")
        }
        return json(request) { job.write(&$0) }
    }
}
