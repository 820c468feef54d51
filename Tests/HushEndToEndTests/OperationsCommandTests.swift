import Foundation
import Testing
import HushTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The commands for the people who run hush, run as they would run them: `check-config`,
/// `migrate`, `backup` (and a restore from it) and `healthcheck`.
@Suite struct OperationsCommandTests {
    static func scratch(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func checkConfig_PrintsASummaryOfAGoodFile_AndNamesTheKeyOfABadOne() throws {
        let directory = try Self.scratch("check")
        let good = directory.appendingPathComponent("good.json"), bad = directory.appendingPathComponent("bad.json")
        try Data(#"{"server": {"port": 9090}, "log": {"access": 0.5}, "decision_log": {"sink": "stdout"}}"#.utf8).write(to: good)
        try Data(#"{"log": {"level": "loud"}}"#.utf8).write(to: bad)

        let ok = try HushProcess.run(["check-config", good.path])
        #expect(ok.status == 0, "\(ok.err)")
        #expect(ok.out.hasPrefix("\(good.path): ok"), "\(ok.out)")
        #expect(ok.out.contains("127.0.0.1:9090") && ok.out.contains("decision log: stdout") && ok.out.contains("access log: 0.5"), "\(ok.out)")
        #expect(ok.out.contains("policy version "))

        let refused = try HushProcess.run(["check-config", bad.path])
        #expect(refused.status == 1)
        #expect(refused.out.isEmpty)
        #expect(refused.err == "hush: \(bad.path): log.level must be one of: error, warn, info, debug\n", "\(refused.err)")

        let missing = try HushProcess.run(["check-config", directory.appendingPathComponent("none.json").path])
        #expect(missing.status == 1 && missing.err.contains("cannot read configuration"), "\(missing.err)")
        // The variables apply on top, as for serve.
        let badEnvironment = try HushProcess.run(["check-config", good.path], environment: ["HUSH_PORT": "70000"])
        #expect(badEnvironment.status == 1 && badEnvironment.err.contains("HUSH_PORT=70000: server.port must be between 0 and 65535"))
        let help = try HushProcess.run(["check-config", "--help"])
        #expect(help.status == 0 && help.out.contains("USAGE: hush check-config"), "\(help.out)")
    }

    @Test func migrate_CreatesThenReportsUpToDate() throws {
        let directory = try Self.scratch("migrate")
        let database = directory.appendingPathComponent("hush.db").path
        let created = try HushProcess.run(["migrate", "--database", database])
        #expect(created.status == 0, "\(created.err)")
        #expect(created.out.hasPrefix("\(database): created at schema version "), "\(created.out)")
        let again = try HushProcess.run(["migrate", "--database", database])
        #expect(again.status == 0 && again.out.hasSuffix("up to date\n"), "\(again.out)")
        let nowhere = try HushProcess.run(["migrate", "--database", "/nonexistent-dir/hush.db"])
        #expect(nowhere.status == 1 && nowhere.err.contains("cannot open database /nonexistent-dir/hush.db"), "\(nowhere.err)")
    }

    @Test func backup_WhileServing_RestoresToTheSameAnswers_AndNeverOverwrites() throws {
        let hush = try HushProcess([], environment: ["HUSH_ERASURE_KEY": String(repeating: "k", count: 32)])
        let database = hush.directory.appendingPathComponent("hush.db").path
        let client = try APIClient(port: hush.port)
        #expect(try client.put("/v1/customers/c-9", #"{"region": "US-CA", "timezone": "America/Los_Angeles"}"#).status == 201)
        let suppression = try client.post("/v1/suppressions", #"{"customer_id": "c-9", "kind": "opt_out", "channels": ["sms"]}"#)
        #expect(suppression.status == 201)
        let id = suppression["id"] as? String ?? ""
        let before = try client.get("/v1/suppressions/\(id)")
        let view = try client.get("/v1/customers/c-9")

        let destination = try Self.scratch("backup").appendingPathComponent("copy.db").path
        let result = try HushProcess.run(["backup", "--database", database, destination])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("integrity ok"), "\(result.out)")
        let again = try HushProcess.run(["backup", "--database", database, destination])
        #expect(again.status == 1 && again.err.contains("exists; a backup never overwrites"), "\(again.err)")
        #expect(hush.stop() == 0)
        // The copy exports exactly what the original does.
        for kind in ["suppressions", "cases", "holds"] {
            let original = try HushProcess.run(["export", kind, "--database", database])
            let copied = try HushProcess.run(["export", kind, "--database", destination])
            #expect(original.status == 0 && copied.status == 0 && original.out == copied.out, "\(kind): \(original.err) \(copied.err)")
        }

        // Restored: another hush on the copy answers as the first did.
        let restored = try HushProcess(["--database", destination], environment: ["HUSH_ERASURE_KEY": String(repeating: "k", count: 32)])
        let other = try APIClient(port: restored.port)
        #expect(try other.get("/v1/suppressions/\(id)").response.body == before.response.body)
        let restoredView = try other.get("/v1/customers/c-9")
        #expect(restoredView.status == 200)
        #expect((restoredView["suppressions"] as? [[String: Any]])?.count == 1)
        #expect((restoredView["suppressions"] as? [[String: Any]])?.count == (view["suppressions"] as? [[String: Any]])?.count)
        #expect(restored.stop() == 0)
    }

    @Test func healthcheck_Exits0WhileHealthy_1WhenNothingAnswersOrTheAnswerIsNot200() throws {
        let hush = try HushProcess()
        let healthy = try HushProcess.run(["healthcheck", "--url", "http://127.0.0.1:\(hush.port)/healthz"])
        #expect(healthy.status == 0, "\(healthy.err)")
        #expect(healthy.out.isEmpty && healthy.err.isEmpty)
        // From the configuration's port, as the container runs it.
        let directory = try Self.scratch("health")
        let config = directory.appendingPathComponent("hush.json")
        try Data(#"{"server": {"port": \#(hush.port), "host": "0.0.0.0"}}"#.utf8).write(to: config)
        #expect(try HushProcess.run(["healthcheck", "--config", config.path]).status == 0)
        let notFound = try HushProcess.run(["healthcheck", "--url", "http://127.0.0.1:\(hush.port)/nothing"])
        #expect(notFound.status == 1 && notFound.err == "hush: /nothing answered 404\n", "\(notFound.err)")
        let bad = try HushProcess.run(["healthcheck", "--url", "ftp://x"])
        #expect(bad.status == 1 && bad.err.contains("--url must be http://host:port/path"), "\(bad.err)")
        let port = hush.port
        #expect(hush.stop() == 0)
        let down = try HushProcess.run(["healthcheck", "--url", "http://127.0.0.1:\(port)/healthz", "--timeout", "2"])
        #expect(down.status == 1 && down.err.contains("cannot connect to 127.0.0.1:\(port)"), "\(down.err)")
    }

    @Test func metrics_NameTheBuild_AndTheDatabaseAndWALSizes_AsTheyAreOnDisk() throws {
        let hush = try HushProcess()
        let client = try APIClient(port: hush.port)
        #expect(try client.put("/v1/customers/c-1", #"{"region": "US-CA", "timezone": "America/Los_Angeles"}"#).status == 201)
        let version = try HushProcess.run(["version"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let text = try client.get("/metrics").response.bodyText
        // "hush 0.1.0 (SQLite 3.40.1)"
        let parts = version.split(separator: " ")
        #expect(parts.count == 4)
        if parts.count == 4 {
            let sqlite = parts[3].dropLast()
            #expect(text.contains("hush_build_info{version=\"\(parts[1])\",sqlite=\"\(sqlite)\"} 1\n"), "\(text)")
        }
        let database = hush.directory.appendingPathComponent("hush.db").path
        func size(_ path: String) -> Double { Double((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1) }
        // The database file only grows or stays between the answer and the stat.
        let onDisk = size(database)
        #expect(try metric(hush, client, "hush_database_bytes{file=\"database\"}") == onDisk)
        #expect((try metric(hush, client, "hush_database_bytes{file=\"wal\"}") ?? 0) > 0, "a write went through the WAL")
        #expect(try metric(hush, client, "hush_log_lines_dropped_total") == 0)
        // The writer's commits (the profile's, and retention's at start), in the histogram's buckets.
        let commits = try metric(hush, client, "hush_writer_commit_seconds_count") ?? 0
        #expect(commits >= 1)
        #expect(try metric(hush, client, "hush_writer_commit_seconds_bucket{le=\"+Inf\"}") == commits)
        #expect(try metric(hush, client, "hush_writer_commit_seconds_bucket{le=\"2.5\"}") == commits)
        #expect((try metric(hush, client, "hush_writer_commit_seconds_sum") ?? -1) > 0)
        #expect(try metric(hush, client, "hush_wal_checkpoints_total") == 0)
        #expect(try metric(hush, client, "hush_wal_last_checkpoint_timestamp_seconds") == 0)
        // An erasure checkpoints the log at once (no erased byte may linger in it).
        #expect(try client.call("DELETE", "/v1/customers/c-1").status == 200)
        #expect((try metric(hush, client, "hush_writer_commit_seconds_count") ?? 0) >= commits + 1)
        #expect(try metric(hush, client, "hush_wal_checkpoints_total") == 1)
        let checkpointed = try metric(hush, client, "hush_wal_last_checkpoint_timestamp_seconds") ?? 0
        #expect(abs(checkpointed - Date().timeIntervalSince1970) < 60)
        #expect(hush.stop() == 0)
    }

    @Test func export_WritesTheImportsFormat_WhichImportsBackUnchanged_AndIntoAnotherHushTheSame() throws {
        let key = String(repeating: "e", count: 32)
        let hush = try HushProcess([], environment: ["HUSH_ERASURE_KEY": key])
        let database = hush.directory.appendingPathComponent("hush.db").path
        let client = try APIClient(port: hush.port)
        // A month ahead, to the millisecond: retention would remove it (at start) once long expired.
        let expires = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(30 * 86_400)).dropLast()) + ".250Z"
        let suppressions = [
            #"{"customer_id": "c-1", "kind": "opt_out", "channels": ["sms", "email"], "source": "crm-sync"}"#,
            #"{"address": "Someone@Example.com", "kind": "do_not_contact", "expires_at": "\#(expires)"}"#,
            #"{"address": "+14155550100", "kind": "objection", "purposes": ["marketing"], "confirmed": false}"#,
        ]
        for body in suppressions { #expect(try client.post("/v1/suppressions", body).status == 201) }
        #expect(try client.put("/v1/cases/k-1", #"{"customer_id": "c-1", "severity": "high", "status": "open", "opened_at": "2026-11-20T10:00:00Z"}"#).status == 201)
        #expect(try client.put("/v1/cases/k-2", #"{"customer_id": "c-2", "severity": "low", "status": "closed", "opened_at": "2026-11-01T10:00:00Z", "closed_at": "2026-11-02T10:00:00Z", "resolution": "neutral"}"#).status == 201)
        #expect(try client.post("/v1/holds", #"{"id": "fire", "title": "Fire, \"north\"", "regions": ["US-CA"], "starts_at": "2026-11-01T00:00:00Z"}"#).status == 201)

        func export(_ kind: String, _ format: String, _ path: String) throws -> String {
            let result = try HushProcess.run(["export", kind, "--format", format, "--database", path])
            #expect(result.status == 0, "\(result.err)")
            return result.out
        }
        let csv = try export("suppressions", "csv", database)
        #expect(csv.split(separator: "\n").first == "customer_id,address,kind,channels,purposes,source,confirmed,expires_at")
        #expect(csv.contains("c-1,,opt_out,email;sms,,crm-sync,true,\n"), "\(csv)")
        #expect(csv.contains(",someone@example.com,do_not_contact,,,,true,\(expires)\n"), "\(csv)")
        let holds = try export("holds", "csv", database)
        #expect(holds.contains("fire,\"Fire, \"\"north\"\"\",,US-CA,,,,2026-11-01T00:00:00Z,\n"), "\(holds)")
        let cases = try export("cases", "ndjson", database)
        #expect(cases.split(separator: "\n").count == 2)

        // Back into the same hush: every row unchanged.
        func importing(_ client: APIClient, _ kind: String, _ body: String, _ type: String) throws -> [String: Any] {
            try client.call("POST", "/v1/import/\(kind)", body, contentType: type).object
        }
        #expect(try importing(client, "suppressions", csv, "text/csv")["unchanged"] as? Int == 3)
        #expect(try importing(client, "suppressions", try export("suppressions", "ndjson", database), "application/x-ndjson")["unchanged"] as? Int == 3)
        #expect(try importing(client, "cases", try export("cases", "csv", database), "text/csv")["unchanged"] as? Int == 2)
        #expect(try importing(client, "cases", cases, "application/x-ndjson")["imported"] as? Int == 0)

        // Into another hush: the same export.
        let other = try HushProcess([], environment: ["HUSH_ERASURE_KEY": key])
        let otherClient = try APIClient(port: other.port)
        #expect(try importing(otherClient, "suppressions", csv, "text/csv")["imported"] as? Int == 3)
        #expect(try importing(otherClient, "cases", cases, "application/x-ndjson")["imported"] as? Int == 2)
        let otherDatabase = other.directory.appendingPathComponent("hush.db").path
        #expect(try export("suppressions", "csv", otherDatabase) == csv)
        #expect(try export("cases", "ndjson", otherDatabase) == cases)
        #expect(hush.stop() == 0 && other.stop() == 0)

        let missing = try HushProcess.run(["export", "cases", "--database", hush.directory.appendingPathComponent("none.db").path])
        #expect(missing.status == 1 && missing.err.contains("no database at"), "\(missing.err)")
        #expect(!FileManager.default.fileExists(atPath: hush.directory.appendingPathComponent("none.db").path))
        let wrongKind = try HushProcess.run(["export", "widgets", "--database", database])
        #expect(wrongKind.status == 64 && wrongKind.err.contains("'widgets'"), "\(wrongKind.err)")
    }

    @Test func decide_AnswersAsTheAPIDoes_FromTheFile_AndRecordsNothing() throws {
        let key = String(repeating: "d", count: 32)
        let hush = try HushProcess([], environment: ["HUSH_ERASURE_KEY": key])
        let database = hush.directory.appendingPathComponent("hush.db").path
        let client = try APIClient(port: hush.port)
        #expect(try client.put("/v1/customers/c-1", #"{"region": "US-CA", "timezone": "America/Los_Angeles"}"#).status == 201)
        #expect(try client.post("/v1/suppressions", #"{"customer_id": "c-1", "kind": "opt_out", "channels": ["sms"]}"#).status == 201)
        #expect(try client.put("/v1/customers/c-gone", #"{"email": "gone@example.com"}"#).status == 201)
        #expect(try client.call("DELETE", "/v1/customers/c-gone").status == 200)
        let at = "2026-12-01T18:00:00Z"

        func decide(_ arguments: [String], environment: [String: String] = ["HUSH_ERASURE_KEY": key]) throws -> CommandResult {
            try HushProcess.run(["decide", "--database", database] + arguments, environment: environment)
        }
        func withoutIDAndTime(_ object: [String: Any]) -> NSDictionary {
            var copy = object
            copy["decision_id"] = nil
            copy["evaluated_at"] = nil
            return copy as NSDictionary
        }
        for (flags, query) in [(["--customer-id", "c-1", "--channel", "sms", "--at", at], "customer_id=c-1&channel=sms&at=\(at)"),
                               (["--customer-id", "c-1", "--channel", "email", "--purpose", "service", "--at", at],
                                "customer_id=c-1&channel=email&purpose=service&at=\(at)"),
                               (["--address", "gone@example.com", "--channel", "email", "--at", at], "address=gone@example.com&channel=email&at=\(at)")] {
            let result = try decide(flags)
            #expect(result.status == 0, "\(result.err)")
            let printed = (try? JSONSerialization.jsonObject(with: Data(result.out.utf8))) as? [String: Any] ?? [:]
            #expect(printed["decision_id"] is NSNull)
            let api = try client.get("/v1/decisions?\(query)").object
            #expect(withoutIDAndTime(printed) == withoutIDAndTime(api), "\(flags): \(result.out) against \(api)")
        }
        let sms = (try? JSONSerialization.jsonObject(with: Data(try decide(["--customer-id", "c-1", "--channel", "sms", "--at", at]).out.utf8))) as? [String: Any]
        #expect((sms?["reasons"] as? [[String: Any]])?.compactMap { $0["code"] as? String } == ["opted_out"])
        // The file has an erasure: without its key, no decision rather than a wrong one.
        let keyless = try decide(["--customer-id", "c-gone", "--channel", "email"], environment: [:])
        #expect(keyless.status == 1 && keyless.err.contains("cannot be checked without its erasure key"), "\(keyless.err)")
        let bad = try decide(["--customer-id", "c-1", "--channel", "fax"])
        #expect(bad.status == 1 && bad.err.hasPrefix("hush: --channel must be one of: email"), "\(bad.err)")
        let nobody = try decide(["--channel", "sms"])
        #expect(nobody.status == 1 && nobody.err == "hush: --customer-id or --address is required\n", "\(nobody.err)")
        // Read only: the customer has no contact and the history no entry from it.
        let view = try client.get("/v1/customers/c-1").object
        #expect((view["contacts"] as? [Any])?.isEmpty == true)
        #expect((view["history"] as? [[String: Any]])?.count == 2, "the profile and the suppression: \(view["history"] ?? "")")
        #expect(hush.stop() == 0)
    }

    @Test func aSecondWriter_IsRefused_WhileHushServesTheFile_AndWelcomeOnceItStopped() throws {
        let hush = try HushProcess()
        let database = hush.directory.appendingPathComponent("hush.db").path
        let second = try HushProcess.run(["--port", "0", "--database", database])
        #expect(second.status == 1)
        #expect(BinaryTests.startFailure(second.err)?.contains("database \(database) is in use by another hush (pid \(hush.process.processIdentifier))") == true,
                "\(second.err)")
        let migrate = try HushProcess.run(["migrate", "--database", database])
        #expect(migrate.status == 1 && migrate.err.contains("is in use by another hush"), "\(migrate.err)")
        // Readers are welcome beside it.
        #expect(try HushProcess.run(["export", "holds", "--database", database]).status == 0)
        #expect(hush.stop() == 0)
        let after = try HushProcess.run(["migrate", "--database", database])
        #expect(after.status == 0 && after.out.hasSuffix("up to date\n"), "\(after.err)")
    }

    @Test func importCommand_WritesAllOrNothing_UnderTheWriteLock_AsTheCLI() throws {
        let key = String(repeating: "i", count: 32)
        let directory = try Self.scratch("import")
        let database = directory.appendingPathComponent("hush.db").path
        let good = directory.appendingPathComponent("suppressions.csv"), bad = directory.appendingPathComponent("bad.csv")
        var rows = "customer_id,kind,channels\n"
        for i in 0..<20_000 { rows += "c-\(i),opt_out,sms\n" }
        try Data(rows.utf8).write(to: good)
        try Data("customer_id,kind\nc-1,opt_out\nc-2,nope\n".utf8).write(to: bad)
        let env = ["HUSH_ERASURE_KEY": key]

        let dry = try HushProcess.run(["import", "suppressions", good.path, "--dry-run", "--database", database], environment: env)
        #expect(dry.status == 0 && dry.out.hasPrefix("dry run: would import 20000 suppressions, 0 unchanged; nothing was written"), "\(dry.out) \(dry.err)")
        #expect(dry.err.isEmpty, "no progress line off a terminal: \(dry.err)")
        let refused = try HushProcess.run(["import", "suppressions", bad.path, "--database", database], environment: env)
        #expect(refused.status == 1)
        #expect(refused.err == "\(bad.path):3: kind: must be one of: do_not_contact, opt_out, objection\nhush: 1 line is invalid; nothing was imported\n",
                "\(refused.err)")
        let imported = try HushProcess.run(["import", "suppressions", good.path, "--database", database], environment: env)
        #expect(imported.status == 0 && imported.out.hasPrefix("imported 20000 suppressions, 0 unchanged"), "\(imported.out) \(imported.err)")
        let keyless = try HushProcess.run(["import", "suppressions", good.path, "--database", database])
        #expect(keyless.status == 1 && keyless.err.contains("needs the database's erasure key"), "\(keyless.err)")

        // A hush on the file sees the rows, each made by the command line; while it serves, the command is refused.
        let hush = try HushProcess(["--database", database], environment: env)
        let client = try APIClient(port: hush.port)
        let page = try client.get("/v1/suppressions?customer_id=c-2").object["items"] as? [[String: Any]] ?? []
        #expect(page.count == 1 && page.first?["kind"] as? String == "opt_out")
        let id = page.first?["id"] as? String ?? ""
        let history = try client.get("/v1/suppressions/\(id)/history").object["items"] as? [[String: Any]] ?? []
        #expect(history.map { "\($0["actor"] ?? "") \($0["via"] ?? "")" } == ["cli cli"])
        #expect(try client.get("/v1/suppressions?customer_id=c-19999").object["items"].map { ($0 as? [Any])?.count } == 1)
        let beside = try HushProcess.run(["import", "cases", good.path, "--database", database], environment: env)
        #expect(beside.status == 1 && beside.err.contains("is in use by another hush"), "\(beside.err)")
        #expect(hush.stop() == 0)
    }

    @Test func importThroughAServer_StreamsTheFileOrStandardInput_WithTheKeyFromTheEnvironment() throws {
        let writer = "writer-key-0123456789abcdef"
        let hush = try startKeyedHush(["importer": (key: writer, scope: "write"), "reader": (key: "reader-key-0123456789abcdef", scope: "read")])
        let directory = try Self.scratch("import-url")
        let file = directory.appendingPathComponent("cases.ndjson")
        var rows = ""
        for i in 0..<500 { rows += #"{"case_id": "k-\#(i)", "customer_id": "c-\#(i)", "severity": "low", "status": "open", "opened_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z"}"# + "\n" }
        try Data(rows.utf8).write(to: file)
        let url = "http://127.0.0.1:\(hush.port)"

        let dry = try HushProcess.run(["import", "cases", file.path, "--url", url, "--dry-run"], environment: ["HUSH_API_KEY": writer])
        #expect(dry.status == 0 && dry.out.hasPrefix("dry run: would import 500 cases, 0 unchanged"), "\(dry.out) \(dry.err)")
        let imported = try HushProcess.run(["import", "cases", file.path, "--url", url], environment: ["HUSH_API_KEY": writer])
        #expect(imported.status == 0 && imported.out.hasPrefix("imported 500 cases, 0 unchanged"), "\(imported.out) \(imported.err)")
        // From standard input: chunked.
        let piped = try HushProcess.run(["import", "cases", "-", "--format", "ndjson", "--url", url], environment: ["HUSH_API_KEY": writer], input: rows)
        #expect(piped.status == 0 && piped.out.hasPrefix("imported 0 cases, 500 unchanged"), "\(piped.out) \(piped.err)")
        let reader = try HushProcess.run(["import", "cases", file.path, "--url", url], environment: ["HUSH_API_KEY": "reader-key-0123456789abcdef"])
        #expect(reader.status == 1 && reader.err.hasPrefix("hush: "), "\(reader.err)")
        let client = try APIClient(port: hush.port, key: "reader-key-0123456789abcdef")
        let history = try client.get("/v1/cases/k-7/history").object["items"] as? [[String: Any]] ?? []
        #expect(history.map { "\($0["actor"] ?? "") \($0["via"] ?? "")" } == ["importer import"])
        #expect(hush.stop() == 0)
    }
}
