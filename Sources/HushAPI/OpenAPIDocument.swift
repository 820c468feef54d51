/// The OpenAPI 3.1 description of the whole HTTP API, served at `GET /openapi.json`. The
/// document itself is `Resources/openapi.json`, embedded in the binary: edit it there. Its
/// `info.version` is written `@HUSH_VERSION@` and filled in here from `Hush.version`, so the
/// binary and the document cannot disagree. A test fails when a route exists that it lacks, or
/// the reverse, and schemathesis (`.ci/run`) checks the running server against it.
enum OpenAPIDocument {
    static let json: String = String(decoding: PackageResources.openapi_json, as: UTF8.self)
        .replacingOccurrences(of: "\"@HUSH_VERSION@\"", with: "\"\(Hush.version)\"")

    /// The document a server serves: each schema marked `"x-hush-vocabulary": "channel"` (or
    /// `"purpose"`, or `"interaction_type"`: the types the policy scores) also lists the names its
    /// policy configures as the schema's `enum`, so that a client generated from it, or a tool
    /// checking requests against it, knows the values this server accepts and not only their shape.
    static func served(channels: [String], purposes: [String], interactionTypes: [String]) -> String {
        func names(_ list: [String]) -> String {
            var w = JSONWriter(capacity: 256)
            w.arrayStart()
            for name in list { w.string(name) }
            w.arrayEnd()
            return String(decoding: w.bytes, as: UTF8.self)
        }
        return json
            .replacingOccurrences(of: "\"x-hush-vocabulary\": \"channel\"",
                                  with: "\"x-hush-vocabulary\": \"channel\", \"enum\": \(names(channels))")
            .replacingOccurrences(of: "\"x-hush-vocabulary\": \"purpose\"",
                                  with: "\"x-hush-vocabulary\": \"purpose\", \"enum\": \(names(purposes))")
            // No scored types: no type spares an interaction its score (an empty enum is not
            // allowed, a schema that nothing matches is).
            .replacingOccurrences(of: "\"x-hush-vocabulary\": \"interaction_type\"",
                                  with: "\"x-hush-vocabulary\": \"interaction_type\", "
                                      + (interactionTypes.isEmpty ? "\"not\": {}" : "\"enum\": \(names(interactionTypes))"))
    }
}
