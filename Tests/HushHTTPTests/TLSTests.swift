import COpenSSL
import Foundation
import Testing
import HushHTTP
import HushTestSupport

/// A self-signed certificate and key made with the openssl command for one test.
func makeCertificate() throws -> TLSOptions {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let cert = directory.appendingPathComponent("cert.pem").path, key = directory.appendingPathComponent("key.pem").path
    let openssl = try Command.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                              "-days", "1", "-subj", "/CN=localhost"])
    guard openssl.status == 0 else { throw ClientError("openssl req failed: \(openssl.err)") }
    return TLSOptions(certificatePath: cert, privateKeyPath: key)
}

/// A blocking TLS client over a connected RawClient's socket (certificate not verified: self-signed).
final class TLSClient {
    let raw: RawClient
    let context: OpaquePointer
    let ssl: OpaquePointer

    init(port: Int) throws {
        raw = try RawClient(port: port)
        context = SSL_CTX_new(TLS_client_method())!
        ssl = SSL_new(context)!
        SSL_set_fd(ssl, raw.fd)
        guard SSL_connect(ssl) == 1 else { throw ClientError("TLS handshake failed") }
    }

    deinit { SSL_free(ssl); SSL_CTX_free(context) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
    }

    func readResponse() throws -> HTTPResponse {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            if let (response, _) = HTTPResponse.parse(all) { return response }
            let n = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            guard n > 0 else { throw ClientError("TLS read ended") }
            all += buffer[0..<Int(n)]
        }
    }
}

@Suite struct TLSTests {
    @Test func https_ServesKeepAliveRequests() throws {
        let server = try makeTestServer(tls: try makeCertificate())
        defer { server.shutdown() }
        let client = try TLSClient(port: server.port)
        client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().bodyText == #"{"status":"ok"}"#)
        client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        #expect(try client.readResponse().bodyText == "abc")
    }

    @Test func https_ReceivesALargeBodyWhole() throws {
        let server = try makeTestServer(tls: try makeCertificate())
        defer { server.shutdown() }
        let client = try TLSClient(port: server.port)
        let body = String(repeating: "0123456789abcdef", count: 60_000) // 960,000 bytes, under the 1 MiB limit
        client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.body.count == body.utf8.count)
    }

    @Test func https_RefusesPlainHTTPWithoutCrashing() throws {
        let server = try makeTestServer(tls: try makeCertificate())
        defer { server.shutdown() }
        let plain = try RawClient(port: server.port)
        try plain.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try? plain.readToEnd()
        let client = try TLSClient(port: server.port)
        client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().bodyText == "a")
    }

    @Test func missingCertificate_FailsAtStartWithItsPath() throws {
        let options = TLSOptions(certificatePath: "/nonexistent/cert.pem", privateKeyPath: "/nonexistent/key.pem")
        #expect { try makeTestServer(tls: options) } throws: { error in
            "\(error)".contains("/nonexistent/cert.pem")
        }
    }
}
