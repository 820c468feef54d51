import ArgumentParser
import Foundation
import HushCore
import HushLog
import HushStore
#if canImport(Glibc)
import Glibc
#endif

/// `hush import suppressions|cases|customers FILE|-`: the API's bulk import (the same checks, all or
/// nothing, `--dry-run`), written into the database file directly, under its write lock: so
/// never beside a serving hush, whose caches it would leave stale (import through that one's
/// API instead).
struct ImportCommand: ParsableCommand {
    typealias Kind = ImportSink.Kind

    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import suppressions, cases or customers' profiles from a CSV or NDJSON file into the database, all or nothing, as POST /v1/import/… does.",
        discussion: """
            Writes the database file directly: refused while a hush serves it (import through its API \
            then: curl --data-binary @FILE …/v1/import/suppressions). The history records each row's \
            change as made by "cli". On a terminal, progress is shown on standard error; the result is \
            one line on standard output. Bad lines are listed (the first 100) and nothing is written.
            """)

    @Argument(help: ArgumentHelp("suppressions, cases or customers.", valueName: "kind"))
    var kind: Kind

    @Argument(help: ArgumentHelp("The file, or - for standard input.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("csv or ndjson (default: from the file's extension, .ndjson or .jsonl for NDJSON; csv otherwise).", valueName: "format"))
    var format: Export.Format?

    @Flag(name: .customLong("dry-run"), help: "Check every row and count what would change; write nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Import through this running hush instead (http://host:port or https://…), with the API key in HUSH_API_KEY.",
                               valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("With --url: seconds to wait for each read and write.", valueName: "seconds"))
    var timeout: Double = 600

    @OptionGroup var location: StoreLocation

    func run() throws {
        let input: Int32
        if file == "-" {
            input = STDIN_FILENO
        } else {
            input = open(file, O_RDONLY | O_CLOEXEC)
            guard input >= 0 else { fail("cannot read \(file): \(String(cString: strerror(errno)))") }
        }
        let fileFormat = format ?? (file.hasSuffix(".ndjson") || file.hasSuffix(".jsonl") ? .ndjson : .csv)
        if let url { return importThrough(url, input: input, format: fileFormat) }
        let config = location.settings().config
        let path = config.server.database
        let recordFormat: RecordSplitter.Format = switch fileFormat {
        case .csv: .csv
        case .ndjson: .ndjson
        }
        // The erasure key: the writer marks the records of erased customers as it writes. Never
        // made here: a key invented for an existing database would match none of its tombstones.
        let existing: [UInt8]?
        do throws(ConfigError) { existing = try Service.existingDevelopmentKey(beside: path) } catch { fail(error.message) }
        guard let key = config.erasureKey.map({ Array($0.utf8) }) ?? existing else {
            fail("an import needs the database's erasure key (HUSH_ERASURE_KEY or erasure_key; on loopback, \(path).erasure-key)")
        }
        let lock: WriteLock, store: SQLiteStore, api: API
        do {
            try DatabaseFile.prepare(path: path)
            lock = try WriteLock.acquire(path: path)
            ImportStageFiles.removeLeftovers(beside: path)
            let hasher = try SharedTombstoneHasher(key: key)
            store = try SQLiteStore(path: path, lookback: config.policy.longestWindow, tombstoneHash: hasher.hash, renderHistory: Service.renderHistory)
            var logOptions = DecisionLog.Options()
            logOptions.sink = .off
            api = try API(store: store, config: config, erasureKey: key, writerHasher: hasher, loops: 1,
                          decisionLog: try DecisionLog(options: logOptions), log: { _ in })
        } catch let error as StoreError {
            fail(error.message)
        } catch {
            fail("\(error)")
        }
        defer {
            store.close()
            withExtendedLifetime(lock) {}
        }
        let sink = ImportSink(api: api, kind: kind, format: recordFormat, dryRun: dryRun,
                              actor: Actor(name: "cli", via: .cli))
        var info = stat()
        let total = fstat(input, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil
        let progress = isatty(STDERR_FILENO) == 1 ? Progress(total: total) : nil
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var bytesRead = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { fail("cannot read \(file): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            buffer.withUnsafeBytes { sink.consume(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            bytesRead += n
            progress?.update(lines: sink.rowsRead, bytes: bytesRead)
        }
        progress?.end()
        let started = Date()
        if let (message, lines) = sink.refusal() {
            for line in lines {
                FileHandle.standardError.write(Data("\(file):\(line.line): \(line.field.map { "\($0): " } ?? "")\(line.message)\n".utf8))
            }
            fail(message)
        }
        let counts: (imported: Int, unchanged: Int)
        do {
            let (write, release) = try sink.writeJob()
            defer { release() }
            counts = try store.writeAndWait(as: Actor(name: "cli", via: .cli), write)
        } catch {
            fail(error.message)
        }
        let seconds = String(format: "%.1f s", Date().timeIntervalSince(started) + (progress?.elapsed ?? 0))
        if dryRun {
            print("dry run: would import \(counts.imported) \(kind.rawValue), \(counts.unchanged) unchanged; nothing was written (\(seconds))")
        } else {
            print("imported \(counts.imported) \(kind.rawValue), \(counts.unchanged) unchanged (\(seconds))")
        }
    }
}

extension ImportCommand {
    /// `--url`: the file goes to a running hush's import endpoint, streamed (its length when it
    /// is a file, chunked from standard input), and its answer is reported as a local import's.
    func importThrough(_ base: String, input: Int32, format: Export.Format) {
        guard timeout > 0, timeout <= 86_400 else { fail("--timeout must be between 0 and 86400 seconds") }
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        guard var target = HealthProbe.parse(trimmed), target.path == "/" else { fail("--url must be http://host:port or https://host:port, not \(base)") }
        target.path = "/v1/import/\(kind.rawValue)" + (dryRun ? "?dry_run=true" : "")
        let connection: ClientConnection
        switch ClientConnection.open(target, timeout: timeout) {
        case .success(let opened): connection = opened
        case .failure(let error): fail(error.description)
        }
        var info = stat()
        let length = fstat(input, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil
        var head = "POST \(target.path) HTTP/1.1\r\nHost: \(target.hostField)\r\nConnection: close\r\n"
        head += "Content-Type: \(format == .csv ? "text/csv" : "application/x-ndjson")\r\n"
        if let key = ProcessInfo.processInfo.environment["HUSH_API_KEY"], !key.isEmpty { head += "Authorization: Bearer \(key)\r\n" }
        head += length.map { "Content-Length: \($0)\r\n\r\n" } ?? "Transfer-Encoding: chunked\r\n\r\n"
        let started = Date()
        guard Array(head.utf8).withUnsafeBytes({ connection.send($0) }) else { fail("the server closed the connection") }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var sent = true
        while sent {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { fail("cannot read \(file): \(String(cString: strerror(errno)))") }
            if length == nil {
                let frame = Array((String(n, radix: 16) + "\r\n").utf8) + (n > 0 ? Array(buffer[0..<n]) : []) + Array("\r\n".utf8)
                sent = frame.withUnsafeBytes { connection.send($0) }
            } else if n > 0 {
                sent = buffer.withUnsafeBytes { connection.send(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            if n == 0 { break }
        }
        // A server that answers early (a 400 on the header line) may close before the rest.
        let answer = connection.receiveAll(limit: 16 << 20)
        guard let split = answer.firstRange(of: Array("\r\n\r\n".utf8)) else {
            fail(sent ? "no answer from \(base) within \(Int(timeout)) s" : "the server closed the connection")
        }
        let statusLine = String(decoding: answer[..<split.lowerBound].prefix { $0 != 13 }, as: UTF8.self)
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        let body = (try? JSONParser.parse(Array(answer[split.upperBound...]))) ?? .null
        func member(_ value: JSONValue, _ name: String) -> JSONValue? {
            if case .object(let members) = value { return members.first { $0.key == name }?.value }
            return nil
        }
        func integer(_ name: String) -> Int { if case .integer(let n)? = member(body, name) { return Int(n) } else { return 0 } }
        let seconds = String(format: "%.1f s", Date().timeIntervalSince(started))
        guard status == 200 else {
            let error = member(body, "error")
            if case .array(let lines)? = error.flatMap({ member($0, "lines") }) {
                for line in lines {
                    var text = "\(file):"
                    if case .integer(let n)? = member(line, "line") { text += "\(n): " }
                    if case .string(let field)? = member(line, "field") { text += "\(field): " }
                    if case .string(let message)? = member(line, "message") { text += message }
                    FileHandle.standardError.write(Data((text + "\n").utf8))
                }
            }
            var message = "the server answered \(status)"
            if case .string(let text)? = error.flatMap({ member($0, "message") }) { message = text }
            fail(message)
        }
        if dryRun {
            print("dry run: would import \(integer("would_import")) \(kind.rawValue), \(integer("unchanged")) unchanged; nothing was written (\(seconds))")
        } else {
            print("imported \(integer("imported")) \(kind.rawValue), \(integer("unchanged")) unchanged (\(seconds))")
        }
    }
}

/// A progress line on a terminal: lines read, their rate, and (for a file) the time left.
private final class Progress {
    let total: Int?
    let start = Date()
    private var last = Date.distantPast
    private var shown = false

    init(total: Int?) { self.total = total }

    var elapsed: TimeInterval { Date().timeIntervalSince(start) }

    func update(lines: Int, bytes: Int) {
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.2 else { return }
        last = now
        let seconds = max(0.001, now.timeIntervalSince(start))
        var text = "\r  \(lines) lines read, \(Int(Double(lines) / seconds)) lines/s"
        if let total, total > 0, bytes > 0 {
            let left = seconds * Double(total - bytes) / Double(bytes)
            text += String(format: ", %d%%, about %.0f s left", bytes * 100 / total, left)
        }
        FileHandle.standardError.write(Data((text + "   ").utf8))
        shown = true
    }

    func end() {
        if shown { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension ImportSink.Kind: ExpressibleByArgument {}
