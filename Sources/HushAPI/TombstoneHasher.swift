import COpenSSL
import HushCore
import Synchronization

/// HMAC-SHA256 of erased subjects under the erasure key, through OpenSSL's EVP_MAC. The store
/// keeps only these hashes and never sees the key. Not thread-safe: one per thread (each
/// event loop, the writer). Re-initialising with the same key reuses OpenSSL's precomputed
/// inner and outer digest states, so a hash costs two short SHA-256 runs.
public final class TombstoneHasher {
    private let mac: OpaquePointer
    private let context: OpaquePointer

    /// Throws when `key` is shorter than 32 bytes (RFC 2104 §3: at least the output length) or
    /// OpenSSL cannot set up HMAC-SHA256.
    public init(key: [UInt8]) throws(ValidationError) {
        guard key.count >= 32 else {
            throw ValidationError(field: "erasure_key", message: "must be at least 32 bytes")
        }
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else {
            throw ValidationError(field: "erasure_key", message: "OpenSSL has no HMAC")
        }
        guard let context = EVP_MAC_CTX_new(mac) else {
            EVP_MAC_free(mac)
            throw ValidationError(field: "erasure_key", message: "OpenSSL could not create an HMAC context")
        }
        self.mac = mac
        self.context = context
        let ok = "SHA256".withCString { digest in
            var params = [
                OSSL_PARAM_construct_utf8_string("digest", UnsafeMutablePointer(mutating: digest), 0),
                OSSL_PARAM_construct_end(),
            ]
            return key.withUnsafeBufferPointer { EVP_MAC_init(context, $0.baseAddress, $0.count, &params) } == 1
        }
        guard ok else { throw ValidationError(field: "erasure_key", message: "OpenSSL refused the HMAC-SHA256 key") }
    }

    deinit {
        EVP_MAC_CTX_free(context)
        EVP_MAC_free(mac)
    }

    /// The tombstone of a subject. Customer ids and the two kinds of address are kept apart by
    /// a prefix, so an id can never collide with an address of the same text.
    public func hash(_ subject: Subject) -> [UInt8] {
        switch subject {
        case .customer(let id): hmac(prefix: "customer\u{0}", id)
        case .address(.email(let address)): hmac(prefix: "email\u{0}", address)
        case .address(.phone(let address)): hmac(prefix: "phone\u{0}", address)
        }
    }

    /// HMAC-SHA256 of `message` (32 bytes).
    public func hmac(_ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { mac($0, UnsafeRawBufferPointer(start: nil, count: 0)) }
    }

    /// The prefix and the text go to OpenSSL as they are, without building the joined message.
    private func hmac(prefix: StaticString, _ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { bytes in
            mac(UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount), UnsafeRawBufferPointer(bytes))
        }
    }

    private func mac(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> [UInt8] {
        func update(_ part: UnsafeRawBufferPointer) -> Bool {
            part.isEmpty || EVP_MAC_update(context, part.baseAddress!.assumingMemoryBound(to: UInt8.self), part.count) == 1
        }
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        // A NULL key re-initialises with the key already set (EVP_MAC_init(3)).
        guard EVP_MAC_init(context, nil, 0, nil) == 1,
              update(first), update(second),
              EVP_MAC_final(context, &out, &length, out.count) == 1, length == 32 else {
            // Without the hash no tombstone can be checked, and carrying on as if none matched
            // would let an erased customer through: stop, as for any broken invariant.
            preconditionFailure("HMAC-SHA256 failed in OpenSSL")
        }
        return out
    }
}

/// A `TombstoneHasher` that any thread may call, one at a time: for the store's writer, which
/// marks the records of erased customers. Event loops keep hashers of their own.
public final class SharedTombstoneHasher: Sendable {
    private let hasher: Mutex<TombstoneHasher>

    public init(key: [UInt8]) throws(ValidationError) {
        hasher = Mutex(try TombstoneHasher(key: key))
    }

    public func hash(_ subject: Subject) -> [UInt8] {
        hasher.withLock { $0.hash(subject) }
    }
}
