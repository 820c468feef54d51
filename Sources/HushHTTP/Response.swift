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

    /// A JSON answer (`Content-Type: application/json`).
    public static func json(_ status: HTTPStatus, _ body: String, headers: [(name: String, value: String)] = []) -> Response {
        Response(status: status, contentType: "application/json", headers: headers, body: Array(body.utf8))
    }

    /// An error in the shape of API.md: `{"error":{"code":…,"message":…,"field":…}}`, never
    /// to be cached (`Cache-Control: no-store`).
    public static func error(_ status: HTTPStatus, code: String, message: String, field: String? = nil, headers: [(name: String, value: String)] = []) -> Response {
        var json = #"{"error":{"code":"# + JSONText.quoted(code) + #","message":"# + JSONText.quoted(message)
        if let field { json += #","field":"# + JSONText.quoted(field) }
        json += "}}"
        var response = Response.json(status, json, headers: headers)
        if !headers.contains(where: { $0.name.lowercased() == "cache-control" }) { response.headers.append(("Cache-Control", "no-store")) }
        return response
    }

    /// The error answer for a request that could not be read.
    public static func error(_ parseError: HTTPParseError) -> Response {
        .error(parseError.status, code: parseError.code, message: parseError.message)
    }
}

/// Minimal JSON text helpers for the engine's own bodies.
public enum JSONText {
    /// `text` as a JSON string literal, quotes included (RFC 8259 §7).
    public static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }
}
