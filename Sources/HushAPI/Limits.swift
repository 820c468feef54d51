import HushHTTP

/// The API's own limits (API.md, "Limits"): everything a request can make grow is bounded
/// here. Each default is written once, here; each can be set under `limits` in the
/// configuration (`Limits.keys`).
public struct APILimits: Equatable, Sendable {
    /// Most decision requests in one batch; more is 400 naming `requests`.
    public var maxBatchRequests = 10_000
    /// Largest body of a batch (the other routes take `limits.max_body_bytes`); more is 413.
    public var maxBatchBodyBytes = 16 * 1024 * 1024
    /// Most categories in one decision request (`categories`, or `category` repeated).
    public var maxCategories = 100
    /// Most holds that may exist at once: every decision checks them all, in memory. Past it a
    /// new hold is 409 until ended ones are deleted.
    public var maxHolds = 1000
    /// Longest line of an import (a CSV record or an NDJSON line); a longer one is a bad line.
    public var maxImportLineBytes = 64 * 1024
    /// Most rows in one import; more is 400 (split the file). The rows are staged on disk, not
    /// held in memory: this bounds the disk an import takes beside the database (about 100
    /// bytes a row) and the length of its one transaction.
    public var maxImportRows = 50_000_000
    /// Items in a page of a listing when `limit` is not given.
    public var defaultPageSize = 100
    /// Most items a listing's `limit` may ask for.
    public var maxPageSize = 1000

    public init() {}
}

/// Every limit of the service: the HTTP engine's and the API's, as the configuration's
/// `limits` object sets them.
public struct Limits: Equatable, Sendable {
    public var http = HTTPLimits()
    public var api = APILimits()

    public init() {}

    /// One key of `limits` in the configuration: where its value goes and what it may be.
    struct Key: Sendable {
        let name: String
        let range: ClosedRange<Int>
        let get: @Sendable (Limits) -> Int
        let set: @Sendable (inout Limits, Int) -> Void

        init(_ name: String, _ path: WritableKeyPath<Limits, Int> & Sendable, _ range: ClosedRange<Int>) {
            self.name = name
            self.range = range
            get = { $0[keyPath: path] }
            set = { $0[keyPath: path] = $1 }
        }

        /// A time limit, configured in milliseconds.
        init(milliseconds name: String, _ path: WritableKeyPath<Limits, Duration> & Sendable, _ range: ClosedRange<Int>) {
            self.name = name
            self.range = range
            get = { Int($0[keyPath: path] / .milliseconds(1)) }
            set = { $0[keyPath: path] = .milliseconds($1) }
        }
    }

    /// The configurable limits, in the order the README lists them.
    static let keys: [Key] = [
        Key("max_request_line_bytes", \.http.maxRequestLineBytes, 256...1_048_576),
        Key("max_header_bytes", \.http.maxHeaderBytes, 256...1_048_576),
        Key("max_header_count", \.http.maxHeaderCount, 1...10_000),
        Key("max_body_bytes", \.http.maxBodyBytes, 0...(1 << 40)),
        Key(milliseconds: "header_timeout_ms", \.http.headerTimeout, 1...86_400_000),
        Key(milliseconds: "body_timeout_ms", \.http.bodyTimeout, 1...86_400_000),
        Key(milliseconds: "idle_timeout_ms", \.http.idleTimeout, 1...86_400_000),
        Key(milliseconds: "write_timeout_ms", \.http.writeTimeout, 1...86_400_000),
        Key("max_connections", \.http.maxConnections, 1...1_000_000),
        Key("max_batch_requests", \.api.maxBatchRequests, 1...1_000_000),
        Key("max_batch_body_bytes", \.api.maxBatchBodyBytes, 1024...(1 << 40)),
        Key("max_categories", \.api.maxCategories, 1...10_000),
        Key("max_holds", \.api.maxHolds, 1...100_000),
        Key("max_import_line_bytes", \.api.maxImportLineBytes, 1024...(64 << 20)),
        Key("max_import_rows", \.api.maxImportRows, 1...1_000_000_000),
        Key("default_page_size", \.api.defaultPageSize, 1...100_000),
        Key("max_page_size", \.api.maxPageSize, 1...100_000),
    ]
}
