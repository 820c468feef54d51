import Glibc

/// A closed segment: its zstd blocks and index, read where they lie.
struct ClosedSegment: Sendable {
    let name: SegmentName
    let directory: String
    /// Lines, time range and bytes on disk, from the index's header.
    let lines: UInt64
    let minMs: UInt64, maxMs: UInt64
    let bytes: Int

    /// Blocks hold whole lines up to this many bytes (or one longer line).
    static let blockBytes = 64 * 1024
    /// The most a block may decompress to when read back: a bound against a damaged file.
    static let maxBlockBytes = 8 * 1024 * 1024

    var compressedPath: String { directory + "/" + name.compressed }
    var indexPath: String { directory + "/" + name.index }

    /// Opens the index's header; throws for a missing or damaged one.
    init(name: SegmentName, directory: String) throws(LogError) {
        self.name = name
        self.directory = directory
        let indexPath = directory + "/" + name.index
        let fd = open(indexPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LogError("cannot open \(indexPath): \(File.errorText())") }
        defer { close(fd) }
        let index: SegmentIndex
        do { index = try SegmentIndex.read(fd, fileSize: File.size(indexPath) ?? 0) } catch {
            throw LogError("\(indexPath): \(error.message)")
        }
        lines = index.lines
        minMs = index.minMs
        maxMs = index.maxMs
        bytes = (File.size(indexPath) ?? 0) + (File.size(directory + "/" + name.compressed) ?? 0)
    }

    /// Runs `body` with the index (its block table read unless `withBlocks` is false) and the
    /// two files open.
    func reading<T>(withBlocks: Bool = true, _ body: (SegmentIndex, _ index: Int32, _ data: Int32) throws(LogError) -> T) throws(LogError) -> T {
        let indexFD = open(indexPath, O_RDONLY | O_CLOEXEC)
        guard indexFD >= 0 else { throw LogError("cannot open \(indexPath): \(File.errorText())") }
        defer { close(indexFD) }
        let dataFD = open(compressedPath, O_RDONLY | O_CLOEXEC)
        guard dataFD >= 0 else { throw LogError("cannot open \(compressedPath): \(File.errorText())") }
        defer { close(dataFD) }
        let index = try SegmentIndex.read(indexFD, fileSize: File.size(indexPath) ?? 0, withBlocks: withBlocks)
        return try body(index, indexFD, dataFD)
    }

    /// The lines of one block, decompressed: all of them, or those the open frame of a segment
    /// still being written holds so far (`.open`), whole lines only.
    static func block(_ block: SegmentIndex.Block, fd: Int32, path: String, ending: Zstd.Ending = .whole) throws(LogError) -> [UInt8] {
        guard block.length <= UInt32(maxBlockBytes) else { throw LogError("\(path): a block of \(block.length) bytes is too large") }
        let frame = try File.pread(fd, count: Int(block.length), at: Int(block.offset))
        guard frame.count == Int(block.length) else { throw LogError("\(path) ends inside a block") }
        let lines: [UInt8]
        do { lines = try Zstd.decompress(frame, limit: maxBlockBytes, ending: ending) } catch { throw LogError("\(path): \(error.message)") }
        return ending == .open ? LineFacts.wholeLines(lines) : lines
    }

    /// The line of decision `id` made at `ms`, if this segment holds it.
    func line(id: [UInt8], ms: UInt64) throws(LogError) -> [UInt8]? {
        guard ms >= minMs, ms <= maxMs else { return nil }
        return try reading { (index, _, data) throws(LogError) -> [UInt8]? in
            for block in index.blocks where ms >= block.minMs && ms <= block.maxMs {
                let lines = try Self.block(block, fd: data, path: compressedPath)
                if let found = lines.withUnsafeBytes({ Self.find(id: id, in: $0) }) { return found }
            }
            return nil
        }
    }

    static func find(id: [UInt8], in lines: UnsafeRawBufferPointer) -> [UInt8]? {
        var found: [UInt8]?
        LineFacts.forEachLine(lines) { line, _ in
            if found == nil, line.count > LineFacts.idPrefix.count + id.count,
               line[LineFacts.idPrefix.count...].starts(with: id), line.starts(with: LineFacts.idPrefix) {
                found = Array(line)
            }
        }
        return found
    }

    /// Every line of customer `hex` (whose first 64 bits are `hash`) in this segment.
    func lines(ofCustomer hash: UInt64, hex: [UInt8]) throws(LogError) -> [[UInt8]] {
        // Only the blocks that hold them are read from the index's table, not the whole table.
        try reading(withBlocks: false) { (index, indexFD, data) throws(LogError) -> [[UInt8]] in
            var out: [[UInt8]] = []
            for i in try index.blocks(ofCustomer: hash, fd: indexFD) {
                let lines = try Self.block(try index.block(i, fd: indexFD), fd: data, path: compressedPath)
                lines.withUnsafeBytes { bytes in
                    LineFacts.forEachLine(bytes) { line, _ in if LineFacts.isCustomer(line, hex) { out.append(Array(line)) } }
                }
            }
            return out
        }
    }

    /// Whether any line of the segment may name subject `hash` (from the index alone).
    func mayHold(subject hash: UInt64) throws(LogError) -> Bool {
        try reading(withBlocks: false) { (index, indexFD, _) throws(LogError) -> Bool in try !index.blocks(ofCustomer: hash, fd: indexFD).isEmpty }
    }

    /// Whether the index describes the blocks file: its last block ends where the file ends.
    static func isConsistent(name: SegmentName, directory: String) -> Bool {
        guard let segment = try? ClosedSegment(name: name, directory: directory),
              let index = try? segment.reading({ (index, _, _) throws(LogError) in index }) else { return false }
        let end = index.blocks.last.map { Int($0.offset) + Int($0.length) } ?? 0
        return end == File.size(segment.compressedPath) && UInt64(index.blocks.reduce(0) { $0 + Int($1.lines) }) == index.lines
    }

    /// Rewrites a closed segment keeping the lines `keep` accepts (an erasure removes a
    /// customer's): new blocks and index, each through a temporary file and renamed into place.
    static func rewrite(name: SegmentName, directory: String, keep: (UnsafeRawBufferPointer) -> Bool) throws(LogError) -> (kept: UInt64, removed: UInt64) {
        let path = directory + "/" + name.compressed
        let data = try File.readAll(path)
        var builder = try SegmentBuilder()
        var removed: UInt64 = 0
        var failure: LogError?
        do {
            try Zstd.forEachFrame(data, limit: maxBlockBytes) { content in
                content.withUnsafeBytes { bytes in
                    LineFacts.forEachLine(bytes) { line, _ in
                        guard failure == nil else { return }
                        if keep(line) {
                            do throws(LogError) { try builder.add(line: line) } catch { failure = error }
                        } else {
                            removed += 1
                        }
                    }
                }
            }
        } catch { throw LogError("\(path): \(error.message)") }
        if let failure { throw failure }
        try builder.endFrame()
        try publish(builder, name: name, directory: directory, blocks: builder.output)
        return (builder.lines, removed)
    }

    /// What a segment's blocks file holds, read without its index: the whole frames as blocks
    /// (at their offsets), those that do not decompress, and where the whole frames end with the
    /// whole lines that what follows still gives (the open frame of a segment left by a crash,
    /// flushed but not ended, perhaps torn).
    static func scan(_ data: [UInt8]) throws(LogError) -> (builder: SegmentBuilder, wholeEnd: Int, tail: [UInt8], damaged: [Range<Int>]) {
        var builder = try SegmentBuilder()
        var damaged: [Range<Int>] = []
        var end = 0
        data.withUnsafeBytes { bytes in
            var start = 0
            while true {
                end = start + Zstd.frames(in: UnsafeRawBufferPointer(rebasing: bytes[start...])) { relative, frame in
                    let offset = start + relative
                    switch Zstd.decompress(frame, limit: maxBlockBytes) {
                    case .success(let content):
                        content.withUnsafeBytes { builder.adopt(at: UInt64(offset), frameBytes: frame.count, content: $0) }
                    case .failure:
                        damaged.append(offset..<offset + frame.count)
                    }
                    return true
                }
                // A frame whose own structure is damaged has no length to skip by: a whole frame
                // further on means the bytes up to it are damaged, and the scan goes on from there;
                // none means they are the open frame's (or a torn end).
                guard end < bytes.count, let next = nextWholeFrame(in: bytes, after: end) else { break }
                damaged.append(end..<next)
                start = next
            }
        }
        var tail: [UInt8] = []
        if end < data.count, case .success(let rest) = data.withUnsafeBytes({ Zstd.decompress(UnsafeRawBufferPointer(rebasing: $0[end...]), limit: maxBlockBytes, ending: .open) }) {
            tail = LineFacts.wholeLines(rest)
        }
        return (builder, end, tail, damaged)
    }

    /// The offset of the first frame after `offset` that is whole and decompresses (its checksum
    /// holds): found by its magic number, so that one damaged frame does not hide the rest.
    static func nextWholeFrame(in bytes: UnsafeRawBufferPointer, after offset: Int) -> Int? {
        let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
        var at = offset + 1
        while at + 4 <= bytes.count {
            if bytes[at] == magic[0], bytes[at + 1] == magic[1], bytes[at + 2] == magic[2], bytes[at + 3] == magic[3] {
                let rest = UnsafeRawBufferPointer(rebasing: bytes[at...])
                var whole = false
                _ = Zstd.frames(in: rest) { _, frame in
                    if case .success = Zstd.decompress(frame, limit: maxBlockBytes) { whole = true }
                    return false
                }
                if whole { return at }
            }
            at += 1
        }
        return nil
    }

    /// Makes a segment whose index is missing or does not match its blocks whole again: blocks
    /// that do not decompress are left out (the file is rewritten without them), a torn end is
    /// cut off, the lines its open frame still gives are written as a frame of their own, and
    /// the index is rebuilt from the blocks (which are not recompressed). Returns how many
    /// damaged blocks were left out.
    @discardableResult
    static func repair(name: SegmentName, directory: String) throws(LogError) -> Int {
        let path = directory + "/" + name.compressed
        var data = try File.readAll(path)
        var (builder, end, tail, damaged) = try scan(data)
        let left = damaged.count
        if !damaged.isEmpty {
            var kept: [UInt8] = []
            var at = 0
            for range in damaged {
                kept += data[at..<range.lowerBound]
                at = range.upperBound
            }
            data = kept + data[at...]
            try File.replace(path, with: data)
            (builder, end, tail, damaged) = try scan(data)
        }
        if end < data.count {
            guard truncate(path, off_t(end)) == 0 else { throw LogError("cannot cut \(path) back to its whole blocks: \(File.errorText())") }
        }
        if !tail.isEmpty {
            try builder.add(lines: tail)
            try builder.endFrame()
            let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
            guard fd >= 0 else { throw LogError("cannot open \(path): \(File.errorText())") }
            defer { close(fd) }
            do { try File.writeAll(fd, builder.output) } catch {
                ftruncate(fd, off_t(end))
                throw LogError("cannot write \(path): \(File.errorText(error.code))")
            }
            fdatasync(fd)
        }
        try publish(builder, name: name, directory: directory, blocks: nil)
        return left
    }

    /// Writes the index `builder` made, after replacing the blocks file with `blocks` when given:
    /// the blocks first, so that a crash between the two renames leaves an index that does not
    /// match them, which start-up finds and rebuilds (`repair`). A segment without lines is
    /// removed instead.
    private static func publish(_ builder: SegmentBuilder, name: SegmentName, directory: String, blocks: [UInt8]?) throws(LogError) {
        let indexPath = directory + "/" + name.index, blocksPath = directory + "/" + name.compressed
        if builder.lines == 0 {
            unlink(blocksPath)
            unlink(indexPath)
        } else {
            if let blocks { try File.replace(blocksPath, with: blocks) }
            try File.replace(indexPath, with: builder.index)
        }
        File.syncDirectory(directory)
    }

    /// Every line, block by block, for tools.
    func forEachBlock(_ body: ([UInt8]) throws(LogError) -> Void) throws(LogError) {
        try reading { (index, _, data) throws(LogError) in
            for block in index.blocks { try body(try Self.block(block, fd: data, path: compressedPath)) }
        }
    }
}

/// Builds a segment from lines in order: zstd frames of whole lines, one block of the index
/// each, and the index's tables. The writer compresses each turn's lines and flushes, so that
/// the file decompresses up to its last line, and ends a frame once it holds a block's worth;
/// rewrites end every frame.
struct SegmentBuilder {
    private let compressor: Zstd.Compressor
    /// Compressed bytes produced and not yet taken (`clearOutput`).
    private(set) var output: [UInt8] = []
    /// Compressed bytes produced in all: where the file ends once the output is written.
    private(set) var produced: UInt64 = 0
    /// Ended blocks not yet taken (`drain`), and the subjects of their lines and of the open
    /// frame's, each with its block's number.
    private(set) var blocks: [SegmentIndex.Block] = []
    private(set) var customers: [(UInt64, UInt32)] = []
    private(set) var blockCount: UInt32 = 0
    private(set) var lines: UInt64 = 0
    /// Bytes of lines taken, newlines counted.
    private(set) var content: UInt64 = 0
    private var frame = Frame()
    /// The newest millisecond of the last ended block.
    private var lastMaxMs: UInt64 = 0

    /// The frame being written: where it starts, its lines and their bytes and time range.
    private struct Frame {
        var offset: UInt64 = 0, lines: UInt32 = 0, content = 0, minMs: UInt64 = .max, maxMs: UInt64 = 0
    }

    init() throws(LogError) {
        do { compressor = try Zstd.Compressor() } catch { throw LogError(error.message) }
    }

    /// Adds lines, each followed by its newline, described in order by `meta`; `flush` makes the
    /// output decompress up to the last of them.
    mutating func add(_ bytes: [UInt8], _ meta: [LineMeta], flush: Bool) throws(LogError) {
        let failure = bytes.withUnsafeBytes { bytes in meta.withUnsafeBufferPointer { meta in add(bytes, meta, flush: flush) } }
        if let failure { throw failure }
    }

    /// As `add(_:_:flush:)`, for lines where they lie (a loop's buffer, taken by the writer).
    mutating func add(lines bytes: UnsafeRawBufferPointer, _ meta: UnsafeBufferPointer<LineMeta>, flush: Bool) throws(LogError) {
        if let failure = add(bytes, meta, flush: flush) { throw failure }
    }

    private mutating func add(_ bytes: UnsafeRawBufferPointer, _ meta: UnsafeBufferPointer<LineMeta>, flush: Bool) -> LogError? {
        var start = 0, at = 0
        do {
            for line in meta {
                let length = Int(line.length) + 1
                if frame.content > 0, frame.content + length > ClosedSegment.blockBytes {
                    try compress(UnsafeRawBufferPointer(rebasing: bytes[start..<at]), .end)
                    start = at
                }
                take(line)
                at += length
            }
            try compress(UnsafeRawBufferPointer(rebasing: bytes[start..<at]), flush ? .flush : .more)
            return nil
        } catch {
            return error
        }
    }

    /// Adds one line, given without its newline.
    mutating func add(line: UnsafeRawBufferPointer) throws(LogError) {
        try add(lines: [UInt8](line) + [0x0A])
    }

    /// Adds whole lines, each with its newline, reading what the index needs from each.
    mutating func add(lines: [UInt8]) throws(LogError) {
        let meta = lines.withUnsafeBytes { bytes in
            var meta: [LineMeta] = []
            LineFacts.forEachLine(bytes) { line, _ in meta.append(LineMeta(line)) }
            return meta
        }
        try add(lines, meta, flush: false)
    }

    /// Ends the open frame, when it holds lines.
    mutating func endFrame() throws(LogError) {
        if frame.lines > 0 { try compress(UnsafeRawBufferPointer(start: nil, count: 0), .end) }
    }

    /// Counts a frame already in the file, at `offset` and `frameBytes` long, holding `content`,
    /// as the next block; or, unless `ended`, as the open frame (one still being written).
    mutating func adopt(at offset: UInt64, frameBytes: Int, content: UnsafeRawBufferPointer, ended: Bool = true) {
        frame.offset = offset
        LineFacts.forEachLine(content) { line, _ in take(LineMeta(line)) }
        produced = offset + UInt64(frameBytes)
        if ended { closeBlock() }
    }

    /// The open frame as a block, as far as it was produced: readers decompress it as `.open`.
    var openBlock: SegmentIndex.Block? {
        guard frame.lines > 0 else { return nil }
        return SegmentIndex.Block(offset: frame.offset, length: UInt32(produced - frame.offset), lines: frame.lines,
                                  minMs: frame.minMs == .max ? lastMaxMs : frame.minMs, maxMs: frame.minMs == .max ? lastMaxMs : frame.maxMs)
    }

    /// The index of every block, once the last frame ended.
    var index: [UInt8] { SegmentIndex.encode(lines: lines, blocks: blocks, customers: customers) }

    mutating func clearOutput() { output.removeAll(keepingCapacity: true) }

    /// Hands over the ended blocks and the subjects noted since the last call.
    mutating func drain() -> (blocks: [SegmentIndex.Block], customers: [(UInt64, UInt32)]) {
        defer {
            blocks.removeAll(keepingCapacity: true)
            customers.removeAll(keepingCapacity: true)
        }
        return (blocks, customers)
    }

    private mutating func take(_ line: LineMeta) {
        if line.ms != 0 { frame.minMs = min(frame.minMs, line.ms); frame.maxMs = max(frame.maxMs, line.ms) }
        if line.customer != 0 { customers.append((line.customer, blockCount)) }
        if line.address != 0 { customers.append((line.address, blockCount)) }
        frame.lines += 1
        frame.content += Int(line.length) + 1
        lines += 1
        content += UInt64(line.length) + 1
    }

    private mutating func compress(_ input: UnsafeRawBufferPointer, _ mode: Zstd.Compressor.Mode) throws(LogError) {
        let before = output.count
        do { try compressor.compress(input, mode, into: &output) } catch { throw LogError(error.message) }
        produced += UInt64(output.count - before)
        if mode == .end { closeBlock() }
    }

    /// Counts the frame that just ended as a block. A frame without a decision id in any line is
    /// timed with the block before it.
    private mutating func closeBlock() {
        if frame.minMs == .max { frame.minMs = lastMaxMs; frame.maxMs = lastMaxMs }
        lastMaxMs = frame.maxMs
        blocks.append(SegmentIndex.Block(offset: frame.offset, length: UInt32(produced - frame.offset), lines: frame.lines,
                                         minMs: frame.minMs, maxMs: frame.maxMs))
        blockCount += 1
        frame = Frame(offset: produced)
    }
}
