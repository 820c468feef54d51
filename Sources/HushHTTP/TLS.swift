import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// Certificate and key files for serving HTTPS.
public struct TLSOptions: Sendable, Equatable {
    public var certificatePath: String
    public var privateKeyPath: String

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

/// Why TLS could not be set up, with OpenSSL's own words.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// An OpenSSL server context: TLS 1.2 or later, the certificate chain and key loaded and checked
/// against each other at start, so a bad file stops the server before it binds.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer

    init(_ options: TLSOptions) throws(TLSError) {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError(description: "SSL_CTX_new: \(Self.lastError())") }
        self.context = context
        // TLS 1.0 and 1.1 are deprecated (RFC 8996).
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        // Our output buffer moves when it is compacted, and a short write is fine.
        _ = SSL_CTX_ctrl(context, SSL_CTRL_MODE, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), nil)
        guard SSL_CTX_use_certificate_chain_file(context, options.certificatePath) == 1 else {
            throw TLSError(description: "cannot load TLS certificate \(options.certificatePath): \(Self.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, options.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError(description: "cannot load TLS key \(options.privateKeyPath): \(Self.lastError())")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError(description: "TLS key \(options.privateKeyPath) does not match the certificate: \(Self.lastError())")
        }
    }

    deinit { SSL_CTX_free(context) }

    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        ERR_clear_error()
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The result of one read or write on a connection's transport.
enum IOResult {
    case bytes(Int)
    /// Nothing now; `needsWritable` when TLS must write before it can go on.
    case wouldBlock(needsWritable: Bool)
    case eof
    case failed
}

/// One connection's TLS session, driven by the event loop: the handshake happens inside the
/// first reads and writes.
final class TLSSession {
    let ssl: OpaquePointer

    init?(context: TLSContext, fd: Int32) {
        guard let ssl = SSL_new(context.context) else { return nil }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
    }

    deinit { SSL_free(ssl) }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        ERR_clear_error()
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { return .bytes(Int(n)) }
        return outcome(n)
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> IOResult {
        ERR_clear_error()
        let n = SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
        if n > 0 { return .bytes(Int(n)) }
        return outcome(n)
    }

    /// OpenSSL holds bytes (decrypted or not yet) that epoll cannot see.
    var hasBufferedInput: Bool { SSL_has_pending(ssl) == 1 }

    /// Sends close_notify; best effort, the socket closes right after.
    func shutdown() { _ = SSL_shutdown(ssl) }

    private func outcome(_ n: Int32) -> IOResult {
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ: return .wouldBlock(needsWritable: false)
        case SSL_ERROR_WANT_WRITE: return .wouldBlock(needsWritable: true)
        case SSL_ERROR_ZERO_RETURN: return .eof
        default:
            ERR_clear_error()
            return .failed
        }
    }
}
