import Foundation
import Testing
import HushTestSupport

/// Bulk imports through the API: streamed, validated line by line, all or nothing.
@Suite struct ImportTests {
    let hush: HushProcess
    let api: APIClient

    init() throws {
        hush = try HushProcess([], environment: ["HUSH_ERASURE_KEY": String(repeating: "i", count: 32)])
        api = try APIClient(port: hush.port)
    }

    func decide(_ query: String) throws -> APIClient.Answer { try api.get("/v1/decisions?\(query)&at=\(TestTime.iso())") }

    /// The files imports stage their rows in, beside the database (`hush.db.import-<16 hex>`).
    static func stageFiles(in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("hush.db.import-") }
    }

    @Test func aHundredThousandSuppressions_AreImported_AndDecisionsSeeThem() throws {
        let expiry = TestTime.iso(days: 60)
        var csv = "customer_id,address,kind,channels,purposes,source,confirmed,expires_at\n"
        for i in 0..<100_000 {
            if i % 2 == 0 {
                csv += "cust-\(i),,do_not_contact,email;sms,,dnc-list,true,\n"
            } else {
                csv += ",user\(i)@example.com,opt_out,,,\"pref, centre\",,\(expiry)\r\n"
            }
        }
        let imported = try api.call("POST", "/v1/import/suppressions", csv, contentType: "text/csv")
        #expect(imported.status == 200, "\(imported.response.bodyText.prefix(500))")
        #expect(imported["imported"] as? Int == 100_000 && imported["unchanged"] as? Int == 0)
        #expect(try decide("customer_id=cust-4242&channel=email").codes == ["do_not_contact"])
        #expect(try decide("customer_id=cust-4242&channel=push").decision == "allow", "only the channels it names")
        #expect(try decide("address=user4243@example.com&channel=email").codes == ["opted_out"])
        let listed = try api.get("/v1/suppressions?address=user4243@example.com")
        #expect((listed["items"] as? [[String: Any]])?.first?["source"] as? String == "pref, centre")
        // The same file again changes nothing.
        let again = try api.call("POST", "/v1/import/suppressions", csv, contentType: "text/csv")
        #expect(again["imported"] as? Int == 0 && again["unchanged"] as? Int == 100_000)
    }

    @Test func oneBadLine_RejectsTheWholeImport_AndNamesIt() throws {
        var ndjson = ""
        for i in 0..<500 { ndjson += #"{"customer_id": "n-\#(i)", "kind": "opt_out"}"# + "\n" }
        ndjson += #"{"customer_id": "n-500", "kind": "unsubscribe"}"# + "\n"
        ndjson += #"{"customer_id": "n-501", "kind": "opt_out", "colour": "red"}"# + "\n"
        ndjson += "not json\n"
        let answer = try api.call("POST", "/v1/import/suppressions", ndjson, contentType: "application/x-ndjson")
        #expect(answer.status == 400 && answer.errorCode == "invalid_field")
        let lines = try #require((answer["error"] as? [String: Any])?["lines"] as? [[String: Any]])
        #expect(lines.map { $0["line"] as? Int } == [501, 502, 503])
        #expect(lines.map { $0["field"] as? String } == ["kind", "colour", nil])
        #expect(try decide("customer_id=n-1&channel=email").decision == "allow", "nothing was written")
        #expect((try api.get("/v1/suppressions")["items"] as? [Any])?.isEmpty == true)
        #expect(try Self.stageFiles(in: hush.directory).isEmpty, "the refused import's staged rows are gone")
    }

    @Test func aDryRun_ValidatesAndCounts_ButWritesNothing() throws {
        let opened = TestTime.iso(days: -4)
        let csv = "case_id,customer_id,severity,status,opened_at,closed_at,resolution,updated_at\nk-1,c-1,high,open,\(opened),,,\(opened)\n"
        let dry = try api.call("POST", "/v1/import/cases?dry_run=true", csv, contentType: "text/csv; charset=utf-8")
        #expect(dry.status == 200 && dry["dry_run"] as? Bool == true, "\(dry.response.bodyText)")
        #expect(dry["imported"] as? Int == 0 && dry["would_import"] as? Int == 1 && dry["unchanged"] as? Int == 0)
        #expect(try api.get("/v1/cases/k-1").status == 404)
        let real = try api.call("POST", "/v1/import/cases", csv, contentType: "text/csv")
        #expect(real["imported"] as? Int == 1 && real["dry_run"] == nil && real["would_import"] == nil)
        let again = try api.call("POST", "/v1/import/cases?dry_run=true", csv, contentType: "text/csv")
        #expect(again["would_import"] as? Int == 0 && again["unchanged"] as? Int == 1, "the same rows again would change nothing")
        #expect(try decide("customer_id=c-1&channel=email").codes == ["open_case"])
        // Cases as NDJSON, with an older update that the updated_at guard counts as unchanged.
        let ndjson = #"{"case_id": "k-1", "customer_id": "c-1", "severity": "high", "status": "closed", "opened_at": "\#(opened)", "closed_at": "\#(TestTime.iso(days: -5))", "resolution": "positive", "updated_at": "\#(TestTime.iso(days: -5))"}"#
        let older = try api.call("POST", "/v1/import/cases", ndjson, contentType: "application/x-ndjson")
        #expect(older.status == 400, "closed before it opened")
    }

    @Test func badFilesAndHeaders_AreRefusedClearly() throws {
        // Refused from the head, before the body is read: the connection closes, so each uses its own.
        let media = try APIClient(port: hush.port).call("POST", "/v1/import/suppressions", "x", contentType: "application/json")
        #expect(media.status == 415)
        #expect(media.response.header("Connection") == "close")
        let header = try api.call("POST", "/v1/import/suppressions", "customer_id,knd\nc,opt_out\n", contentType: "text/csv")
        let lines = (header["error"] as? [String: Any])?["lines"] as? [[String: Any]]
        #expect(lines?.first?["line"] as? Int == 1 && lines?.first?["field"] as? String == "knd")
        let long = "customer_id,kind,source\nc-1,opt_out,\(String(repeating: "x", count: 70_000))\nc-2,opt_out,ok\n"
        let overlong = try api.call("POST", "/v1/import/suppressions", long, contentType: "text/csv")
        #expect(((overlong["error"] as? [String: Any])?["lines"] as? [[String: Any]])?.first?["line"] as? Int == 2)
        let quoted = "customer_id,kind,source\nq-1,opt_out,\"two\nlines\"\nq-2,opt_ut,x\n"
        let multi = try api.call("POST", "/v1/import/suppressions", quoted, contentType: "text/csv")
        // The quoted line break is read as part of line 2 (and refused: a source is printable), and
        // the file's own numbering goes on: the bad kind is on line 4.
        #expect(((multi["error"] as? [String: Any])?["lines"] as? [[String: Any]])?.compactMap { $0["line"] as? Int } == [2, 4])
        #expect(try APIClient(port: hush.port).call("POST", "/v1/import/suppressions?dry_run=maybe", "x", contentType: "text/csv").errorField == "dry_run")
        let empty = try api.call("POST", "/v1/import/suppressions", "", contentType: "text/csv")
        #expect(empty.status == 200 && empty["imported"] as? Int == 0)
    }

    @Test func profilesInBulk_AreImported_CountedUnchangedWhenEqual_AndMeetAddressOnlyLists() throws {
        // A registry of numbers with no customer ids, then the CRM's profiles that carry some of them.
        var registry = "address,kind,source\n"
        for i in stride(from: 0, to: 2_000, by: 2) { registry += "+1415555\(String(format: "%04d", i)),do_not_contact,registry\n" }
        #expect(try api.call("POST", "/v1/import/suppressions", registry, contentType: "text/csv")["imported"] as? Int == 1_000)
        var csv = "customer_id,region,timezone,email,phone\n"
        for i in 0..<2_000 {
            csv += "p-\(i),US-CA,America/Los_Angeles,Person.\(i)@Example.com,+1 415 555 \(String(format: "%04d", i))\n"
        }
        let imported = try api.call("POST", "/v1/import/customers", csv, contentType: "text/csv")
        #expect(imported.status == 200, "\(imported.response.bodyText.prefix(500))")
        #expect(imported["imported"] as? Int == 2_000 && imported["unchanged"] as? Int == 0)
        let profile = try api.get("/v1/customers/p-7")["profile"] as? [String: Any]
        #expect(profile?["email"] as? String == "person.7@example.com" && profile?["phone"] as? String == "+14155550007")
        #expect(profile?["timezone"] as? String == "America/Los_Angeles")
        // The registry holds the even numbers: those customers are suppressed by SMS, the others not.
        #expect(try decide("customer_id=p-8&channel=sms&purpose=marketing").codes == ["do_not_contact"])
        #expect(try decide("customer_id=p-9&channel=sms&purpose=marketing").decision == "allow")
        // The same file again writes nothing; one changed row is the one imported.
        let again = try api.call("POST", "/v1/import/customers", csv, contentType: "text/csv")
        #expect(again["imported"] as? Int == 0 && again["unchanged"] as? Int == 2_000)
        let changed = csv.replacingOccurrences(of: "p-5,US-CA,", with: "p-5,US-NY,")
        let once = try api.call("POST", "/v1/import/customers", changed, contentType: "text/csv")
        #expect(once["imported"] as? Int == 1 && once["unchanged"] as? Int == 1_999)
        let history = try api.get("/v1/customers/p-5")["history"] as? [[String: Any]]
        #expect(history?.count == 2 && history?.allSatisfy { $0["via"] as? String == "import" } == true, "\(history ?? [])")
    }

    @Test func profilesInBulk_AnErasedIdStaysErased_AndABadLastLineWritesNothing() throws {
        #expect(try api.call("PUT", "/v1/customers/e-1", #"{"email": "gone@example.com"}"#).status == 201)
        #expect(try api.call("DELETE", "/v1/customers/e-1").status == 200)
        let ndjson = #"{"customer_id": "e-1", "email": "gone@example.com"}"# + "\n" + #"{"customer_id": "n-1", "region": "FR"}"# + "\n"
        let imported = try api.call("POST", "/v1/import/customers", ndjson, contentType: "application/x-ndjson")
        #expect(imported["imported"] as? Int == 2)
        #expect(try decide("customer_id=e-1&channel=email").codes == ["erased"])
        #expect(try decide("address=gone@example.com&channel=email").codes == ["erased"])
        // A bad time zone on the last line: nothing of the file is written.
        var bad = ""
        for i in 0..<1_000 { bad += #"{"customer_id": "b-\#(i)", "region": "DE"}"# + "\n" }
        bad += #"{"customer_id": "b-1000", "timezone": "Mars/Olympus_Mons"}"# + "\n"
        let refused = try api.call("POST", "/v1/import/customers", bad, contentType: "application/x-ndjson")
        #expect(refused.status == 400)
        let lines = (refused["error"] as? [String: Any])?["lines"] as? [[String: Any]]
        #expect(lines?.map { $0["line"] as? Int } == [1_001] && lines?.first?["field"] as? String == "timezone")
        #expect(try api.get("/v1/customers/b-1").status == 404)
        let unknown = try api.call("POST", "/v1/import/customers", "customer_id,colour\nx,red\n", contentType: "text/csv")
        #expect(((unknown["error"] as? [String: Any])?["lines"] as? [[String: Any]])?.first?["field"] as? String == "colour")
    }

    @Test(arguments: ["length", "chunked"])
    func aClientThatHangsUpMidLine_WritesNothing(framing: String) throws {
        var rows = "customer_id,kind\n"
        for i in 0..<500 { rows += "h-\(i),opt_out\n" }
        rows += "h-500,opt_"
        do {
            let raw = try RawClient(port: hush.port)
            var head = "POST /v1/import/suppressions HTTP/1.1\r\nHost: test\r\nContent-Type: text/csv\r\n"
            if framing == "length" {
                head += "Content-Length: \(rows.utf8.count + 1_000)\r\n\r\n"
                try raw.send(head + rows)
            } else {
                // Chunks, without the last (empty) one that ends the body.
                head += "Transfer-Encoding: chunked\r\n\r\n"
                try raw.send(head + String(rows.utf8.count, radix: 16) + "\r\n" + rows + "\r\n")
            }
            raw.shutdownWrite()
            // Until the server closes its side: it has seen the body end early.
            _ = try? raw.readToEnd()
        }
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try decide("customer_id=h-1&channel=email").decision == "allow", "nothing was written")
        #expect((try api.get("/v1/suppressions")["items"] as? [Any])?.isEmpty == true)
        #expect(try Self.stageFiles(in: hush.directory).isEmpty, "the cut-off import's staged rows are gone")
        // The server goes on: the whole file, sent whole, is imported.
        let whole = try api.call("POST", "/v1/import/suppressions", rows + "out\n", contentType: "text/csv")
        #expect(whole["imported"] as? Int == 501)
        #expect(try Self.stageFiles(in: hush.directory).isEmpty, "the written import's staged rows are gone")
    }

    @Test func stageFilesLeftByAStoppedProcess_AreRemovedAtStart() throws {
        let directory = hush.directory
        let leftover = directory.appendingPathComponent("hush.db.import-00112233445566ff")
        let unrelated = directory.appendingPathComponent("notes.import-00112233445566ff")
        for file in [leftover, unrelated] { #expect(FileManager.default.createFile(atPath: file.path, contents: Data("staged rows".utf8))) }
        _ = hush.stop()
        let again = try HushProcess([], environment: ["HUSH_ERASURE_KEY": String(repeating: "i", count: 32)], directory: directory)
        defer { _ = again.stop() }
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        #expect(FileManager.default.fileExists(atPath: unrelated.path), "only this database's stage files")
    }

    /// The job at `path` once it has finished (polled for up to 30 s).
    func finishedJob(_ path: String) throws -> APIClient.Answer {
        for _ in 0..<300 {
            let job = try api.get(path)
            if let state = job["state"] as? String, state == "done" || state == "failed" { return job }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw ClientError("the job at \(path) did not finish within 30 s")
    }

    @Test func respondAsync_Answers202WithTheJob_WhichEndsDoneWithTheCounts() throws {
        var csv = "customer_id,kind,channels\n"
        for i in 0..<20_000 { csv += "async-\(i),opt_out,email\n" }
        let accepted = try api.call("POST", "/v1/import/suppressions", csv, contentType: "text/csv",
                                    headers: [("Prefer", "wait=5, Respond-Async")])
        #expect(accepted.status == 202, "\(accepted.response.bodyText.prefix(300))")
        #expect(accepted.response.header("Preference-Applied") == "respond-async")
        let location = try #require(accepted.response.header("Location"))
        let id = try #require(accepted["job_id"] as? String)
        #expect(location == "/v1/import/jobs/\(id)")
        #expect(["writing", "done"].contains(accepted["state"] as? String ?? ""))
        #expect(accepted["lines_read"] as? Int == 20_001 && accepted["rows_valid"] as? Int == 20_000)
        let job = try finishedJob(location)
        #expect(job["state"] as? String == "done", "\(job.response.bodyText)")
        #expect(job["imported"] as? Int == 20_000 && job["unchanged"] as? Int == 0 && job["rows_written"] as? Int == 20_000)
        #expect(job["kind"] as? String == "suppressions" && job["errors"] as? Int == 0 && job["finished_at"] is String)
        #expect(try decide("customer_id=async-19999&channel=email").codes == ["opted_out"])
        // The listing has it, newest first.
        let listed = try api.get("/v1/import/jobs")["items"] as? [[String: Any]]
        #expect(listed?.first?["job_id"] as? String == id)
    }

    @Test func respondAsync_WithABadLine_IsRefusedAtOnce_AndTheJobSaysWhy() throws {
        let ndjson = #"{"customer_id": "a-1", "kind": "opt_out"}"# + "\n" + #"{"customer_id": "a-2", "kind": "sometimes"}"# + "\n"
        let refused = try api.call("POST", "/v1/import/suppressions", ndjson, contentType: "application/x-ndjson",
                                   headers: [("Prefer", "respond-async")])
        #expect(refused.status == 400 && refused.errorCode == "invalid_field")
        let job = try #require((try api.get("/v1/import/jobs")["items"] as? [[String: Any]])?.first)
        #expect(job["state"] as? String == "failed" && job["errors"] as? Int == 1 && job["lines_read"] as? Int == 2)
        #expect((job["lines"] as? [[String: Any]])?.first?["line"] as? Int == 2)
        #expect((job["lines"] as? [[String: Any]])?.first?["field"] as? String == "kind")
        #expect(try decide("customer_id=a-1&channel=email").decision == "allow", "nothing was written")
        #expect(try api.get("/v1/import/jobs/0123456789abcdef").status == 404)
        #expect(try api.get("/v1/import/jobs/" + String(repeating: "x", count: 200)).status == 400)
    }

    /// Sends `csv` as the start of a suppressions import whose body claims 10,000 bytes more.
    func startUpload(_ csv: String) throws -> RawClient {
        let raw = try RawClient(port: hush.port)
        try raw.send("POST /v1/import/suppressions HTTP/1.1\r\nHost: test\r\nContent-Type: text/csv\r\n"
                     + "Content-Length: \(csv.utf8.count + 10_000)\r\n\r\n" + csv)
        return raw
    }

    /// The newest job, once it has read `lines` lines (or as it is after 5 s).
    func latestJob(once lines: Int) throws -> [String: Any]? {
        var job: [String: Any]?
        for _ in 0..<100 {
            job = (try api.get("/v1/import/jobs")["items"] as? [[String: Any]])?.first
            if job?["lines_read"] as? Int == lines { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return job
    }

    @Test func aJob_ShowsRowsAsTheyArrive_AndAnUploadCutOffFails() throws {
        var first = "customer_id,kind\n"
        for i in 0..<3_000 { first += "p-\(i),opt_out\n" }
        let raw = try startUpload(first)
        let receiving = try latestJob(once: 3_001)
        #expect(receiving?["state"] as? String == "receiving")
        #expect(receiving?["lines_read"] as? Int == 3_001, "the header line and 3,000 rows")
        #expect(receiving?["rows_valid"] as? Int == 3_000 && receiving?["finished_at"] is NSNull)
        raw.shutdownWrite()
        _ = try? raw.readToEnd()
        let id = try #require(receiving?["job_id"] as? String)
        let ended = try finishedJob("/v1/import/jobs/\(id)")
        #expect(ended["state"] as? String == "failed")
        #expect((ended["error"] as? String ?? "").contains("upload ended"))
        #expect(try decide("customer_id=p-1&channel=email").decision == "allow", "nothing was written")
    }

    @Test func afterABadLine_NothingMoreIsStaged_ButLinesAreStillCheckedAndCounted() throws {
        var body = "customer_id,kind\nb-0,sometimes\n"
        for i in 1...3_000 { body += "b-\(i),opt_out\n" }
        let raw = try startUpload(body)
        let job = try latestJob(once: 3_002)
        #expect(job?["state"] as? String == "receiving" && job?["errors"] as? Int == 1)
        #expect(job?["rows_valid"] as? Int == 3_000)
        #expect((job?["lines"] as? [[String: Any]])?.first?["line"] as? Int == 2)
        #expect(try Self.stageFiles(in: hush.directory).isEmpty, "a refused import stages nothing")
        raw.shutdownWrite()
        _ = try? raw.readToEnd()
    }
}
