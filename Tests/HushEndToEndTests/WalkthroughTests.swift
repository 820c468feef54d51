import Foundation
import Testing
import HushTestSupport

private let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("README.md")

/// The README's walkthrough, taken from the README itself and run with bash and curl against
/// the built binary on a fresh database. Every command with a trailing comment is checked
/// against it:
/// - `# allow`: the decision is allow, with no reasons;
/// - `# suppress: a, b`: the decision is suppress, with exactly these reason codes in order,
///   and `; retry_after T` names its retry_after;
/// - `# {...}`: the answer holds these fields with these values (objects compared key by key,
///   arrays element by element).
/// Any other trailing comment fails the test, so the README carries no claim left unchecked.
@Suite struct WalkthroughTests {
    struct Step {
        let line: Int
        let command: String
        let outcome: String
    }

    /// The walkthrough's shell block: the one in "## Walkthrough" that sets `H`.
    static func walkthrough() throws -> String {
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: "\n## Walkthrough\n"))
        let end = text.range(of: "\n## ", range: start.upperBound..<text.endIndex)?.lowerBound ?? text.endIndex
        let blocks = text[start.upperBound..<end].components(separatedBy: "```sh\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        return try #require(blocks.first { $0.hasPrefix("H=http://127.0.0.1:8080\n") }, "a block starting H=http://127.0.0.1:8080")
    }

    /// The block with each checked command's output sent to `$OUT/<n>`, and the steps to check.
    static func instrument(_ block: String, url: String) -> (script: String, steps: [Step]) {
        var lines: [String] = ["set -eu"]
        var steps: [Step] = []
        for (index, line) in block.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(line)
            if line == "H=http://127.0.0.1:8080" { line = "H=\(url)" }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !trimmed.hasPrefix("#"), let marker = line.range(of: "  # ") {
                let command = String(line[..<marker.lowerBound])
                let outcome = String(line[marker.upperBound...]).trimmingCharacters(in: .whitespaces)
                steps.append(Step(line: index + 1, command: command, outcome: outcome))
                line = command + " > \"$OUT/\(steps.count - 1)\""
            }
            lines.append(line)
        }
        return (lines.joined(separator: "\n") + "\n", steps)
    }

    @Test func theReadmesWalkthrough_GivesTheAnswersItsCommentsShow() throws {
        let block = try Self.walkthrough()
        let hush = try HushProcess(["--threads", "2"])
        let work = hush.directory.appendingPathComponent("walkthrough")
        let out = work.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // Every curl gives up after 20 s rather than hang the test.
        try Data("max-time = 20\n".utf8).write(to: work.appendingPathComponent(".curlrc"))
        let (script, steps) = Self.instrument(block, url: "http://127.0.0.1:\(hush.port)")
        #expect(steps.count >= 20, "the walkthrough's checked commands")
        try Data(script.utf8).write(to: work.appendingPathComponent("walkthrough.sh"))

        let bash = try Command.run("bash", ["walkthrough.sh"], environment: ["OUT": out.path, "CURL_HOME": work.path],
                                   directory: work.path, seconds: 300)
        #expect(bash.status == 0, "the walkthrough failed: \(bash.err)")

        for (n, step) in steps.enumerated() {
            let context = "README walkthrough line \(step.line): \(step.command.trimmingCharacters(in: .whitespaces))"
            guard let data = FileManager.default.contents(atPath: out.appendingPathComponent(String(n)).path),
                  let answer = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                Issue.record("no JSON answer; \(context)")
                continue
            }
            if let problem = Self.check(answer, against: step.outcome) { Issue.record("\(problem); \(context)") }
        }
    }

    /// Nil when `answer` is what `outcome` says; otherwise what differs.
    static func check(_ answer: [String: Any], against outcome: String) -> String? {
        let decision = answer["decision"] as? String
        let codes = (answer["reasons"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        if outcome == "allow" {
            return decision == "allow" && codes.isEmpty ? nil : "expected allow, got \(decision ?? "no decision") \(codes)"
        }
        if outcome.hasPrefix("suppress: ") {
            let parts = outcome.dropFirst("suppress: ".count).split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let expected = parts[0].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard decision == "suppress", codes == expected else { return "expected suppress \(expected), got \(decision ?? "no decision") \(codes)" }
            for extra in parts.dropFirst() {
                guard extra.hasPrefix("retry_after ") else { return "unrecognised part of the comment: \(extra)" }
                let time = String(extra.dropFirst("retry_after ".count))
                if answer["retry_after"] as? String != time { return "expected retry_after \(time), got \(answer["retry_after"] ?? "none")" }
            }
            return nil
        }
        if outcome.hasPrefix("{") {
            guard let expected = try? JSONSerialization.jsonObject(with: Data(outcome.utf8)) else { return "the comment is not JSON: \(outcome)" }
            return contains(answer, expected) ? nil : "the answer lacks \(outcome)"
        }
        return "unrecognised outcome comment: \(outcome)"
    }

    /// Whether `value` holds everything `expected` does.
    static func contains(_ value: Any, _ expected: Any) -> Bool {
        switch expected {
        case let object as [String: Any]:
            guard let actual = value as? [String: Any] else { return false }
            return object.allSatisfy { key, inner in actual[key].map { contains($0, inner) } ?? false }
        case let array as [Any]:
            guard let actual = value as? [Any], actual.count == array.count else { return false }
            return zip(actual, array).allSatisfy { contains($0, $1) }
        default:
            return (value as? NSObject)?.isEqual(expected) == true
        }
    }

    @Test func theChecker_RefusesWhatTheAnswerDoesNotSay() {
        let answer: [String: Any] = ["decision": "suppress", "retry_after": "2026-11-24T16:00:00Z",
                                     "reasons": [["code": "quiet_hours"], ["code": "low_willingness"]], "removed": ["cases": 1]]
        #expect(Self.check(answer, against: "suppress: quiet_hours, low_willingness; retry_after 2026-11-24T16:00:00Z") == nil)
        #expect(Self.check(answer, against: "suppress: quiet_hours") != nil, "a reason the comment leaves out")
        #expect(Self.check(answer, against: "suppress: low_willingness, quiet_hours") != nil, "order")
        #expect(Self.check(answer, against: "suppress: quiet_hours, low_willingness; retry_after 2026-11-24T17:00:00Z") != nil)
        #expect(Self.check(answer, against: "allow") != nil)
        #expect(Self.check(answer, against: #"{"removed": {"cases": 1}}"#) == nil)
        #expect(Self.check(answer, against: #"{"removed": {"cases": 2}}"#) != nil)
        #expect(Self.check(answer, against: #"{"removed": {"profile": 0}}"#) != nil, "a key the answer lacks")
        #expect(Self.check(answer, against: "looks fine") != nil, "prose is not an outcome")
        let script = Self.instrument("H=http://127.0.0.1:8080\n# prose  # not a step\ncurl -s $H/x   # allow\n", url: "http://u").script
        #expect(script == "set -eu\nH=http://u\n# prose  # not a step\ncurl -s $H/x  > \"$OUT/0\"\n\n")
    }
}

/// The README's production quick start, without Docker (not available where tests run): its
/// configuration, with the hash `hush hash-key` prints for a fresh key, and its request, against
/// the built binary on loopback with an erasure key from the environment.
@Suite struct ProductionQuickStartTests {
    @Test func theQuickStartsConfigAndRequest_WorkWithTheBinary() throws {
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: "\n## In production\n"))
        let section = text[start.upperBound...].components(separatedBy: "\n## ")[0]
        let block = try #require(section.components(separatedBy: "```sh\n").dropFirst().first?.components(separatedBy: "```").first)
        for needed in ["docker run", "--env-file hush.env", "HUSH_ERASURE_KEY=", "openssl rand -hex 32 > erasure.key", "Authorization: Bearer"] {
            #expect(block.contains(needed), "\(needed)")
        }
        // The configuration between `cat > prod.json <<EOF` and `EOF`, with the hash substituted.
        let heredoc = try #require(block.components(separatedBy: "cat > prod.json <<EOF\n").dropFirst().first?.components(separatedBy: "\nEOF\n").first)
        let command = "$(docker run --rm -i hush hash-key < platform.key)"
        #expect(heredoc.contains(command))
        let key = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let hashed = try HushProcess.run(["hash-key"], input: key + "\n")
        #expect(hashed.status == 0)
        let config = heredoc.replacingOccurrences(of: command, with: hashed.out.trimmingCharacters(in: .whitespacesAndNewlines))

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-prod-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(config.utf8).write(to: directory.appendingPathComponent("prod.json"))
        let erasureKey = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let hush = try HushProcess(["--config", "prod.json", "--port", "0", "--database", "hush.db"], environment: ["HUSH_ERASURE_KEY": erasureKey],
                                   addDefaults: false, directory: directory)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("hush.db.erasure-key").path), "the erasure key came from the environment")

        // The request of the block's curl line.
        let url = try #require(block.range(of: #"curl -s "http://127.0.0.1:8080"#).map { block[$0.upperBound...].prefix { $0 != "\"" } })
        let api = try APIClient(port: hush.port, key: key)
        let answer = try api.get(String(url))
        #expect(answer.status == 200 && answer.decision == "allow", "\(answer.response.bodyText)")
        #expect(try APIClient(port: hush.port).get(String(url)).status == 401, "no key")
        #expect(try api.get("/v1/customers/c-1042").status == 403, "decide only: no read")
    }
}
