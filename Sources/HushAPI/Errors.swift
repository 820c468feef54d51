import HushCore
import HushHTTP
import HushStore

/// Every error code of the API (API.md, "Errors") with the status it is answered with. This is
/// the one table: no code is written anywhere else, and `API.errorResponse` renders them all.
enum ErrorCode: String, CaseIterable, Sendable {
    case malformedRequest = "malformed_request"
    case invalidField = "invalid_field"
    case unauthorized
    case forbidden
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case requestTimeout = "request_timeout"
    case conflict
    case payloadTooLarge = "payload_too_large"
    case uriTooLong = "uri_too_long"
    case unsupportedMediaType = "unsupported_media_type"
    case headerTooLarge = "header_too_large"
    case `internal`
    case notImplemented = "not_implemented"
    case unavailable
    case httpVersionNotSupported = "http_version_not_supported"

    var status: HTTPStatus {
        switch self {
        case .malformedRequest, .invalidField: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .requestTimeout: .requestTimeout
        case .conflict: .conflict
        case .payloadTooLarge: .payloadTooLarge
        case .uriTooLong: .uriTooLong
        case .unsupportedMediaType: .unsupportedMediaType
        case .headerTooLarge: .headerTooLarge
        case .internal: .internalServerError
        case .notImplemented: .notImplemented
        case .unavailable: .serviceUnavailable
        case .httpVersionNotSupported: .httpVersionNotSupported
        }
    }

    /// The code for what the HTTP engine refused itself.
    init(_ failure: HTTPFailure) {
        switch failure {
        case .noRoute: self = .notFound
        case .methodNotAllowed: self = .methodNotAllowed
        case .invalidPath: self = .malformedRequest
        case .unreadable(let error):
            switch error {
            case .malformed: self = .malformedRequest
            case .requestLineTooLong: self = .uriTooLong
            case .headerTooLarge: self = .headerTooLarge
            case .bodyTooLarge: self = .payloadTooLarge
            case .unsupportedVersion: self = .httpVersionNotSupported
            case .unsupportedTransferCoding: self = .notImplemented
            case .timeout: self = .requestTimeout
            }
        }
    }
}

/// Why a request is refused. Each case becomes one `ErrorCode` in `API.errorResponse`.
enum APIError: Error {
    case invalid(ValidationError)
    case malformed(String)
    case notFound(String)
    /// A refusal by what is stored; `current` writes the stored record, when there is one.
    case conflict(String, current: (@Sendable (inout JSONWriter) -> Void)?)
    case unsupportedMediaType(String)
    /// No key, or one that is not known; `challenge` is the `WWW-Authenticate` value.
    case unauthorized(String, challenge: String)
    /// A known key without the scope the route needs.
    case forbidden(String)
    case store(StoreError)
    /// A part of the service cannot do its work now (the decision log); try again.
    case unavailable(String)
    /// What the HTTP engine refused before any route ran.
    case http(HTTPFailure)
    /// This node has not yet applied the writes up to the request's consistency token: the route
    /// waits for it (`store.token_wait_ms`) and runs again.
    case notCurrent(ConsistencyToken)
}

extension API {
    /// An error answer: `{"error": {"code", "message", "field"?}, "current"?}`, never cached.
    /// A store's internal error is logged under a request id, which is all the client sees.
    func errorResponse(_ error: APIError, pretty: Bool) -> Response {
        let code: ErrorCode, message: String
        var field: String?
        var current: ((inout JSONWriter) -> Void)?
        var headers: [(name: String, value: String)] = []
        switch error {
        case .invalid(let e):
            (code, message) = (.invalidField, e.field.isEmpty ? e.message : "\(e.field) \(e.message)")
            field = e.field.isEmpty ? nil : e.field
        case .malformed(let m): (code, message) = (.malformedRequest, m)
        case .notFound(let m): (code, message) = (.notFound, m)
        case .unavailable(let m): (code, message) = (.unavailable, m)
        case .conflict(let m, let c): (code, message, current) = (.conflict, m, c)
        case .unsupportedMediaType(let m): (code, message) = (.unsupportedMediaType, m)
        case .unauthorized(let m, let challenge):
            (code, message) = (.unauthorized, m)
            headers = [("WWW-Authenticate", challenge)]
        case .forbidden(let m): (code, message) = (.forbidden, m)
        case .http(let failure): (code, message) = (ErrorCode(failure), failure.message)
        case .notCurrent(let token):
            (code, message) = (.unavailable, "this node has not reached consistency token \(token) within store.token_wait_ms; try again")
        case .store(let e):
            if e.kind != .conflict { metrics.storeErrors.add() }
            switch e.kind {
            case .conflict: (code, message) = (.conflict, "the write conflicts with what is stored")
            case .unavailable: (code, message) = (.unavailable, "the store cannot answer: \(e.message)")
            case .internalError:
                let id = String(UInt64.random(in: 0...UInt64.max), radix: 36)
                log("internal error \(id): \(e.message)")
                (code, message) = (.internal, "internal error; request id \(id)")
            }
        }
        var response = json(pretty: pretty, code.status) { w in
            w.objectStart()
            Self.writeError(&w, code: code, message: message, field: field)
            if let current { w.key("current"); current(&w) }
            w.objectEnd()
        }
        response.headers = headers
        return response
    }

    func error(_ request: Request, _ error: APIError) -> Response {
        errorResponse(error, pretty: Self.wantsPretty(request))
    }

    /// `"error": {"code", "message", "field"?, …more}` inside an object being written: the one
    /// shape of every error, also a batch item's and an import's.
    static func writeError(_ w: inout JSONWriter, code: ErrorCode, message: String, field: String?,
                           more: (inout JSONWriter) -> Void = { _ in }) {
        w.key("error")
        w.objectStart()
        w.key("code"); w.string(code.rawValue)
        w.key("message"); w.string(message)
        if let field { w.key("field"); w.string(field) }
        more(&w)
        w.objectEnd()
    }
}
