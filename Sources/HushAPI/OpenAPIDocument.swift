/// The OpenAPI 3.1 description of the whole HTTP API, served at `GET /openapi.json`. The
/// document itself is `Resources/openapi.json`, embedded in the binary: edit it there. Its
/// `info.version` is written `@HUSH_VERSION@` and filled in here from `Hush.version`, so the
/// binary and the document cannot disagree. A test fails when a route exists that it lacks, or
/// the reverse, and schemathesis (`.ci/run`) checks the running server against it.
enum OpenAPIDocument {
    static let json: String = String(decoding: PackageResources.openapi_json, as: UTF8.self)
        .replacingOccurrences(of: "\"@HUSH_VERSION@\"", with: "\"\(Hush.version)\"")
}
