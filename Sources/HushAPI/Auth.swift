import COpenSSL
import HushHTTP

/// API keys (API.md, "Authentication"): `Authorization: Bearer <key>`, the key's SHA-256
/// compared with every configured hash in constant time, then the route's scope.
public struct Authenticator: Sendable {
    let keys: [Config.APIKey]

    /// Without keys, everything is open: the service then refuses to start off loopback.
    var isOpen: Bool { keys.isEmpty }

    enum Outcome {
        case allowed(name: String?)
        case refused(Response)
    }

    func check(_ request: Request, needs scope: Config.Scope) -> Outcome {
        guard !keys.isEmpty else { return .allowed(name: nil) }
        let challenge = [("WWW-Authenticate", #"Bearer realm="hush""#)]
        guard let field = request.headers.first(lowercase: "authorization") else {
            return .refused(.error(.unauthorized, code: "unauthorized", message: "an API key is required: Authorization: Bearer <key>",
                                   headers: challenge))
        }
        let utf8 = Array(field.utf8)
        // The scheme is case-insensitive (RFC 9110 §11.1); exactly one space before the token.
        guard utf8.count > 7, String(decoding: utf8[0..<7], as: UTF8.self).lowercased() == "bearer ", utf8.count - 7 <= 512 else {
            return .refused(.error(.unauthorized, code: "unauthorized", message: "the Authorization field must be: Bearer <key>",
                                   headers: [("WWW-Authenticate", #"Bearer realm="hush", error="invalid_request""#)]))
        }
        let digest = Self.sha256(Array(utf8[7...]))
        // Every key is compared, and every byte of each, whatever matches: the time taken says
        // nothing about which key or how much of it was right.
        var found: Config.APIKey?
        for key in keys {
            var difference: UInt8 = 0
            for i in 0..<32 { difference |= key.sha256[i] ^ digest[i] }
            if difference == 0 { found = key }
        }
        guard let key = found else {
            return .refused(.error(.unauthorized, code: "unauthorized", message: "the API key is not known",
                                   headers: [("WWW-Authenticate", #"Bearer realm="hush", error="invalid_token""#)]))
        }
        guard key.scopes.contains(scope) || key.scopes.contains(.admin) else {
            return .refused(.error(.forbidden, code: "forbidden", message: "the key \"\(key.name)\" lacks the \(scope.rawValue) scope"))
        }
        return .allowed(name: key.name)
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { output in
                _ = SHA256(input.baseAddress, input.count, output.baseAddress)
            }
        }
        return digest
    }

    /// The lower-case hex SHA-256 of a key, as `auth.keys[].sha256` wants it.
    public static func hexDigest(of key: String) -> String {
        sha256(Array(key.utf8)).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
