import Glibc

/// The files of a decision log directory. A segment holds the decisions written in one UTC hour
/// (or part of one, when its lines outgrew the size limit): NDJSON lines in a run of zstd
/// frames, one block of whole lines each, compressed as they are written; once the segment is
/// closed, an index beside it:
///
///     decisions-20261202T16-00.ndjson.zst   the lines: `zstdcat` prints them, even while open
///     decisions-20261202T16-00.idx          once closed: where each block is, and whose decisions it holds
///
/// A segment without a matching index was left open by a crash: start-up cuts off a torn end
/// and writes its index.
struct SegmentName: Hashable, Comparable, Sendable {
    /// Hours since 1970 (UTC).
    let hour: Int64
    /// 0, then 1, 2… when the hour's segment grew past its limit.
    let part: Int

    static let prefix = "decisions-"

    var stem: String {
        var t = tm()
        var seconds = time_t(hour * 3600)
        gmtime_r(&seconds, &t)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let part = self.part < 10 ? "0\(self.part)" : "\(self.part)"
        return "\(Self.prefix)\(t.tm_year + 1900)\(two(t.tm_mon + 1))\(two(t.tm_mday))T\(two(t.tm_hour))-\(part)"
    }

    var compressed: String { stem + ".ndjson.zst" }
    var index: String { stem + ".idx" }

    enum Kind { case compressed, index }

    /// A file name of the log directory, or nil for anything else (temporary files included).
    static func parse(_ file: String) -> (SegmentName, Kind)? {
        let kind: Kind, stem: Substring
        if file.hasSuffix(".ndjson.zst") { kind = .compressed; stem = file.dropLast(11) }
        else if file.hasSuffix(".idx") { kind = .index; stem = file.dropLast(4) }
        else { return nil }
        // decisions-YYYYMMDDTHH-PP
        let bytes = Array(stem.utf8)
        guard stem.hasPrefix(prefix), bytes.count >= prefix.utf8.count + 14 else { return nil }
        let body = Array(bytes[prefix.utf8.count...])
        guard body.count >= 14, body[8] == UInt8(ascii: "T"), body[11] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var n = 0
            for i in range { guard body[i] >= 48, body[i] <= 57 else { return nil }; n = n * 10 + Int(body[i] - 48) }
            return n
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8), let hour = number(9..<11),
              let part = number(12..<body.count), body.count - 12 <= 4,
              (1...12).contains(month), (1...31).contains(day), hour < 24 else { return nil }
        var t = tm()
        t.tm_year = Int32(year - 1900); t.tm_mon = Int32(month - 1); t.tm_mday = Int32(day); t.tm_hour = Int32(hour)
        let seconds = timegm(&t)
        guard seconds >= 0 else { return nil }
        return (SegmentName(hour: Int64(seconds) / 3600, part: part), kind)
    }

    static func < (a: SegmentName, b: SegmentName) -> Bool { (a.hour, a.part) < (b.hour, b.part) }
}

/// What hush reads of a line without parsing it: every line it writes starts with
/// `{"decision_id":"<UUIDv7>"` and, when the decision was about a customer or an address,
/// holds `"customer":"<32 hex digits>"` or `"address":"<32 hex digits>"`, keyed hashes.
enum LineFacts {
    static let idPrefix: [UInt8] = Array(#"{"decision_id":""#.utf8)
    static let customerPrefix: [UInt8] = Array(#""customer":""#.utf8)
    static let addressPrefix: [UInt8] = Array(#""address":""#.utf8)

    /// The millisecond of the line's decision id, or nil when the line does not start as hush writes.
    static func milliseconds(_ line: UnsafeRawBufferPointer) -> UInt64? {
        guard line.count >= idPrefix.count + 36, line.starts(with: idPrefix) else { return nil }
        var ms: UInt64 = 0
        for i in 0..<13 where i != 8 {
            guard let v = hexValue(line[idPrefix.count + i]) else { return nil }
            ms = ms << 4 | UInt64(v)
        }
        return ms
    }

    /// The decision id's text, as it starts the line.
    static func id(_ line: UnsafeRawBufferPointer) -> String? {
        guard line.count >= idPrefix.count + 36, line.starts(with: idPrefix) else { return nil }
        return String(decoding: line[idPrefix.count..<idPrefix.count + 36], as: UTF8.self)
    }

    /// The first 64 bits of the line's customer hash, or 0 when it has none.
    static func customer(_ line: UnsafeRawBufferPointer) -> UInt64 { hash(after: customerPrefix, in: line) }

    /// The first 64 bits of the line's address hash, or 0 when it has none.
    static func address(_ line: UnsafeRawBufferPointer) -> UInt64 { hash(after: addressPrefix, in: line) }

    private static func hash(after prefix: [UInt8], in line: UnsafeRawBufferPointer) -> UInt64 {
        guard let at = find(prefix, in: line), at + prefix.count + 32 <= line.count else { return 0 }
        var value: UInt64 = 0
        for i in 0..<16 {
            guard let v = hexValue(line[at + prefix.count + i]) else { return 0 }
            value = value << 4 | UInt64(v)
        }
        return value
    }

    /// Whether the line names the subject hash `hex` (32 lower-case digits), as its customer or its address.
    static func names(_ line: UnsafeRawBufferPointer, _ hex: [UInt8]) -> Bool {
        find([0x22] + hex + [0x22], in: line) != nil
    }

    /// Whether the line's customer hash is `hex` (32 lower-case digits).
    static func isCustomer(_ line: UnsafeRawBufferPointer, _ hex: [UInt8]) -> Bool {
        guard let at = find(customerPrefix, in: line), at + customerPrefix.count + hex.count <= line.count else { return false }
        return line[(at + customerPrefix.count)...].starts(with: hex)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, let base = haystack.baseAddress else { return nil }
        let first = Int32(needle[0]), last = haystack.count - needle.count
        var at = 0
        while at <= last {
            guard let hit = memchr(base + at, first, last - at + 1) else { return nil }
            let i = base.distance(to: UnsafeRawPointer(hit))
            if needle.withUnsafeBytes({ memcmp(base + i, $0.baseAddress!, needle.count) }) == 0 { return i }
            at = i + 1
        }
        return nil
    }

    /// `bytes` up to the end of its last whole line (what an open or torn frame gave so far).
    static func wholeLines(_ bytes: [UInt8]) -> [UInt8] {
        guard let last = bytes.lastIndex(of: 0x0A) else { return [] }
        return Array(bytes[...last])
    }

    /// Calls `body` with each whole line of `bytes` (without its newline) and its offset.
    static func forEachLine(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) rethrows {
        var start = 0
        while start < bytes.count {
            guard let newline = bytes[start...].firstIndex(of: 0x0A) else { return }
            try body(UnsafeRawBufferPointer(rebasing: bytes[start..<newline]), start)
            start = newline + 1
        }
    }
}

/// A closed segment's index (`.idx`), little-endian:
///
///     "HUSHIDX1", lines u64, blocks u32, customers u32, minMs u64, maxMs u64        (40 bytes)
///     per block:    offset u64, length u32, lines u32, minMs u64, maxMs u64       (32 bytes)
///     per customer: hash u64 (the first 64 bits of the keyed hash), block u32     (12 bytes), sorted
struct SegmentIndex: Sendable {
    struct Block: Sendable, Equatable {
        var offset: UInt64, length: UInt32, lines: UInt32, minMs: UInt64, maxMs: UInt64
    }

    static let magic: [UInt8] = Array("HUSHIDX1".utf8)
    static let headerBytes = 40, blockBytes = 32, customerBytes = 12

    var lines: UInt64 = 0
    /// The block table, when read (`read(withBlocks:)`).
    var blocks: [Block] = []
    var blockCount = 0
    var customerCount: UInt32 = 0
    var minMs: UInt64 = .max, maxMs: UInt64 = 0

    /// The index as bytes, with `customers` (sorted here).
    static func encode(lines: UInt64, blocks: [Block], customers: [(UInt64, UInt32)]) -> [UInt8] {
        var sorted = sortedByHash(customers)
        var unique = 0
        for i in sorted.indices where unique == 0 || sorted[i] != sorted[unique - 1] {
            sorted[unique] = sorted[i]
            unique += 1
        }
        let minMs = blocks.map(\.minMs).min() ?? 0, maxMs = blocks.map(\.maxMs).max() ?? 0
        let size = headerBytes + blocks.count * blockBytes + unique * customerBytes
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let base = UnsafeMutableRawPointer(buffer.baseAddress!)
            var at = 0
            func put<T: FixedWidthInteger>(_ v: T) {
                base.storeBytes(of: v.littleEndian, toByteOffset: at, as: T.self)
                at += MemoryLayout<T>.size
            }
            for byte in magic { put(byte) }
            put(lines); put(UInt32(blocks.count)); put(UInt32(unique)); put(minMs); put(maxMs)
            for b in blocks { put(b.offset); put(b.length); put(b.lines); put(b.minMs); put(b.maxMs) }
            for entry in sorted[..<unique] { put(entry.0); put(entry.1) }
            initialized = at
        }
    }

    /// `entries` in order of hash, then block. The hashes are keyed hashes, spread evenly over
    /// 64 bits, so one counting pass on their top bits puts each entry among a handful of
    /// neighbours, and each bucket is then sorted on its own: two passes over the entries where
    /// a comparison sort makes about twenty. Counting is stable and entries come in block
    /// order, so a customer's many entries (one a decision) arrive already sorted, and the
    /// bucket's sort (insertion for a few, the standard library's for more) stays linear.
    static func sortedByHash(_ entries: [(UInt64, UInt32)]) -> [(UInt64, UInt32)] {
        let less: ((UInt64, UInt32), (UInt64, UInt32)) -> Bool = { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        guard entries.count > 64 else { return entries.sorted(by: less) }
        let bits = min(20, Int.bitWidth - entries.count.leadingZeroBitCount - 1)
        let shift = UInt64(64 - bits)
        var starts = [Int](repeating: 0, count: (1 << bits) + 1)
        for entry in entries { starts[Int(entry.0 >> shift) + 1] += 1 }
        for i in 1..<starts.count { starts[i] += starts[i - 1] }
        var next = starts
        var sorted = [(UInt64, UInt32)](repeating: (0, 0), count: entries.count)
        sorted.withUnsafeMutableBufferPointer { out in
            for entry in entries {
                let bucket = Int(entry.0 >> shift)
                out[next[bucket]] = entry
                next[bucket] += 1
            }
            for bucket in 0..<(1 << bits) {
                let start = starts[bucket], end = starts[bucket + 1]
                if end - start <= 1 { continue }
                if end - start > 16 {
                    out[start..<end].sort(by: less)
                    continue
                }
                for i in start + 1..<end {
                    let entry = out[i]
                    var j = i
                    while j > start, less(entry, out[j - 1]) {
                        out[j] = out[j - 1]
                        j -= 1
                    }
                    out[j] = entry
                }
            }
        }
        return sorted
    }

    /// Reads the header and (unless `withBlocks` is false) the block table of an index file;
    /// refuses one whose sizes do not add up.
    static func read(_ fd: Int32, fileSize: Int, withBlocks: Bool = true) throws(LogError) -> SegmentIndex {
        let header = try File.pread(fd, count: headerBytes, at: 0)
        guard header.count == headerBytes, Array(header[0..<8]) == magic else { throw LogError("not a decision log index") }
        var index = SegmentIndex()
        index.lines = header.le(8)
        let blockCount: UInt32 = header.le(16)
        index.blockCount = Int(blockCount)
        index.customerCount = header.le(20)
        index.minMs = header.le(24)
        index.maxMs = header.le(32)
        let expected = headerBytes + Int(blockCount) * blockBytes + Int(index.customerCount) * customerBytes
        guard expected == fileSize else { throw LogError("the index is \(fileSize) bytes, its header says \(expected)") }
        guard withBlocks else { return index }
        let table = try File.pread(fd, count: Int(blockCount) * blockBytes, at: headerBytes)
        index.blocks.reserveCapacity(Int(blockCount))
        for i in 0..<Int(blockCount) {
            let o = i * blockBytes
            index.blocks.append(Block(offset: table.le(o), length: table.le(o + 8), lines: table.le(o + 12),
                                      minMs: table.le(o + 16), maxMs: table.le(o + 24)))
        }
        return index
    }

    /// Block `i` of the table, read where it lies.
    func block(_ i: Int, fd: Int32) throws(LogError) -> Block {
        guard i < blockCount else { throw LogError("the index has no block \(i)") }
        let bytes = try File.pread(fd, count: Self.blockBytes, at: Self.headerBytes + i * Self.blockBytes)
        guard bytes.count == Self.blockBytes else { throw LogError("the index ends early") }
        return Block(offset: bytes.le(0), length: bytes.le(8), lines: bytes.le(12), minMs: bytes.le(16), maxMs: bytes.le(24))
    }

    /// The blocks holding lines of customer `hash`: a binary search of the sorted table, read
    /// where it lies, without loading it.
    func blocks(ofCustomer hash: UInt64, fd: Int32) throws(LogError) -> [Int] {
        let base = Self.headerBytes + blockCount * Self.blockBytes
        func entry(_ i: Int) throws(LogError) -> (UInt64, UInt32) {
            let bytes = try File.pread(fd, count: Self.customerBytes, at: base + i * Self.customerBytes)
            guard bytes.count == Self.customerBytes else { throw LogError("the index ends early") }
            return (bytes.le(0), bytes.le(8))
        }
        var low = 0, high = Int(customerCount)
        while low < high {
            let mid = (low + high) / 2
            if try entry(mid).0 < hash { low = mid + 1 } else { high = mid }
        }
        var found: [Int] = []
        var i = low
        while i < Int(customerCount) {
            let (h, block) = try entry(i)
            guard h == hash else { break }
            if Int(block) < blockCount, found.last != Int(block) { found.append(Int(block)) }
            i += 1
        }
        return found
    }
}

/// Errors of the decision log: one line, naming the path where there is one.
public struct LogError: Error, CustomStringConvertible, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Array where Element == UInt8 {
    /// The little-endian integer at `offset`.
    func le<T: FixedWidthInteger>(_ offset: Int) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(self[offset + i]) << (8 * i) }
        return value
    }
}

/// Thin, checked wrappers of the file calls the log makes.
enum File {
    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    static func pread(_ fd: Int32, count: Int, at offset: Int) throws(LogError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 { if errno == EINTR { continue }; throw LogError("cannot read: \(errorText())") }
            if n == 0 { break }
            done += n
        }
        if done < count { out.removeLast(count - done) }
        return out
    }

    /// Writes all of `bytes`; on failure throws with how much was written before it.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(PartialWrite) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw PartialWrite(written: done, code: errno)
            }
            done += n
        }
    }

    struct PartialWrite: Error {
        let written: Int
        let code: Int32
    }

    static func size(_ path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
    }

    static func readAll(_ path: String) throws(LogError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LogError("cannot open \(path): \(errorText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LogError("cannot read \(path): \(errorText())") }
        return try pread(fd, count: Int(st.st_size), at: 0)
    }

    /// Writes `bytes` to `path` through a temporary file, synced and renamed into place.
    static func replace(_ path: String, with bytes: [UInt8]) throws(LogError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LogError("cannot create \(temporary): \(errorText())") }
        do {
            try writeAll(fd, bytes)
        } catch {
            close(fd); unlink(temporary)
            throw LogError("cannot write \(temporary): \(errorText(error.code))")
        }
        guard fsync(fd) == 0 else { let e = errno; close(fd); unlink(temporary); throw LogError("cannot sync \(temporary): \(errorText(e))") }
        close(fd)
        guard rename(temporary, path) == 0 else { throw LogError("cannot rename \(temporary): \(errorText())") }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    static func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}
