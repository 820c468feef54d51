import Foundation
import Glibc
import Synchronization
import Testing
@testable import HushLog

/// A settable clock, in milliseconds since 1970.
final class TestClock: Sendable {
    private let now: Mutex<UInt64>
    init(_ text: String) { now = Mutex(Self.ms(text)) }
    static func ms(_ text: String) -> UInt64 { UInt64(ISO8601DateFormatter().date(from: text)!.timeIntervalSince1970 * 1000) }
    func set(_ text: String) { now.withLock { $0 = Self.ms(text) } }
    var current: UInt64 { now.withLock { $0 } }
}

/// A UUIDv7 text for `ms` and `n`, as hush writes decision ids.
func decisionID(ms: UInt64, _ n: Int) -> String {
    let hex = String(ms, radix: 16)
    let time = String(repeating: "0", count: 12 - hex.count) + hex
    let tail = String(n, radix: 16)
    return "\(time.prefix(8))-\(time.suffix(4))-7abc-8def-\(String(repeating: "0", count: 12 - tail.count) + tail)"
}

/// A subject hash: 32 hex digits from a name.
func subject(_ name: String) -> String {
    var state: UInt64 = 0xcbf29ce484222325
    var out = ""
    for round in 0..<2 {
        for b in name.utf8 { state = (state ^ UInt64(b)) &* 0x100000001b3 }
        state = (state ^ UInt64(round)) &* 0x100000001b3
        let hex = String(state, radix: 16)
        out += String(repeating: "0", count: 16 - hex.count) + hex
    }
    return out
}

struct Logged {
    let id: String, ms: UInt64, customer: String?, line: String
}

final class LogHarness {
    let directory: String
    let clock: TestClock
    var log: DecisionLog
    var options: DecisionLog.Options
    var counter = 0

    init(clock: String = "2026-12-02T10:00:00Z", configure: (inout DecisionLog.Options) -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-log-\(UUID().uuidString)").path
        self.clock = TestClock(clock)
        options = DecisionLog.Options()
        options.directory = directory
        options.loops = 2
        let c = self.clock
        options.clock = { c.current }
        options.flushInterval = .milliseconds(2)
        configure(&options)
        log = try DecisionLog(options: options)
    }

    deinit { log.close() }

    @discardableResult
    func append(customer: String?, address: String? = nil, loop: Int = 0, decision: String = "allow") -> Logged {
        counter += 1
        let ms = clock.current + UInt64(counter % 1000)
        let id = decisionID(ms: ms, counter)
        let customerField = customer.map { "\"\($0)\"" } ?? "null"
        let addressField = address.map { ",\"address\":\"\($0)\"" } ?? ""
        let line = #"{"decision_id":"\#(id)","made_at":"x","customer":\#(customerField)\#(addressField),"channel":"email","decision":"\#(decision)","reasons":[],"key":"test"}"#
        let outcome = Array(line.utf8).withUnsafeBytes {
            log.append(loop: loop, ms: ms, customer: customer.flatMap(DecisionLog.hash64) ?? 0, address: address.flatMap(DecisionLog.hash64) ?? 0, line: $0)
        }
        #expect(outcome == .recorded)
        return Logged(id: id, ms: ms, customer: customer, line: line)
    }

    func find(_ logged: Logged) throws -> String? {
        try log.line(id: logged.id, ms: logged.ms).map { String(decoding: $0, as: UTF8.self) }
    }

    func lines(of customer: String, limit: Int = 1000, before: String? = nil) throws -> [String] {
        try log.lines(customer: customer, fromMs: 0, toMs: .max, before: before, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Moves to `time` and appends a line there, which makes the writer open that hour's segment.
    func rotate(to time: String) {
        log.flush()
        clock.set(time)
        append(customer: nil)
        log.flush()
        log.waitForMaintenance()
    }

    func files() -> [String] { File.list(directory).sorted() }

    /// Every byte the directory's files hold, segments decompressed (an open one as far as it
    /// was written).
    func allContent() throws -> String {
        var out = ""
        for file in files() {
            let bytes = try File.readAll(directory + "/" + file)
            out += file.hasSuffix(".zst") ? decompressed(bytes) : String(decoding: bytes, as: UTF8.self)
        }
        return out
    }

    func restart(configure: (inout DecisionLog.Options) -> Void = { _ in }) throws {
        log.close()
        configure(&options)
        log = try DecisionLog(options: options)
    }
}

extension Zstd.Compressor {
    /// `input` as one whole frame.
    func frame(_ input: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        try input.withUnsafeBytes { try compress($0, .end, into: &out) }
        return out
    }
}

/// A segment's lines: its whole frames, then what the open one gives so far.
func decompressed(_ bytes: [UInt8]) -> String {
    var out = ""
    let end = bytes.withUnsafeBytes { all in
        Zstd.frames(in: all) { _, frame in
            guard case .success(let content) = Zstd.decompress(frame, limit: 1 << 24) else { return false }
            out += String(decoding: content, as: UTF8.self)
            return true
        }
    }
    if end < bytes.count, case .success(let rest) = bytes.withUnsafeBytes({ Zstd.decompress(UnsafeRawBufferPointer(rebasing: $0[end...]), limit: 1 << 24, ending: .open) }) {
        out += String(decoding: rest, as: UTF8.self)
    }
    return out
}

@Suite struct DecisionLogTests {
    @Test func lines_AreCompressedAsWritten_AndFoundByIdAndByCustomer_WhileOpen_AndOnceIndexed() throws {
        let h = try LogHarness()
        let a = subject("a"), b = subject("b")
        var logged: [Logged] = []
        for i in 0..<3000 { logged.append(h.append(customer: i % 3 == 0 ? a : b, loop: i % 2)) }
        #expect(try h.find(logged[1234])?.contains(logged[1234].id) == true)
        #expect(try h.lines(of: a).count == 1000)
        let newest = try h.lines(of: a, limit: 5)
        let expected = logged.filter { $0.customer == a }.sorted { $0.id > $1.id }.prefix(5).map(\.line)
        #expect(newest == Array(expected))
        // Open: no index yet, and the file already decompresses to every line written, its last
        // frame flushed but not ended.
        h.log.flush()
        #expect(h.files() == ["decisions-20261202T10-00.ndjson.zst"])
        let open = try File.readAll(h.directory + "/decisions-20261202T10-00.ndjson.zst")
        #expect(decompressed(open).split(separator: "\n").count == 3000)
        #expect(open.count < 3000 * 40, "compressed as written: \(open.count) bytes")
        #expect(throws: Zstd.Failure.self, "the last frame is not ended") { try Zstd.forEachFrame(open, limit: 1 << 24) { _ in } }

        h.rotate(to: "2026-12-02T11:00:00Z")
        #expect(h.files().contains("decisions-20261202T10-00.ndjson.zst"))
        #expect(h.files().contains("decisions-20261202T10-00.idx"))
        // Closed: every frame ended, the blocks decompress to the very lines, in order, and
        // lookups still find them.
        let zst = try File.readAll(h.directory + "/decisions-20261202T10-00.ndjson.zst")
        var inflated = ""
        try Zstd.forEachFrame(zst, limit: 1 << 24) { inflated += String(decoding: $0, as: UTF8.self) }
        #expect(zst.starts(with: open))
        #expect(inflated.split(separator: "\n").count == 3000)
        #expect(Set(inflated.split(separator: "\n").map(String.init)) == Set(logged.map(\.line)))
        for i in [0, 1, 999, 2999] { #expect(try h.find(logged[i]) == logged[i].line) }
        #expect(try h.lines(of: a, limit: 5) == Array(expected))
        #expect(try h.lines(of: b).count == 1000)
        // Paged: after the fifth, the next five.
        let page2 = try h.lines(of: a, limit: 5, before: logged.first { $0.line == expected[4] }!.id)
        #expect(page2 == Array(logged.filter { $0.customer == a }.sorted { $0.id > $1.id }.dropFirst(5).prefix(5).map(\.line)))
        #expect(try h.find(Logged(id: decisionID(ms: logged[0].ms, 999_999), ms: logged[0].ms, customer: nil, line: "")) == nil)
    }

    @Test func anErasure_RemovesTheSubjectsLines_FromEverySegment_AndKeepsTheRest() throws {
        let h = try LogHarness()
        let gone = subject("gone"), goneAddress = subject("gone@example.com"), stays = subject("stays")
        for i in 0..<500 { h.append(customer: i % 2 == 0 ? gone : stays) }
        h.append(customer: nil, address: goneAddress)
        h.rotate(to: "2026-12-02T11:00:00Z")
        for _ in 0..<50 { h.append(customer: gone); h.append(customer: stays) }
        h.log.flush()
        #expect(try h.allContent().contains(gone))

        try h.log.erase(subjects: [gone, goneAddress])
        #expect(try h.lines(of: gone).isEmpty, "unreachable at once")
        // Lines still waiting in a buffer are left out too.
        h.append(customer: gone)
        h.log.flush()
        h.log.waitForMaintenance()
        let content = try h.allContent()
        #expect(!content.contains(gone) && !content.contains(goneAddress))
        #expect(try h.lines(of: stays).count == 300)
        #expect(h.log.stats.pendingErasures == 0)
        #expect(h.log.stats.erasedUnwritten == 1)
        #expect(try File.readAll(h.directory + "/erasures.pending").isEmpty)
    }

    @Test func retention_DeletesSegmentsByAge_ThenByTotalSize_NeverTheOpenOne() throws {
        let h = try LogHarness { $0.retentionDays = 2; $0.maxBytes = 1 << 30 }
        for hour in ["2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z", "2026-12-03T09:00:00Z", "2026-12-03T10:00:00Z"] {
            h.clock.set(hour)
            for _ in 0..<200 { h.append(customer: subject("c")) }
            h.log.flush()
        }
        h.rotate(to: "2026-12-03T11:00:00Z")
        h.log.maintenance!.applyRetention()
        // 2026-12-01T10 is older than two days before 12-03T11; the others stay.
        #expect(!h.files().contains { $0.hasPrefix("decisions-20261201T10") })
        #expect(h.files().contains("decisions-20261202T10-00.ndjson.zst"))
        #expect(h.files().contains("decisions-20261203T10-00.ndjson.zst"))

        try h.restart { $0.maxBytes = 1 }
        h.rotate(to: "2026-12-03T12:00:00Z")
        h.log.maintenance!.applyRetention()
        #expect(h.files() == ["decisions-20261203T12-00.ndjson.zst"], "over the size, every closed segment goes; the open one stays")
    }

    @Test func aRestart_IndexesWhatACrashLeftOpen_CutsATornEnd_AndRebuildsADamagedIndex() throws {
        let h = try LogHarness()
        let c = subject("c")
        let first = (0..<100).map { _ in h.append(customer: c) }
        h.rotate(to: "2026-12-02T11:00:00Z")
        let second = (0..<100).map { _ in h.append(customer: c) }
        h.log.close()
        // As a crash leaves it: the 11:00 segment without its index, a last frame flushed but
        // not ended, and a torn write after it; and the 10:00 index cut short.
        let path = h.directory + "/decisions-20261202T11-00.ndjson.zst"
        #expect(unlink(h.directory + "/decisions-20261202T11-00.idx") == 0)
        let third = (0..<3).map { n in
            let id = decisionID(ms: h.clock.current + 500, 90_000 + n)
            return Logged(id: id, ms: h.clock.current + 500, customer: c,
                          line: #"{"decision_id":"\#(id)","customer":"\#(c)","decision":"allow"}"#)
        }
        let compressor = try Zstd.Compressor()
        var unended: [UInt8] = []
        let flushed = Array(third.map { $0.line + "\n" }.joined().utf8)
        try flushed.withUnsafeBytes { try compressor.compress($0, .flush, into: &unended) }
        let torn = try compressor.frame(Array(#"{"decision_id":"torn","customer":"x"}"#.utf8) + [0x0A])
        let fd = open(path, O_WRONLY | O_APPEND)
        _ = unended.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        _ = torn.withUnsafeBytes { write(fd, $0.baseAddress, $0.count - 5) }
        close(fd)
        #expect(truncate(h.directory + "/decisions-20261202T10-00.idx", 50) == 0)

        try h.restart()
        #expect(h.files().contains("decisions-20261202T11-00.idx"))
        for logged in [first[0], first[99], second[0], second[99]] + third { #expect(try h.find(logged) == logged.line) }
        #expect(try h.lines(of: c).count == 203)
        // Whole again: every frame ended, nothing of the torn write.
        var lines = 0
        try Zstd.forEachFrame(try File.readAll(path), limit: 1 << 24) { lines += String(decoding: $0, as: UTF8.self).split(separator: "\n").count }
        #expect(lines == 1 + 100 + 3, "the line that opened the hour, the hundred, and the three flushed before the crash")
        #expect(try !h.allContent().contains("torn"))
    }

    /// Damage in a block's content (its checksum fails, its length is still known) and in the
    /// headers just after the frame's (its length cannot be found: the blocks after it are
    /// found again by their magic number).
    @Test(arguments: [false, true])
    func aRepair_LeavesOutADamagedBlock_AndKeepsTheBlocksAfterIt(damagingItsStructure: Bool) throws {
        let h = try LogHarness()
        let c = subject("c")
        let logged = (0..<1200).map { _ in h.append(customer: c) }
        h.rotate(to: "2026-12-02T11:00:00Z")
        h.log.close()
        let path = h.directory + "/decisions-20261202T10-00.ndjson.zst"
        var data = try File.readAll(path)
        var blocks: [(range: Range<Int>, lines: Set<String>)] = []
        data.withUnsafeBytes { bytes in
            _ = Zstd.frames(in: bytes) { offset, frame in
                guard case .success(let content) = Zstd.decompress(frame, limit: 1 << 24) else { return false }
                blocks.append((offset..<offset + frame.count, Set(String(decoding: content, as: UTF8.self).split(separator: "\n").map(String.init))))
                return true
            }
        }
        #expect(blocks.count >= 3, "1,200 lines of about 170 bytes make three blocks of 64 KiB")
        // The second block damaged (its checksum no longer matches), and the index gone.
        let damaged = blocks[1]
        if damagingItsStructure {
            for i in 6..<14 { data[damaged.range.lowerBound + i] = 0xFF }
            let length = data.withUnsafeBytes { Zstd.frames(in: UnsafeRawBufferPointer(rebasing: $0[damaged.range.lowerBound...])) { _, _ in true } }
            #expect(length == 0, "the damaged frame's length can no longer be found")
        } else {
            data[damaged.range.lowerBound + damaged.range.count / 2] ^= 0x5A
        }
        try File.replace(path, with: data)
        #expect(unlink(h.directory + "/decisions-20261202T10-00.idx") == 0)

        try h.restart()
        #expect(h.files().contains("decisions-20261202T10-00.idx"))
        let expected = Set(logged.map(\.line)).subtracting(damaged.lines)
        #expect(expected.count == 1200 - damaged.lines.count && !damaged.lines.isEmpty)
        let listed = Set(try h.lines(of: c, limit: 2000))
        let listedAsExpected = listed == expected
        #expect(listedAsExpected, "every line but the damaged block's, the blocks after it included: \(listed.count) of \(expected.count)")
        var whole: Set<String> = []
        try Zstd.forEachFrame(try File.readAll(path), limit: 1 << 24) { whole.formUnion(String(decoding: $0, as: UTF8.self).split(separator: "\n").map(String.init)) }
        let wholeAsExpected = whole == expected
        #expect(wholeAsExpected, "the file holds every block left, each decompressing: \(whole.count) lines of \(expected.count)")
        let last = logged[1199], lostOne = logged.first { damaged.lines.contains($0.line) }!
        #expect(try h.find(last) == last.line)
        #expect(try h.find(lostOne) == nil)
    }

    @Test func aReadOnlyLog_ReadsASegmentBeingWritten_AsFarAsItWasFlushed() throws {
        let h = try LogHarness()
        let c = subject("c")
        let logged = (0..<50).map { _ in h.append(customer: c) }
        h.log.flush()
        var options = h.options
        options.readOnly = true
        let reader = try DecisionLog(options: options)
        #expect(try reader.line(id: logged[49].id, ms: logged[49].ms).map { String(decoding: $0, as: UTF8.self) } == logged[49].line)
        #expect(try reader.lines(customer: c, fromMs: 0, toMs: .max, before: nil, limit: 100).count == 50)
        #expect(h.files() == ["decisions-20261202T10-00.ndjson.zst"], "the reader changed nothing")
    }

    @Test func theHoldPolicy_RefusesWhileTheSinkCannotWrite_AndRecovers() throws {
        let h = try LogHarness()
        h.append(customer: subject("c"))
        h.log.flush()
        // The directory is replaced by a file: the next hour's segment cannot be created.
        let moved = h.directory + ".away"
        #expect(rename(h.directory, moved) == 0)
        #expect(FileManager.default.createFile(atPath: h.directory, contents: Data("x".utf8)))
        h.clock.set("2026-12-02T11:00:00Z")
        let line = Array(#"{"decision_id":"x"}"#.utf8)
        _ = line.withUnsafeBytes { h.log.append(loop: 0, ms: h.clock.current, customer: 0, address: 0, line: $0) }
        h.log.flush()
        #expect(h.log.failure?.contains(h.directory) == true)
        #expect(line.withUnsafeBytes { h.log.append(loop: 1, ms: h.clock.current, customer: 0, address: 0, line: $0) } == .refused)
        #expect(h.log.stats.refused == 1)
        // Room again: the waiting line is written and appends are taken.
        unlink(h.directory)
        #expect(rename(moved, h.directory) == 0)
        #expect(waitFor { h.log.flush(); return h.log.failure == nil })
        #expect(line.withUnsafeBytes { h.log.append(loop: 1, ms: h.clock.current, customer: 0, address: 0, line: $0) } == .recorded)
        h.log.flush()
        // Every line taken is written once: the first, the one that waited, the last.
        #expect(h.log.stats.written == 3)
        let text = String(decoding: line, as: UTF8.self)
        #expect(try h.allContent().components(separatedBy: "\n").filter { $0 == text }.count == 2)
    }

    @Test func theDropPolicy_CountsWhatItDrops_AndTheStdoutSinkWritesLines() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        signal(SIGPIPE, SIG_IGN)
        let h = try LogHarness { $0.sink = .stdout; $0.whenFull = .drop; $0.output = fds[1] }
        let logged = h.append(customer: subject("c"))
        h.log.flush()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fds[0], &buffer, buffer.count)
        #expect(String(decoding: buffer.prefix(max(0, n)), as: UTF8.self) == logged.line + "\n")
        #expect(try h.log.line(id: logged.id, ms: logged.ms) == nil, "standard output is not read back")
        close(fds[0])
        h.append(customer: subject("c"))
        h.log.flush()
        #expect(h.log.stats.dropped == 1)
        #expect(h.log.failure?.contains("standard output") == true)
        close(fds[1])
    }

    @Test func aDirectoryThatCannotBeMade_StopsStartUp_NamingThePath() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hush-log-file-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        var options = DecisionLog.Options()
        options.directory = file + "/decisions"
        #expect { try DecisionLog(options: options) } throws: { ($0 as? LogError)?.message.contains(file + "/decisions") == true }
    }

    @Test func zstdBlocks_RoundTrip_AndDamagedOnesAreRefused_NamingWhy() throws {
        let lines = Array((0..<2000).map { "{\"n\":\($0),\"outcome\":\"allow\"}\n" }.joined().utf8)
        let compressor = try Zstd.Compressor()
        let one = try compressor.frame(lines), two = try compressor.frame(Array(lines.prefix(100)))
        #expect(one.count < lines.count / 4)
        #expect(try Zstd.decompress(one, limit: lines.count) == lines)
        var frames: [[UInt8]] = []
        try Zstd.forEachFrame(one + two, limit: lines.count) { frames.append($0) }
        #expect(frames == [lines, Array(lines.prefix(100))])

        func refusal(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return (error as? Zstd.Failure)?.message ?? "\(error)" }
        }
        #expect(refusal { _ = try Zstd.decompress(one, limit: lines.count - 1) }.contains("more than"))
        #expect(refusal { _ = try Zstd.decompress(Array(lines.prefix(64)), limit: 1 << 20) }.contains("not a zstd frame"))
        var flipped = one
        flipped[flipped.count / 2] ^= 0x40
        #expect(!refusal { _ = try Zstd.decompress(flipped, limit: 1 << 20) }.isEmpty, "the frame's checksum catches a flipped bit")
        #expect(refusal { try Zstd.forEachFrame(one + two.dropLast(3), limit: 1 << 20) { _ in } }.contains("at byte \(one.count)"))
        // A frame flushed but not ended: whole, it is refused; open, it gives what it holds.
        var flushed: [UInt8] = []
        try lines.withUnsafeBytes { try compressor.compress($0, .flush, into: &flushed) }
        #expect(refusal { _ = try Zstd.decompress(flushed, limit: 1 << 20) }.contains("ends inside its frame"))
        #expect(try Zstd.decompress(flushed, limit: 1 << 20, ending: .open) == lines)
        #expect(try Zstd.decompress(Array(flushed.dropLast(7)), limit: 1 << 20, ending: .open).count < lines.count)
    }

    @Test func theIndexSort_OrdersByHashThenBlock_LikeAComparisonSort_EvenWithHotCustomersAndCloseHashes() {
        var random = SystemRandomNumberGenerator()
        let less: ((UInt64, UInt32), (UInt64, UInt32)) -> Bool = { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        for count in [0, 1, 5, 64, 65, 1_000, 50_000] {
            var entries: [(UInt64, UInt32)] = []
            // Spread hashes, two customers with a decision in nearly every block, and hashes
            // that share their top 40 bits (one bucket however many bits it takes).
            let hot: [UInt64] = [.random(in: 0...UInt64.max, using: &random), 0xABCD_EF01_2300_0000]
            for i in 0..<count {
                let block = UInt32(i / 150)
                switch i % 5 {
                case 0: entries.append((hot[0], block))
                case 1: entries.append((hot[1], block))
                case 2: entries.append((0xABCD_EF01_2300_0000 | UInt64.random(in: 0...0xFF_FFFF, using: &random), block))
                default: entries.append((.random(in: 0...UInt64.max, using: &random), block))
                }
            }
            let got = SegmentIndex.sortedByHash(entries)
            let want = entries.sorted(by: less)
            #expect(got.count == want.count)
            #expect(zip(got, want).allSatisfy { $0 == $1 }, "\(count) entries")
        }
    }

    @Test func segmentNames_RoundTrip_AndOthersAreIgnored() {
        let name = SegmentName(hour: Int64(TestClock.ms("2026-12-02T16:00:00Z") / 3_600_000), part: 3)
        #expect(name.stem == "decisions-20261202T16-03")
        #expect(SegmentName.parse(name.compressed).map { $0.0 } == name)
        #expect(SegmentName.parse("decisions-20261302T16-00.ndjson.zst") == nil)
        #expect(SegmentName.parse("decisions-20261202T16-00.ndjson") == nil)
        #expect(SegmentName.parse("notes.txt") == nil)
        #expect(SegmentName.parse("decisions-20261202T16-00.ndjson.zst.tmp") == nil)
        #expect(SegmentName.parse("decisions-20261202T16-00.ndjson.gz") == nil)
    }
}

func waitFor(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}
