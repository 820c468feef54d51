import ArgumentParser
import Foundation
import HushCore
import HushLog
import HushStore
#if canImport(Glibc)
import Glibc
#endif

/// `hush import suppressions|cases FILE|-`: the API's bulk import (the same checks, all or
/// nothing, `--dry-run`), written into the database file directly, under its write lock: so
/// never beside a serving hush, whose caches it would leave stale (import through that one's
/// API instead).
struct ImportCommand: ParsableCommand {
    enum Kind: String, ExpressibleByArgument, CaseIterable { case suppressions, cases }

    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import suppressions or cases from a CSV or NDJSON file into the database, all or nothing, as POST /v1/import/… does.",
        discussion: """
            Writes the database file directly: refused while a hush serves it (import through its API \
            then: curl --data-binary @FILE …/v1/import/suppressions). The history records each row's \
            change as made by "cli". On a terminal, progress is shown on standard error; the result is \
            one line on standard output. Bad lines are listed (the first 100) and nothing is written.
            """)

    @Argument(help: ArgumentHelp("suppressions or cases.", valueName: "kind"))
    var kind: Kind

    @Argument(help: ArgumentHelp("The file, or - for standard input.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("csv or ndjson (default: from the file's extension, .ndjson or .jsonl for NDJSON; csv otherwise).", valueName: "format"))
    var format: Export.Format?

    @Flag(name: .customLong("dry-run"), help: "Check every row and count what would change; write nothing.")
    var dryRun = false

    @OptionGroup var location: StoreLocation

    func run() throws {
        let config = location.settings().config
        let path = config.server.database
        let input: Int32
        if file == "-" {
            input = STDIN_FILENO
        } else {
            input = open(file, O_RDONLY | O_CLOEXEC)
            guard input >= 0 else { fail("cannot read \(file): \(String(cString: strerror(errno)))") }
        }
        let recordFormat: RecordSplitter.Format = switch format ?? (file.hasSuffix(".ndjson") || file.hasSuffix(".jsonl") ? .ndjson : .csv) {
        case .csv: .csv
        case .ndjson: .ndjson
        }
        // The erasure key: the writer marks the records of erased customers as it writes. Never
        // made here: a key invented for an existing database would match none of its tombstones.
        guard let key = config.erasureKey.map({ Array($0.utf8) }) ?? Decide.developmentKey(beside: path) else {
            fail("an import needs the database's erasure key (HUSH_ERASURE_KEY or erasure_key; on loopback, \(path).erasure-key)")
        }
        let lock: WriteLock, store: SQLiteStore, api: API
        do {
            try DatabaseFile.prepare(path: path)
            lock = try WriteLock.acquire(path: path)
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
        let sink = ImportSink(api: api, kind: kind == .suppressions ? .suppressions : .cases, format: recordFormat, dryRun: dryRun,
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
        do { counts = try store.writeAndWait(as: Actor(name: "cli", via: .cli), sink.writeJob()) } catch { fail(error.message) }
        let seconds = String(format: "%.1f s", Date().timeIntervalSince(started) + (progress?.elapsed ?? 0))
        if dryRun {
            print("dry run: would import \(counts.imported) \(kind.rawValue), \(counts.unchanged) unchanged; nothing was written (\(seconds))")
        } else {
            print("imported \(counts.imported) \(kind.rawValue), \(counts.unchanged) unchanged (\(seconds))")
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
