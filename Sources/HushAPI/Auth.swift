import COpenSSL
import HushCore
import HushHTTP

/// API keys (API.md, "Authentication"): `Authorization: Bearer <key>`, the key's SHA-256
/// compared with every configured hash in constant time, then the route's scope.
public struct Authenticator: Sendable {
    let keys: [Config.APIKey]

    /// Without keys, everything is open: the service then refuses to start off loopback.
    var isOpen: Bool { keys.isEmpty }

    /// Returns the name of the key that may do `scope` (nil when no keys are configured), or
    /// throws `.unauthorized` or `.forbidden`.
    @discardableResult
    func check(_ request: Request, needs scope: Config.Scope) throws(APIError) -> String? {
        guard !keys.isEmpty else { return nil }
        guard let field = request.headers.first(lowercase: "authorization") else {
            throw .unauthorized("an API key is required: Authorization: Bearer <key>", challenge: #"Bearer realm="hush""#)
        }
        let utf8 = Array(field.utf8)
        // The scheme is case-insensitive (RFC 9110 §11.1); exactly one space before the token.
        guard utf8.count > 7, String(decoding: utf8[0..<7], as: UTF8.self).lowercased() == "bearer ", utf8.count - 7 <= 512 else {
            throw .unauthorized("the Authorization field must be: Bearer <key>", challenge: #"Bearer realm="hush", error="invalid_request""#)
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
            throw .unauthorized("the API key is not known", challenge: #"Bearer realm="hush", error="invalid_token""#)
        }
        guard key.scopes.contains(scope) || key.scopes.contains(.admin) else {
            throw .forbidden("the key \"\(key.name)\" lacks the \(scope.rawValue) scope")
        }
        return key.name
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
        Hex.encode(sha256(Array(key.utf8)))
    }
}
