import Foundation
import Testing
import HushTestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite struct BinaryTests {
    @Test func readyLine_NamesTheBoundPort_AndHealthzAnswers() throws {
        let hush = try HushProcess()
        #expect(hush.readyLine == "listening on http://127.0.0.1:\(hush.port)")
        let client = try RawClient(port: hush.port)
        try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.bodyText == #"{"status":"ok"}"#)
        #expect(response.header("Cache-Control") == "no-store")
        try client.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try client.readResponse(head: true)
        #expect(head.status == 200 && head.header("Content-Length") == "15")
        #expect(hush.stop() == 0)
    }

    @Test func sigterm_TurnsReadyzTo503_KeepsServingThroughTheGrace_ThenDrains_AndExitsZero() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-grace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("hush.json")
        try Data(#"{"server": {"drain_grace_ms": 2000}}"#.utf8).write(to: config)
        let hush = try HushProcess(["--config", config.path], directory: directory)
        let client = try RawClient(port: hush.port)
        func get(_ client: RawClient, _ path: String) throws -> Int {
            try client.send("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
            return try client.readResponse().status
        }
        #expect(try get(client, "/readyz") == 200)
        kill(hush.process.processIdentifier, SIGTERM)
        #expect(waitUntil(seconds: 1) { (try? get(client, "/readyz")) == 503 })
        // Still serving, on the open connection and on new ones, health and decisions alike.
        #expect(try get(client, "/healthz") == 200)
        let fresh = try RawClient(port: hush.port)
        #expect(try get(fresh, "/v1/decisions?customer_id=C1&channel=email") == 200)
        #expect(hush.process.isRunning)
        // Then, with no other signal, it stops accepting, closes the idle connections, and exits 0.
        #expect(waitUntil(seconds: 15) { !hush.process.isRunning })
        #expect(!hush.process.isRunning && hush.process.terminationStatus == 0)
        #expect(client.isClosedByPeer())
        #expect((try? RawClient(port: hush.port)) == nil)
    }

    @Test func aSecondSigterm_EndsTheGrace() throws {
        let hush = try HushProcess()
        let client = try RawClient(port: hush.port)
        kill(hush.process.processIdentifier, SIGTERM)
        #expect(waitUntil(seconds: 2) {
            (try? client.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")) != nil && (try? client.readResponse().status) == 503
        })
        // The default grace is 5 s; the second signal ends it well before.
        #expect(hush.stop(signal: SIGTERM, seconds: 4) == 0)
    }

    @Test func sigint_DrainsAnInFlightKeepAliveConnection_AtOnce_AndExitsZero() throws {
        let hush = try HushProcess()
        let client = try RawClient(port: hush.port)
        try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        #expect(hush.stop(signal: SIGINT, seconds: 4) == 0)
        #expect(client.isClosedByPeer())
        #expect((try? RawClient(port: hush.port)) == nil)
    }

    @Test func environmentThenFlags_OverrideTheConfigFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("hush.json")
        try Data(#"{"server": {"port": 1, "host": "127.0.0.1"}}"#.utf8).write(to: config)
        // The file says port 1 (would fail: privileged), the environment says 0, so it binds.
        let hush = try HushProcess(["--config", config.path], environment: ["HUSH_PORT": "0"], addDefaults: false, directory: directory)
        #expect(hush.port > 1)
        #expect(hush.stop() == 0)
        // A flag beats the environment: HUSH_PORT is not a number, --port is.
        let flagged = try HushProcess(["--config", config.path, "--port", "0"], environment: ["HUSH_HOST": "127.0.0.1"], addDefaults: false, directory: directory)
        #expect(flagged.readyLine.hasPrefix("listening on http://127.0.0.1:"))
        #expect(flagged.stop() == 0)
    }

    @Test func noConfigFile_UsesTheBuiltInDefault_AndCreatesTheDatabase() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-nocfg-\(UUID().uuidString)")
        let hush = try HushProcess(["--port", "0"], addDefaults: false, directory: directory)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("hush.db").path))
        #expect(hush.stop() == 0)
    }

    /// What the command line cannot parse: exit 64 (EX_USAGE), the first line names what was
    /// wrong, the usage follows.
    @Test(arguments: [
        (["--port", "abc"], "Error: The value 'abc' is invalid for '--port <port>'"),
        (["--bogus"], "Error: Unknown option '--bogus'"),
        (["frobnicate"], "Error: Unexpected argument 'frobnicate'"),
        (["--port"], "Error: Missing value for '--port <port>'"),
    ])
    func usageErrors_Exit64_NamingTheFlag(arguments: [String], message: String) throws {
        let result = try HushProcess.run(arguments)
        #expect(result.status == 64)
        #expect(result.out.isEmpty)
        #expect(result.err.split(separator: "\n").first.map(String.init) == message, "stderr: \(result.err)")
        #expect(result.err.contains("Usage: hush serve"))
    }

    @Test(arguments: [
        (["--port", "70000"], "--port 70000: server.port must be between 0 and 65535"),
        (["--threads", "5000"], "--threads 5000: server.threads must be between 0 (one per core) and 1024"),
        (["--tls-cert", "/x.pem"], "--tls-cert needs --tls-key"),
        (["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"], "/nonexistent.pem"),
        (["--database", "/nonexistent-dir/hush.db"], "cannot open database /nonexistent-dir/hush.db"),
        (["--config", "/nonexistent.json"], "cannot read configuration /nonexistent.json"),
        (["--host", "256.1.1.1"], "256.1.1.1"),
    ])
    func badStart_ExitsOneWithOneLine(arguments: [String], message: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var args = arguments
        if !args.contains("--port") { args += ["--port", "0"] }
        let result = try HushProcess.run(args, directory: directory)
        #expect(result.status == 1)
        #expect(result.out.isEmpty)
        #expect(Self.startFailure(result.err)?.contains(message) == true, "stderr: \(result.err)")
        #expect(result.err.split(separator: "\n").count == 1, "stderr: \(result.err)")
    }

    /// The message of the one line a failed start writes: a line of hush's log, level `error`,
    /// event `start`; nil when standard error is anything else.
    static func startFailure(_ err: String) -> String? {
        let lines = err.split(separator: "\n")
        guard lines.count == 1, let object = (try? JSONSerialization.jsonObject(with: Data(lines[0].utf8))) as? [String: Any],
              object["level"] as? String == "error", object["event"] as? String == "start", object["time"] is String else { return nil }
        return object["message"] as? String
    }

    @Test(arguments: [
        (#"{"limits": {"max_header_bytez": 1}}"#, "unknown configuration key limits.max_header_bytez"),
        (#"{"server": {"port": 8082,}}"#, "not valid JSON: expected a key in quotes at byte 25 (line 1, column 26)"),
        ("{\n  \"server\": {\"port\": 8082},\n  \"server\": {}\n}", #"the key "server" appears twice at byte 32 (line 3, column 3)"#),
        (#"{"server": {"port": 8082}} // local"#, "not valid JSON: unexpected text after the value at byte 27 (line 1, column 28)"),
    ])
    func badConfigFile_IsRefused_NamingTheKeyOrTheByte(text: String, message: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-badcfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("hush.json")
        try Data(text.utf8).write(to: config)
        let result = try HushProcess.run(["--config", config.path, "--port", "0"], directory: directory)
        #expect(result.status != 0)
        #expect(Self.startFailure(result.err)?.contains(message) == true, "stderr: \(result.err)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("hush.db").path))
    }

    @Test func aBadEnvironmentVariable_IsNamedWithItsValue() throws {
        let result = try HushProcess.run(["--port", "0"], environment: ["HUSH_THREADS": "-1"])
        #expect(result.status != 0)
        #expect(Self.startFailure(result.err)?.contains("HUSH_THREADS=-1: server.threads must be between 0 (one per core) and 1024") == true,
                "stderr: \(result.err)")
    }

    @Test func portInUse_ExitsNonZero_AndLeavesNoFileBehind() throws {
        let first = try HushProcess()
        let before = try FileManager.default.contentsOfDirectory(atPath: first.directory.path).sorted()
        // No erasure key: on loopback a development key file would be made beside the database.
        let result = try HushProcess.run(["--port", String(first.port), "--database", first.directory.appendingPathComponent("b.db").path])
        #expect(result.status != 0)
        #expect(Self.startFailure(result.err)?.contains("Address already in use") == true, "stderr: \(result.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: first.directory.path).sorted() == before, "no b.db, b.db-wal or b.db.erasure-key")
        #expect(first.stop() == 0)
    }

    @Test func help_AndVersion_AndTheDocumentCarriesTheSameVersion() throws {
        let help = try HushProcess.run(["help"])
        #expect(help.status == 0 && help.out.contains("serve (default)") && help.out.contains("hash-key"), "\(help.out)")
        #expect(try HushProcess.run(["--help"]).out == help.out)
        let serve = try HushProcess.run(["help", "serve"])
        #expect(serve.status == 0 && serve.out.contains("--database <path>") && serve.out.contains("HUSH_DATABASE"), "\(serve.out)")
        #expect(serve.out.contains("HUSH_ERASURE_KEY"))
        #expect(try HushProcess.run(["serve", "--help"]).out == serve.out)
        let version = try HushProcess.run(["version"])
        #expect(version.status == 0 && version.out.hasPrefix("hush "))
        let flag = try HushProcess.run(["--version"])
        #expect(flag.status == 0 && flag.out == version.out)
        let number = version.out.split(separator: " ").dropFirst().first.map(String.init)
        let hush = try HushProcess()
        let document = try APIClient(port: hush.port).get("/openapi.json")
        #expect((document["info"] as? [String: Any])?["version"] as? String == number)
        #expect(number?.split(separator: ".").count == 3)
    }

    @Test func theServedOpenAPIDocument_NamesTheConfiguredChannels_WhichTheServerAccepts() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-vocabulary-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("hush.json")
        try Data(#"{"policy": {"channels": ["email", "sms", "push", "voice", "ivr", "direct_mail", "in_app", "ads", "carrier_pigeon"]}}"#.utf8).write(to: config)
        let hush = try HushProcess(["--config", config.path], directory: directory)
        let client = try APIClient(port: hush.port)
        let document = try client.get("/openapi.json").object
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
        let request = (schemas?["DecisionRequest"] as? [String: Any])?["properties"] as? [String: Any]
        let channel = request?["channel"] as? [String: Any]
        #expect(channel?["enum"] as? [String] == ["email", "sms", "push", "voice", "ivr", "direct_mail", "in_app", "ads", "carrier_pigeon"])
        #expect((request?["purpose"] as? [String: Any])?["enum"] as? [String] == ["marketing", "service", "transactional"])
        // What the document lists is what the server takes, and what it leaves out is refused.
        let listed = try client.post("/v1/decisions", #"{"customer_id": "c-1", "channel": "carrier_pigeon", "purpose": "service"}"#)
        #expect(listed.status == 200 && listed.decision == "allow", "\(listed.object)")
        let unlisted = try client.post("/v1/decisions", #"{"customer_id": "c-1", "channel": "fax"}"#)
        #expect(unlisted.status == 400 && unlisted.errorField == "channel")
        #expect(hush.stop() == 0)
    }

    @Test func runningOutOfFileDescriptors_DoesNotKillOrSpinTheServer() throws {
        // The server runs with a descriptor limit of 64; 150 clients exceed it.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-fd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let hush = try HushProcess(directory: directory, binary: try HushProcess.limitedBinary(in: directory, ulimit: "-n 64"))
        var clients: [RawClient] = []
        for _ in 0..<150 { if let c = try? RawClient(port: hush.port, timeout: 1) { clients.append(c) } }
        usleep(200_000)
        let cpuBefore = hush.cpuTicks
        usleep(500_000)
        // An accept loop spinning on EMFILE would burn the whole half second (50 ticks).
        #expect(hush.cpuTicks - cpuBefore < 20)
        #expect(hush.process.isRunning)
        clients.removeAll()
        // Recovery, not its speed, is the point: the deadline leaves room for a loaded machine
        // (a CI run with every suite at once once took more than 5 s here).
        #expect(waitUntil(seconds: 30) {
            guard let client = try? RawClient(port: hush.port, timeout: 1) else { return false }
            try? client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            return (try? client.readResponse().status) == 200
        })
        #expect(hush.stop() == 0)
    }
}
