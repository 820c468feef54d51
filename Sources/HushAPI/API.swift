import Foundation
import HushCore
import HushHTTP
import HushLog
import HushStore
import Synchronization

/// The v1 routes of API.md over one store and one policy. Each event loop gets its own
/// read connection and tombstone hasher, made on that loop's thread the first time it needs
/// them; writes go to the store's writer and answer once committed.
final class API: Sendable {
    let store: any FactStore
    let policy: Policy
    /// `policy.longestWindow`, computed once.
    let lookback: TimeInterval
    /// What requests may make grow (`APILimits`).
    let limits: APILimits
    /// The first 12 hex digits of the SHA-256 of the policy's canonical text: which policy a
    /// decision was made under, in every answer (and later in the decision log).
    let policyVersion: String
    /// `policyVersion` as a JSON string, quotes and all, written once: every log line copies it.
    let policyVersionJSON: [UInt8]
    /// `GET /openapi.json`, made once: the document with this policy's channels and purposes.
    let openAPIResponse: Response
    let auth: Authenticator
    let erasureKey: [UInt8]
    /// Where every decision is recorded (`DecisionRecords.swift`).
    let decisionLog: DecisionLog
    /// The key of the decision log's subject hashes (`API.decisionLogKey`).
    let logKey: [UInt8]
    /// The writer thread's hasher (reserve decides inside the writer's transaction).
    let writerHasher: SharedTombstoneHasher
    /// The writer thread's hasher of the decision log's subjects (for erasures).
    let writerLogHasher: SharedTombstoneHasher
    let protectMetrics: Bool
    /// How long a request with a consistency token waits for this node to reach it (seconds).
    let tokenWait: Double
    /// Whether the store's writes answer consistency tokens that reads may wait for (a replicated
    /// store): only then do routes look for one; the embedded store's routes are as they were.
    let tokens: Bool
    let metrics: Metrics
    /// Where problems no client sees are reported (the server's log).
    let log: @Sendable (String) -> Void
    /// The server, once it runs (`/metrics` reads its connection count).
    var server: Server? {
        get { serverBox.withLock { $0 } }
        set { serverBox.withLock { $0 = newValue } }
    }
    private let serverBox = Mutex<Server?>(nil)
    /// hush's own log, once the service made it (`/metrics` reads its drops).
    var serviceLog: ServiceLog? {
        get { serviceLogBox.withLock { $0 } }
        set { serviceLogBox.withLock { $0 = newValue } }
    }
    private let serviceLogBox = Mutex<ServiceLog?>(nil)
    /// The database file, for its size in `/metrics`.
    let databasePath: String
    /// Running and recent imports (`GET /v1/import/jobs`).
    let importJobs = ImportJobs()
    /// Set once shutdown begins, so that `/readyz` sends load balancers elsewhere.
    var isDraining: Bool {
        get { draining.load(ordering: .relaxed) }
        set { draining.store(newValue, ordering: .relaxed) }
    }
    private let draining = Atomic<Bool>(false)
    private let loops: [LoopSlot]

    /// A short hash of the effective policy, in every answer and logged decision.
    static func policyVersion(_ policy: Policy) -> String {
        String(Hex.encode(Authenticator.sha256(Array(policy.canonicalText.utf8))).prefix(12))
    }

    init(store: any FactStore, config: Config, erasureKey: [UInt8], writerHasher: SharedTombstoneHasher, loops: Int,
         decisionLog: DecisionLog, log: @escaping @Sendable (String) -> Void = ServerOptions().log) throws(ValidationError) {
        self.log = log
        self.decisionLog = decisionLog
        databasePath = config.server.database
        logKey = try Self.decisionLogKey(erasureKey: erasureKey)
        writerLogHasher = try SharedTombstoneHasher(key: logKey)
        self.writerHasher = writerHasher
        self.store = store
        policy = config.policy
        lookback = config.policy.longestWindow
        limits = config.limits.api
        policyVersion = Self.policyVersion(config.policy)
        var versionJSON = JSONWriter(capacity: 32)
        versionJSON.string(policyVersion)
        policyVersionJSON = versionJSON.bytes
        openAPIResponse = Self.openAPIResponse(policy: config.policy)
        auth = Authenticator(keys: config.auth.keys)
        protectMetrics = config.auth.protectMetrics
        tokenWait = Double(config.store.tokenWaitMilliseconds) / 1000
        tokens = store.replicaReport != nil
        self.erasureKey = erasureKey
        self.loops = (0..<max(1, loops)).map { _ in LoopSlot() }
        metrics = Metrics(loops: max(1, loops))
    }

    /// State owned by one event loop: touched only on that loop's thread.
    final class LoopContext {
        /// Which loop this is (its buffer in the decision log).
        let index: Int
        let reader: any StoreReader
        let hasher: TombstoneHasher
        /// HMAC-SHA256 under the decision log's key, for the subjects of logged decisions.
        let logHasher: TombstoneHasher
        let logLine = LogLineBuffer()
        /// The last subject hashed for the log, and its hash. Like everything a loop owns, used
        /// on its thread only: no per-access exclusivity check.
        @exclusivity(unchecked) var lastLogSubject: Subject?
        @exclusivity(unchecked) var lastLogHash: (high: UInt64, low: UInt64) = (0, 0)
        @exclusivity(unchecked) var ids = DecisionIDSource()
        /// The store's holds as this loop last read them, in an array of its own (a shared one
        /// would have every decision on every core count references on the same memory), and
        /// the generation they were read at.
        @exclusivity(unchecked) private var holds: [Hold] = []
        @exclusivity(unchecked) private var holdsGeneration = UInt64.max
        /// Time zones' offsets, remembered for this loop's decisions.
        let zoneOffsets = ZoneOffsets()

        /// The store's current holds: read again only when they changed.
        func holds(of store: any FactStore) -> [Hold] {
            let generation = store.holdsGeneration
            if generation != holdsGeneration {
                holds = store.holds.map { $0 }
                holdsGeneration = generation
            }
            return holds
        }

        init(index: Int, reader: any StoreReader, hasher: TombstoneHasher, logHasher: TombstoneHasher) {
            self.index = index
            self.reader = reader
            self.hasher = hasher
            self.logHasher = logHasher
        }
    }

    private final class LoopSlot: @unchecked Sendable {
        var context: LoopContext?
    }

    /// The calling loop's context. Only ever called on loop `index`'s own thread.
    func context(_ index: Int) throws(StoreError) -> LoopContext {
        let slot = loops[index % loops.count]
        if let context = slot.context { return context }
        let hasher: TombstoneHasher, logHasher: TombstoneHasher
        do {
            hasher = try TombstoneHasher(key: erasureKey)
            logHasher = try TombstoneHasher(key: logKey)
        } catch {
            throw StoreError(kind: .internalError, message: "the erasure key cannot be used: \(error.message)")
        }
        let context = LoopContext(index: index % loops.count, reader: try store.makeReader(), hasher: hasher, logHasher: logHasher)
        slot.context = context
        return context
    }

    /// The context of the loop that read `request`, as an API error when it cannot be made.
    func context(for request: Request) throws(APIError) -> LoopContext {
        do throws(StoreError) { return try context(request.loop) } catch { throw .store(error) }
    }

    /// Ends loop `index`'s read snapshot (the server calls this after every turn).
    func turnEnded(_ index: Int) {
        loops[index % loops.count].context?.reader.endSnapshot()
    }

    /// The next decision id of the calling loop, made at `time` (`DecisionID`).
    func decisionID(_ context: LoopContext, at time: Date) -> DecisionID {
        context.ids.next(at: time)
    }
}

extension API {

    static let jsonFields: StaticString = "\r\nContent-Type: application/json\r\nCache-Control: no-store"

    /// A JSON answer with `Cache-Control: no-store`, indented when the request asked `?pretty`.
    func json(_ request: Request, _ status: HTTPStatus = .ok, _ write: (inout JSONWriter) -> Void) -> Response {
        json(pretty: Self.wantsPretty(request), status, write)
    }

    func json(pretty: Bool, _ status: HTTPStatus = .ok, _ write: (inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter()
        write(&writer)
        return Response(status: status, fixedFields: Self.jsonFields, body: pretty ? JSONPretty.format(writer.bytes) : writer.bytes)
    }

    /// `json(…)` sent through `responder`: when the handler answers before it returns, the
    /// body goes from the writer straight into the connection's output.
    func sendJSON(_ request: Request, _ responder: Responder, _ status: HTTPStatus = .ok, _ write: (inout JSONWriter) -> Void) {
        var writer = JSONWriter()
        write(&writer)
        send(writer, request, responder, status)
    }

    /// What `writer` holds, sent through `responder` (pretty when the request asks).
    func send(_ writer: borrowing JSONWriter, _ request: Request, _ responder: Responder, _ status: HTTPStatus) {
        if Self.wantsPretty(request) {
            return responder.send(Response(status: status, fixedFields: Self.jsonFields, body: JSONPretty.format(writer.bytes)))
        }
        writer.withBytes { responder.send(status, fixedFields: Self.jsonFields, body: $0) }
    }

    /// `?pretty`, `?pretty=true`; not `?pretty=false`.
    static func wantsPretty(_ request: Request) -> Bool {
        !request.query.isEmpty && request.query.items.contains(where: { $0.name == "pretty" && $0.value != "false" })
    }

    /// Parses the body as JSON (any `Content-Type` that is JSON; a missing one is taken as JSON).
    func body(_ request: Request) throws(APIError) -> JSONValue {
        if !Self.hasJSONBody(request) {
            let media = Self.mediaType(request.headers.first(lowercase: "content-type") ?? "")
            throw .unsupportedMediaType("the body must be application/json, not \(Validate.excerpt(media)) (with curl: -H 'Content-Type: application/json')")
        }
        do { return try JSONParser.parse(request.body) } catch {
            throw .malformed("the body is not valid JSON: \(error.description)")
        }
    }

    /// The media type of a Content-Type value, lower-cased, without parameters.
    static func mediaType(_ value: String) -> String {
        value.withUTF8Bytes { bytes in
            String(decoding: bytes[mediaRange(bytes)].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
        }
    }

    /// `application/json` or any `+json` type, with any parameters: compared as bytes, since
    /// it is checked on every request with a body.
    static func isJSON(_ value: String) -> Bool {
        value.withUTF8Bytes { isJSON($0) }
    }

    static func isJSON(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let range = mediaRange(bytes)
        func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }
        func endsWith(_ suffix: StaticString) -> Bool {
            let n = suffix.utf8CodeUnitCount
            guard range.count >= n else { return false }
            // Sent in lower case, as most clients do, it costs one memcmp; else byte by byte.
            if memcmp(bytes.baseAddress! + range.upperBound - n, suffix.utf8Start, n) == 0 { return true }
            for i in 0..<n where lower(bytes[range.upperBound - n + i]) != suffix.utf8Start[i] { return false }
            return true
        }
        if range.count == 16 && endsWith("application/json") { return true }
        // type "/" subtype "+json", both names non-empty (RFC 6839 §3.1).
        guard endsWith("+json"), let slash = bytes[range].firstIndex(of: UInt8(ascii: "/")) else { return false }
        return slash > range.lowerBound && slash + 1 < range.upperBound - 5
    }

    /// Whether the request's Content-Type, if it has one, is JSON; read from the header's bytes.
    static func hasJSONBody(_ request: Request) -> Bool {
        request.headers.withFirstValue(lowercase: "content-type") { value in value.map(isJSON) ?? true }
    }

    /// Where the media type stands in a Content-Type value: before any `;`, without the
    /// spaces and tabs around it.
    private static func mediaRange(_ bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
        var start = 0
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return start..<end
    }
}
