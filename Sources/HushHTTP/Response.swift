/// An answer: status, header fields and body. The server adds `Date`, `Content-Length` and,
/// where needed, `Connection`; a handler must not set those three.
public struct Response: Sendable {
    public var status: HTTPStatus
    /// The `Content-Type` field, if any.
    public var contentType: String?
    /// Other header fields, in order.
    public var headers: [(name: String, value: String)]
    /// Fields known when the program was built, written as they are before `contentType` and
    /// `headers`: `"\r\nContent-Type: application/json\r\nCache-Control: no-store"`. Each
    /// must start with CRLF. Spares the checks a handler-supplied field needs.
    public var fixedFields: StaticString?
    public var body: [UInt8]

    public init(status: HTTPStatus, contentType: String? = nil, headers: [(name: String, value: String)] = [], fixedFields: StaticString? = nil,
                body: [UInt8] = []) {
        self.fixedFields = fixedFields
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }
}
