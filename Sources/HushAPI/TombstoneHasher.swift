import COpenSSL
import HushCore
import Synchronization

/// HMAC-SHA256 (RFC 2104) of erased subjects under the erasure key, and of the decision log's
/// subjects under its key. The store keeps only these hashes and never sees the key. The
/// inner and outer SHA-256 states after the padded key are computed once; a hash then costs
/// copying them and two short SHA-256 runs, through OpenSSL's SHA-256 (EVP_MAC's dispatch cost
/// several times the hashing on every call). Not thread-safe: one per thread (each event
/// loop, the writer).
public final class TombstoneHasher {
    private let inner: SHA256_CTX, outer: SHA256_CTX

    /// Throws when `key` is shorter than 32 bytes (RFC 2104 §3: at least the output length).
    public init(key: [UInt8]) throws(ValidationError) {
        guard key.count >= 32 else {
            throw ValidationError(field: "erasure_key", message: "must be at least 32 bytes")
        }
        // A key longer than the block is hashed first (RFC 2104 §2).
        var block = key.count > 64 ? Self.sha256(key) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        let ipad = block.map { $0 ^ 0x36 }, opad = block.map { $0 ^ 0x5c }
        var inner = SHA256_CTX(), outer = SHA256_CTX()
        guard SHA256_Init(&inner) == 1, SHA256_Init(&outer) == 1,
              SHA256_Update(&inner, ipad, 64) == 1, SHA256_Update(&outer, opad, 64) == 1 else {
            throw ValidationError(field: "erasure_key", message: "OpenSSL could not set up SHA-256")
        }
        // Set once: a hash copies them without an exclusivity check.
        (self.inner, self.outer) = (inner, outer)
    }

    private static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        _ = SHA256(bytes, bytes.count, &digest)
        return digest
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
        message.withUnsafeBytes { message in
            [UInt8](unsafeUninitializedCapacity: 32) { out, count in
                mac(message, UnsafeRawBufferPointer(start: nil, count: 0), into: out.baseAddress!)
                count = 32
            }
        }
    }

    /// The first 128 bits of a subject's hash, big-endian halves, computed on the stack: for the
    /// decision log, which hashes the subject of every decision.
    public func hash128(_ subject: Subject) -> (high: UInt64, low: UInt64) {
        var digest: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digest) { raw in
            let out = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            switch subject {
            case .customer(let id): mac(prefix: "customer\u{0}", id, into: out)
            case .address(.email(let address)): mac(prefix: "email\u{0}", address, into: out)
            case .address(.phone(let address)): mac(prefix: "phone\u{0}", address, into: out)
            }
        }
        return (UInt64(bigEndian: digest.0), UInt64(bigEndian: digest.1))
    }

    /// The prefix and the text go to OpenSSL as they are, without building the joined message.
    private func hmac(prefix: StaticString, _ text: String) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            mac(prefix: prefix, text, into: out.baseAddress!)
            count = 32
        }
    }

    private func mac(prefix: StaticString, _ text: String, into out: UnsafeMutablePointer<UInt8>) {
        text.withUTF8Bytes { bytes in
            mac(UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount), UnsafeRawBufferPointer(bytes), into: out)
        }
    }

    /// HMAC-SHA256 of `first` then `second`, its 32 bytes written to `digest`.
    private func mac(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, into digest: UnsafeMutablePointer<UInt8>) {
        var context = inner
        var ok = (first.isEmpty || SHA256_Update(&context, first.baseAddress, first.count) == 1)
            && (second.isEmpty || SHA256_Update(&context, second.baseAddress, second.count) == 1)
            && SHA256_Final(digest, &context) == 1
        if ok {
            context = outer
            ok = SHA256_Update(&context, digest, 32) == 1 && SHA256_Final(digest, &context) == 1
        }
        // Without the hash no tombstone can be checked, and carrying on as if none matched
        // would let an erased customer through: stop, as for any broken invariant.
        precondition(ok, "HMAC-SHA256 failed in OpenSSL")
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
