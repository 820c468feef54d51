import Foundation
import Testing
import HushTestSupport

/// The decision log through the binary: every decision on record, read back by id and by
/// customer, nothing personal in its files, and nothing left of an erased customer.
@Suite struct DecisionLogEndToEndTests {
    let keys: [String: (key: String, scope: String)] = [
        "sender": ("k-send-0123456789abcdef", "decide"), "auditor": ("k-audit-0123456789abcdef", "read"),
        "crm": ("k-crm-0123456789abcdef", "write"), "dpo": ("k-dpo-0123456789abcdef", "admin"),
    ]

    func client(_ hush: HushProcess, _ name: String) throws -> APIClient { try APIClient(port: hush.port, key: keys[name]!.key) }

    func items(_ answer: APIClient.Answer) -> [[String: Any]] { answer["items"] as? [[String: Any]] ?? [] }

    /// The log directory beside the database.
    func logDirectory(_ hush: HushProcess) -> URL { hush.directory.appendingPathComponent("hush.db.decisions") }

    /// Every byte under the log directory, segments decompressed with `zstd -dc`: a closed one
    /// whole, the open one (no index yet) up to its last flushed line, where zstd reports the
    /// frame unfinished.
    func logContent(_ hush: HushProcess) throws -> String {
        let directory = logDirectory(hush)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var out = ""
        for file in files {
            let path = directory.appendingPathComponent(file).path
            if file.hasSuffix(".ndjson.zst") {
                let result = try Command.run("zstd", ["-dc", path])
                if files.contains(String(file.dropLast(11)) + ".idx") {
                    #expect(result.status == 0, "zstd -dc \(file): \(result.err)")
                } else {
                    #expect(result.status == 0 || result.err.contains("premature end"), "zstd -dc \(file): \(result.err)")
                    #expect(result.out.hasSuffix("\n"), "the open segment decompresses to whole lines")
                }
                out += result.out
            } else {
                out += String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
            }
        }
        return out
    }

    @Test func everyDecision_IsOnRecord_WithItsKeyAndReasons_AndReadBackByID() throws {
        let hush = try startKeyedHush(keys)
        let sender = try client(hush, "sender"), auditor = try client(hush, "auditor"), crm = try client(hush, "crm")
        #expect(try crm.put("/v1/customers/c-501", #"{"region": "US-CA", "timezone": "America/Los_Angeles", "email": "c501@example.com"}"#).status == 201)
        #expect(try crm.post("/v1/suppressions", #"{"customer_id": "c-501", "kind": "opt_out", "channels": ["sms"]}"#).status == 201)

        var ids: [String] = []
        let single = try sender.post("/v1/decisions", #"{"customer_id": "c-501", "channel": "sms", "categories": ["grill"], "region": "US-CA"}"#)
        ids.append(try #require(single["decision_id"] as? String))
        let get = try sender.get("/v1/decisions?customer_id=c-501&channel=email")
        ids.append(try #require(get["decision_id"] as? String))
        let batch = try sender.post("/v1/decisions/batch", #"{"requests": [{"customer_id": "c-501", "channel": "push"}, {"address": "someone@example.com", "channel": "email"}]}"#)
        ids += (batch["results"] as? [[String: Any]] ?? []).compactMap { $0["decision_id"] as? String }
        let perChannel = try sender.get("/v1/customers/c-501/decisions")
        ids += (perChannel["decisions"] as? [[String: Any]] ?? []).compactMap { $0["decision_id"] as? String }
        let reserved = try sender.post("/v1/decisions", #"{"customer_id": "c-501", "channel": "email", "reserve": true}"#)
        ids.append(try #require(reserved["decision_id"] as? String))
        #expect(ids.count == 4 + 8 + 1 && Set(ids).count == ids.count)

        for id in ids {
            let logged = try auditor.get("/v1/decisions/\(id)")
            #expect(logged.status == 200, "\(id): \(logged.response.bodyText)")
            #expect(logged["decision_id"] as? String == id && logged["key"] as? String == "sender")
            #expect(logged["customer"] == nil && logged["address"] == nil, "no subject, not even hashed, in an answer")
        }
        let first = try auditor.get("/v1/decisions/\(ids[0])")
        #expect(first["decision"] as? String == "suppress" && first["channel"] as? String == "sms")
        #expect((first["reasons"] as? [[String: Any]])?.compactMap { $0["code"] as? String } == single.codes && single.codes.contains("opted_out"), "the log holds the reasons answered, whatever the hour in Los Angeles")
        #expect(first["categories"] as? [String] == ["grill"] && first["region"] as? String == "US-CA")
        #expect(first["policy_version"] as? String == single["policy_version"] as? String)
        let lastLogged = try auditor.get("/v1/decisions/\(ids.last!)")
        #expect(lastLogged["reserved"] as? Bool == true)
        #expect(lastLogged["decision"] as? String == "allow" && reserved["decision"] as? String == "allow", "a reserved send is logged as allowed")

        let unknown = try auditor.get("/v1/decisions/01000000-0000-7000-8000-000000000000")
        #expect(unknown.status == 404)
        let malformed = try auditor.get("/v1/decisions/not-an-id")
        #expect(malformed.status == 400 && malformed.errorField == "decision_id")
        #expect(try sender.get("/v1/decisions/\(ids[0])").status == 403, "reading the log needs the read scope")

        // A customer's decisions, newest first, paged; an address-only decision is not theirs.
        let all = items(try auditor.get("/v1/customers/c-501/decision-log?limit=100"))
        #expect(all.count == ids.count - 1)
        let listed = all.compactMap { $0["decision_id"] as? String }
        #expect(listed == listed.sorted(by: >))
        let page = try auditor.get("/v1/customers/c-501/decision-log?limit=5")
        #expect(items(page).count == 5)
        let cursor = try #require(page["next_cursor"] as? String)
        let rest = items(try auditor.get("/v1/customers/c-501/decision-log?limit=100&cursor=\(cursor)"))
        #expect(rest.compactMap { $0["decision_id"] as? String } == Array(listed.dropFirst(5)))
        #expect(items(try auditor.get("/v1/customers/c-501/decision-log?to=2000-01-01T00:00:00Z")).isEmpty)
        let backwards = try auditor.get("/v1/customers/c-501/decision-log?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z")
        #expect(backwards.status == 400 && backwards.errorField == "from")
        #expect(try auditor.get("/v1/customers/c-501/decision-log?cursor=zzz").errorField == "cursor")

        // The command line reads the same files, beside the running server, changing nothing.
        let config = hush.directory.appendingPathComponent("hush.json").path, database = hush.directory.appendingPathComponent("hush.db").path
        let location = ["--config", config, "--database", database]
        let got = try HushProcess.run(["decision-log", "get"] + location + [ids[0]])
        #expect(got.status == 0 && got.out.contains(ids[0]) && got.out.contains("\"key\": \"sender\""), "\(got.err)")
        let customer = try HushProcess.run(["decision-log", "customer"] + location + ["--limit", "100", "c-501"])
        #expect(customer.out.split(separator: "\n").compactMap { line in listed.first { line.contains($0) } } == listed, "\(customer.err)")
        let everything = try HushProcess.run(["decision-log", "cat"] + location)
        #expect(everything.out.split(separator: "\n").count == ids.count)
        let missing = try HushProcess.run(["decision-log", "get"] + location + ["01000000-0000-7000-8000-000000000000"])
        #expect(missing.status == 1 && missing.err.contains("no decision"))
    }

    @Test func theLogFiles_HoldNoIDOrAddressInClear() throws {
        let hush = try startKeyedHush(keys)
        let sender = try client(hush, "sender"), crm = try client(hush, "crm")
        let people = (0..<20).map { ("person-\($0)-\(UUID().uuidString.prefix(8))", "mail\($0)@private.example", "+4477009\(String(format: "%05d", $0))") }
        for (id, email, phone) in people {
            #expect(try crm.put("/v1/customers/\(id)", #"{"email": "\#(email)", "phone": "\#(phone)"}"#).status == 201)
            #expect(try sender.get("/v1/decisions?customer_id=\(id)&channel=email").status == 200)
            #expect(try sender.post("/v1/decisions", #"{"address": "\#(phone)", "channel": "sms"}"#).status == 200)
            #expect(try sender.post("/v1/decisions", #"{"customer_id": "\#(id)", "address": "\#(email)", "channel": "email"}"#).status == 200)
        }
        #expect(try client(hush, "auditor").get("/v1/customers/\(people[0].0)/decision-log").status == 200, "flushes the log")
        let content = try logContent(hush)
        #expect(content.split(separator: "\n").count >= 60)
        for (id, email, phone) in people {
            for secret in [id, email, phone, email.replacingOccurrences(of: "@", with: "%40"), String(phone.dropFirst())] {
                #expect(!content.contains(secret), "\(secret) is in the decision log")
            }
        }
        #expect(hush.stop() == 0)
        #expect(!hush.standardError.contains(people[0].0), "nor in what hush prints")
    }

    @Test func anErasure_LeavesTheIDAndAddresses_NowhereOnDisk() throws {
        let hush = try startKeyedHush(keys)
        let sender = try client(hush, "sender"), crm = try client(hush, "crm"), auditor = try client(hush, "auditor")
        let id = "c-erase-\(UUID().uuidString.prefix(8))", email = "erase.\(UUID().uuidString.prefix(8))@example.org", phone = "+447700900777"
        #expect(try crm.put("/v1/customers/\(id)", #"{"email": "\#(email)", "phone": "\#(phone)", "region": "GB-LND"}"#).status == 201)
        #expect(try crm.put("/v1/cases/k-\(id)", #"{"customer_id": "\#(id)", "severity": "high", "status": "open", "opened_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:00:00Z"}"#).status == 201)
        #expect(try crm.post("/v1/suppressions", #"{"address": "\#(email)", "kind": "opt_out"}"#).status == 201)
        var ids: [String] = []
        for channel in ["email", "sms", "push"] {
            ids.append(try #require(try sender.get("/v1/decisions?customer_id=\(id)&channel=\(channel)")["decision_id"] as? String))
        }
        ids.append(try #require(try sender.post("/v1/decisions", #"{"address": "\#(phone)", "channel": "sms"}"#)["decision_id"] as? String))
        let others = try #require(try sender.get("/v1/decisions?customer_id=someone-else&channel=email")["decision_id"] as? String)
        #expect(items(try auditor.get("/v1/customers/\(id)/decision-log")).count == 3)
        // The hashes hush wrote for the id and the phone: after the erasure, these are gone too.
        let before = try logContent(hush)
        let hashes = Set(before.split(separator: "\n").filter { line in ids.contains { line.contains($0) } }.flatMap { line -> [String] in
            ["\"customer\":\"", "\"address\":\""].compactMap { field in
                guard let range = line.range(of: field) else { return nil }
                return String(line[range.upperBound...].prefix(32))
            }
        })
        #expect(hashes.count == 2, "\(hashes)")

        let erased = try client(hush, "dpo").call("DELETE", "/v1/customers/\(id)")
        #expect(erased.status == 200)
        let listing = try auditor.get("/v1/customers/\(id)/decision-log")
        #expect(listing.status == 404 && ((listing["error"] as? [String: Any])?["message"] as? String)?.contains("by dpo") == true)
        #expect(waitUntil(seconds: 10) { (try? metric(hush, auditor, "hush_decision_log_erasures_pending")) == 0 })
        for logged in ids { #expect(try auditor.get("/v1/decisions/\(logged)").status == 404) }
        #expect(try auditor.get("/v1/decisions/\(others)").status == 200, "other customers' decisions stay")

        // Stopped, so that every file is as it stays: the database, its WAL and every log file.
        #expect(hush.stop() == 0)
        var files: [String] = []
        let root = hush.directory.path
        for file in FileManager.default.enumerator(atPath: root)?.compactMap({ $0 as? String }) ?? [] where !file.hasSuffix("erasure-key") {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + file, isDirectory: &isDirectory), !isDirectory.boolValue { files.append(file) }
        }
        #expect(files.contains("hush.db"))
        let logFiles = try FileManager.default.contentsOfDirectory(atPath: logDirectory(hush).path)
        #expect(logFiles.contains { $0.hasSuffix(".idx") }, "a closed segment, index and all, is among the files scanned")
        var everything = try logContent(hush)
        for file in files { everything += String(decoding: FileManager.default.contents(atPath: root + "/" + file) ?? Data(), as: UTF8.self) }
        for secret in [id, email, phone, String(phone.dropFirst())] + Array(hashes) {
            #expect(!everything.contains(secret), "\(secret) is still on disk")
        }
    }

    @Test func aLogDirectoryThatCannotBeMade_StopsStartUp_WithOneLineNamingIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-nolog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let blocker = directory.appendingPathComponent("a-file").path
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8)))
        let config = directory.appendingPathComponent("hush.json")
        try Data(#"{"decision_log": {"directory": "\#(blocker)/decisions"}}"#.utf8).write(to: config)
        let result = try HushProcess.run(["--config", config.path, "--port", "0", "--database", directory.appendingPathComponent("hush.db").path],
                                         environment: ["HUSH_ERASURE_KEY": String(repeating: "k", count: 32)])
        #expect(result.status == 1)
        let lines = result.err.split(separator: "\n")
        #expect(lines.count == 1 && lines.first?.contains("\(blocker)/decisions") == true, "\(result.err)")
    }

    @Test func aFullDisk_MakesTheLogUnready_AndDecisions503_RatherThanUnrecorded() throws {
        // hush runs under a file size limit of 512 KiB (`ulimit -f` counts 512-byte blocks in
        // sh): the log's segment (compressed, some 30 bytes a decision) reaches it long before
        // the database does (its WAL takes about 270 KB at start, as the migrations run), and its
        // writes fail as on a full disk.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-full-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let hush = try HushProcess(["--threads", "1"], environment: ["HUSH_ERASURE_KEY": String(repeating: "k", count: 32)],
                                   directory: directory, binary: try HushProcess.limitedBinary(in: directory, ulimit: "-f 1024"))
        let api = try APIClient(port: hush.port)
        let requests = (0..<1000).map { #"{"customer_id": "c-\#($0)", "channel": "email"}"# }.joined(separator: ",")
        var sawUnavailable = false
        for _ in 0..<200 where !sawUnavailable {
            let answer = try api.post("/v1/decisions/batch", "{\"requests\": [\(requests)]}")
            sawUnavailable = answer.status == 503
            if sawUnavailable {
                let results = answer["results"] as? [[String: Any]] ?? []
                #expect(results.contains { ($0["reasons"] as? [[String: Any]])?.first?["code"] as? String == "unavailable" })
            }
        }
        #expect(sawUnavailable, "the log's segment outgrew the limit, and decisions were refused")
        let ready = try api.get("/readyz")
        #expect(ready.status == 503 && ready["failing"] as? String == "decision_log")
        #expect((ready["reason"] as? String)?.contains("hush.db.decisions") == true)
        let single = try api.get("/v1/decisions?customer_id=c-1&channel=email")
        #expect(single.status == 503 && single.codes == ["unavailable"])
        #expect(try metric(hush, api, "hush_decision_log_failing") == 1)
        #expect(try metric(hush, api, "hush_decision_log_lines_total{outcome=\"refused\"}") ?? 0 > 0)
    }
}

/// A metric's value from `/metrics`.
func metric(_ hush: HushProcess, _ client: APIClient, _ name: String) throws -> Double? {
    let text = try client.get("/metrics").response.bodyText
    for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.dropFirst(name.count + 1))
    }
    return nil
}
