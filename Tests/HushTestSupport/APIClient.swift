import Foundation

/// JSON over one keep-alive connection to a running hush, for end-to-end tests.
public final class APIClient {
    private let client: RawClient
    public var key: String?

    public init(port: Int, key: String? = nil) throws {
        client = try RawClient(port: port, timeout: 20)
        self.key = key
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
        let bytes = Array((body ?? "").utf8)
        if body != nil {
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
            head += "Content-Length: \(bytes.count)\r\n"
        }
        try client.send(Array((head + "\r\n").utf8) + bytes)
        let response = try client.readResponse(head: method == "HEAD")
        let json = try? JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed])
        return Answer(status: response.status, response: response, json: json)
    }

    public func get(_ path: String) throws -> Answer { try call("GET", path) }
    public func post(_ path: String, _ body: String) throws -> Answer { try call("POST", path, body) }
    public func put(_ path: String, _ body: String) throws -> Answer { try call("PUT", path, body) }
}
