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

    /// Runs `body` with the index and the two files open.
    func reading<T>(_ body: (SegmentIndex, _ index: Int32, _ data: Int32) throws(LogError) -> T) throws(LogError) -> T {
        let indexFD = open(indexPath, O_RDONLY | O_CLOEXEC)
        guard indexFD >= 0 else { throw LogError("cannot open \(indexPath): \(File.errorText())") }
        defer { close(indexFD) }
        let dataFD = open(compressedPath, O_RDONLY | O_CLOEXEC)
        guard dataFD >= 0 else { throw LogError("cannot open \(compressedPath): \(File.errorText())") }
        defer { close(dataFD) }
        let index = try SegmentIndex.read(indexFD, fileSize: File.size(indexPath) ?? 0)
        return try body(index, indexFD, dataFD)
    }

    /// The lines of one block, decompressed.
    static func block(_ block: SegmentIndex.Block, fd: Int32, path: String) throws(LogError) -> [UInt8] {
        guard block.length <= UInt32(maxBlockBytes) else { throw LogError("\(path): a block of \(block.length) bytes is too large") }
        let member = try File.pread(fd, count: Int(block.length), at: Int(block.offset))
        guard member.count == Int(block.length) else { throw LogError("\(path) ends inside a block") }
        do { return try Zstd.decompress(member, limit: maxBlockBytes) } catch { throw LogError("\(path): \(error.message)") }
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
        try reading { (index, indexFD, data) throws(LogError) -> [[UInt8]] in
            var out: [[UInt8]] = []
            for i in try index.blocks(ofCustomer: hash, fd: indexFD) {
                let lines = try Self.block(index.blocks[i], fd: data, path: compressedPath)
                lines.withUnsafeBytes { bytes in
                    LineFacts.forEachLine(bytes) { line, _ in if LineFacts.isCustomer(line, hex) { out.append(Array(line)) } }
                }
            }
            return out
        }
    }

    /// Whether any line of the segment may name subject `hash` (from the index alone).
    func mayHold(subject hash: UInt64) throws(LogError) -> Bool {
        try reading { (index, indexFD, _) throws(LogError) -> Bool in try !index.blocks(ofCustomer: hash, fd: indexFD).isEmpty }
    }

    /// Whether the index describes the blocks file: its last block ends where the file ends.
    static func isConsistent(name: SegmentName, directory: String) -> Bool {
        guard let segment = try? ClosedSegment(name: name, directory: directory),
              let index = try? segment.reading({ (index, _, _) throws(LogError) in index }) else { return false }
        let end = index.blocks.last.map { Int($0.offset) + Int($0.length) } ?? 0
        return end == File.size(segment.compressedPath) && UInt64(index.blocks.reduce(0) { $0 + Int($1.lines) }) == index.lines
    }

    /// Rewrites a closed segment from its blocks file alone, keeping the lines `keep` accepts:
    /// to rebuild a lost or stale index, and to remove an erased customer's lines.
    static func rewrite(name: SegmentName, directory: String, keep: (UnsafeRawBufferPointer) -> Bool) throws(LogError) -> (kept: UInt64, removed: UInt64) {
        let path = directory + "/" + name.compressed
        let data = try File.readAll(path)
        var writer = try SegmentWriter(name: name, directory: directory)
        var removed: UInt64 = 0
        var failure: LogError?
        do {
            try Zstd.forEachFrame(data, limit: maxBlockBytes) { content in
                content.withUnsafeBytes { bytes in
                    LineFacts.forEachLine(bytes) { line, _ in
                        guard failure == nil else { return }
                        if keep(line) {
                            do throws(LogError) { try writer.add(line) } catch { failure = error }
                        } else {
                            removed += 1
                        }
                    }
                }
            }
        } catch { throw LogError("\(path): \(error.message)") }
        if let failure { throw failure }
        try writer.finish()
        return (writer.lines, removed)
    }

    /// Every line, block by block, for tools.
    func forEachBlock(_ body: ([UInt8]) throws(LogError) -> Void) throws(LogError) {
        try reading { (index, _, data) throws(LogError) in
            for block in index.blocks { try body(try Self.block(block, fd: data, path: compressedPath)) }
        }
    }
}

/// Writes a closed segment from lines: zstd blocks of whole lines and the index, each through
/// a temporary file, synced, then renamed into place, the blocks first. A crash between the two
/// renames leaves an index that does not match its blocks: start-up finds it and rebuilds the
/// index from the blocks (`ClosedSegment.repair`).
struct SegmentWriter {
    private let name: SegmentName
    private let directory: String
    private let compressor: Zstd.Compressor
    private var data: [UInt8] = []
    private var pending: [UInt8] = []
    private var pendingLines: UInt32 = 0
    private var pendingMin: UInt64 = .max, pendingMax: UInt64 = 0
    private var blocks: [SegmentIndex.Block] = []
    private var customers: [(UInt64, UInt32)] = []
    private(set) var lines: UInt64 = 0

    init(name: SegmentName, directory: String) throws(LogError) {
        self.name = name
        self.directory = directory
        do { compressor = try Zstd.Compressor() } catch { throw LogError(error.message) }
    }

    /// Adds one line (without its newline). A line hush did not write (no decision id) is kept,
    /// timed with the block's neighbours.
    mutating func add(_ line: UnsafeRawBufferPointer) throws(LogError) {
        if !pending.isEmpty, pending.count + line.count + 1 > ClosedSegment.blockBytes { try seal() }
        let ms = LineFacts.milliseconds(line)
        if let ms { pendingMin = min(pendingMin, ms); pendingMax = max(pendingMax, ms) }
        for subject in [LineFacts.customer(line), LineFacts.address(line)] where subject != 0 {
            customers.append((subject, UInt32(blocks.count)))
        }
        pending.append(contentsOf: line)
        pending.append(0x0A)
        pendingLines += 1
        lines += 1
    }

    private mutating func seal() throws(LogError) {
        guard !pending.isEmpty else { return }
        let member: [UInt8]
        do { member = try compressor.frame(pending) } catch {
            throw LogError(error.message)
        }
        if pendingMin == .max { pendingMin = blocks.last?.maxMs ?? 0; pendingMax = pendingMin }
        blocks.append(SegmentIndex.Block(offset: UInt64(data.count), length: UInt32(member.count), lines: pendingLines,
                                         minMs: pendingMin, maxMs: pendingMax))
        data.append(contentsOf: member)
        pending.removeAll(keepingCapacity: true)
        pendingLines = 0
        pendingMin = .max
        pendingMax = 0
    }

    /// Writes both files. With no lines at all, removes the segment's files instead.
    mutating func finish() throws(LogError) {
        try seal()
        let indexPath = directory + "/" + name.index, dataPath = directory + "/" + name.compressed
        if lines == 0 {
            unlink(indexPath)
            unlink(dataPath)
            return
        }
        try File.replace(dataPath, with: data)
        try File.replace(indexPath, with: SegmentIndex.encode(lines: lines, blocks: blocks, customers: customers))
        File.syncDirectory(directory)
    }
}
