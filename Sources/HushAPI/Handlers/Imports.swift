import HushCore
import HushHTTP
import HushStore

/// `POST /v1/import/suppressions` and `/v1/import/cases`: CSV or NDJSON, streamed, all or
/// nothing (`ImportSink`).
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
        return ImportSink(api: self, kind: kind, format: format, dryRun: dryRun, actor: Actor(name: caller.name, via: .import))
    }
}
