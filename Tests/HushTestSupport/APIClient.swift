import Foundation

/// JSON over one keep-alive connection to a running hush, for end-to-end tests; or over one
/// connection to each of several nodes, taking turns, sending back the newest consistency token
/// any write answered (`Hush-Consistency-Token`), as a client of a replicated hush would.
public final class APIClient {
    private let clients: [RawClient]
    private var turn = 0
    /// The newest token a write answered, as (number, text).
    private var token: (UInt64, String)?
    public var key: String?

    public init(port: Int, key: String? = nil) throws {
        clients = [try RawClient(port: port, timeout: 20)]
        self.key = key
    }

    public init(ports: [Int], key: String? = nil) throws {
        clients = try ports.map { try RawClient(port: $0, timeout: 20) }
        self.key = key
    }

    /// `X/Y` in hex as one number, for comparing tokens.
    static func tokenValue(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16) else { return nil }
        return high << 32 | low
    }

    public struct Answer {
        public let status: Int
        public let response: HTTPResponse
        /// The body parsed as JSON (nil when it is not).
        public let json: Any?

        public subscript(key: String) -> Any? { (json as? [String: Any])?[key] }
        public var object: [String: Any] { json as? [String: Any] ?? [:] }
        /// `reasons[].code` of a decision.
        public var codes: [String] { (object["reasons"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String } }
        public var decision: String? { object["decision"] as? String }
        public var errorField: String? { (object["error"] as? [String: Any])?["field"] as? String }
        public var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
    }

    @discardableResult
    public func call(_ method: String, _ path: String, _ body: String? = nil, contentType: String? = "application/json",
                     headers: [(String, String)] = []) throws -> Answer {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: test\r\n"
        if let key { head += "Authorization: Bearer \(key)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if clients.count > 1, let token { head += "Hush-Consistency-Token: \(token.1)\r\n" }
        let client = clients[turn % clients.count]
        turn += 1
        let bytes = Array((body ?? "").utf8)
        if body != nil {
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
            head += "Content-Length: \(bytes.count)\r\n"
        }
        try client.send(Array((head + "\r\n").utf8) + bytes)
        let response = try client.readResponse(head: method == "HEAD")
        if let text = response.header("hush-consistency-token"), let value = Self.tokenValue(text), value > token?.0 ?? 0 {
            token = (value, text)
        }
        let json = try? JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed])
        return Answer(status: response.status, response: response, json: json)
    }

    public func get(_ path: String) throws -> Answer { try call("GET", path) }
    public func post(_ path: String, _ body: String) throws -> Answer { try call("POST", path, body) }
    public func put(_ path: String, _ body: String) throws -> Answer { try call("PUT", path, body) }
}
