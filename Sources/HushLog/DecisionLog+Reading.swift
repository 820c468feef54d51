import Glibc

/// Reading the file sink back: one decision by id, or a customer's, newest first.
extension DecisionLog {
    /// The line of decision `id` (its canonical lower-case text), made at `ms`, while it is
    /// retained; nil when no segment holds it.
    public func line(id: String, ms: UInt64) throws(LogError) -> [UInt8]? {
        guard options.sink == .file else { return nil }
        flushIfRecent(ms)
        let idBytes = Array(id.utf8)
        for _ in 0..<2 {
            let (closed, open) = state.withLock { state in
                (state.closed.values.filter { ms >= $0.minMs && ms <= $0.maxMs }, Array(state.open.values))
            }
            do {
                for table in open {
                    let readable = table.readable
                    let candidates = readable.indices.filter { ms >= readable[$0].0.minMs && ms <= readable[$0].0.maxMs }
                    for block in try Self.read(table, candidates) {
                        if let found = block.withUnsafeBytes({ ClosedSegment.find(id: idBytes, in: $0) }) { return found }
                    }
                }
                for segment in closed { if let line = try segment.line(id: idBytes, ms: ms) { return line } }
                return nil
            } catch {
                // A segment closed or rewritten while it was read: look again.
                continue
            }
        }
        return nil
    }

    /// Customer `hex`'s lines made from `fromMs` to `toMs` (inclusive) with ids before `before`
    /// (all when nil), newest first: up to `limit`.
    public func lines(customer hex: String, fromMs: UInt64, toMs: UInt64, before: String?, limit: Int) throws(LogError) -> [[UInt8]] {
        guard options.sink == .file, let hash = Self.hash64(hex) else { return [] }
        flushIfRecent(toMs)
        let hexBytes = Array(hex.utf8)
        let (closed, open, erasing) = state.withLock { state in
            (state.closed.values.filter { $0.maxMs >= fromMs && $0.minMs <= toMs }.sorted { $0.maxMs > $1.maxMs },
             Array(state.open.values), state.pendingErasures.contains(hex))
        }
        // An erasure in progress: its lines are no longer listed, even before the rewrite ends.
        guard !erasing else { return [] }
        var found: [(id: String, line: [UInt8])] = []
        func take(_ line: [UInt8]) {
            line.withUnsafeBytes { bytes in
                guard let id = LineFacts.id(bytes), let ms = LineFacts.milliseconds(bytes), ms >= fromMs, ms <= toMs,
                      before.map({ id < $0 }) ?? true, LineFacts.isCustomer(bytes, hexBytes) else { return }
                found.append((id, line))
            }
        }
        for table in open {
            for block in try Self.read(table, table.blocks(of: hash)) {
                block.withUnsafeBytes { bytes in
                    LineFacts.forEachLine(bytes) { line, _ in if LineFacts.isCustomer(line, hexBytes) { take(Array(line)) } }
                }
            }
        }
        for segment in closed {
            // Enough found, and this segment and all after it are older than the last one kept.
            if found.count >= limit {
                found.sort { $0.id > $1.id }
                found.removeLast(found.count - limit)
                if let oldest = found.last?.line.withUnsafeBytes({ LineFacts.milliseconds($0) }), segment.maxMs < oldest { break }
            }
            for line in try segment.lines(ofCustomer: hash, hex: hexBytes) { take(line) }
        }
        found.sort { $0.id > $1.id }
        return found.prefix(limit).map(\.line)
    }

    /// Flushes (the loop waits for the writer's next turns) only when lines made at `ms` or
    /// later may still be in a buffer: the writer takes them every 10 ms, so a lookup of an
    /// older decision need not wait.
    private func flushIfRecent(_ ms: UInt64) {
        if ms >= options.clock() &- 1_000 { flush() }
    }

    /// The lines of an open table's blocks numbered `which` (into `readable`), decompressed.
    private static func read(_ table: OpenTable, _ which: [Int]) throws(LogError) -> [[UInt8]] {
        guard !which.isEmpty else { return [] }
        let fd = open(table.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LogError("cannot open \(table.path): \(File.errorText())") }
        defer { Glibc.close(fd) }
        let readable = table.readable
        var out: [[UInt8]] = []
        for i in which where i < readable.count {
            out.append(try ClosedSegment.block(readable[i].0, fd: fd, path: table.path, ending: readable[i].1))
        }
        return out
    }

    /// Every retained line from `fromMs` to `toMs`, oldest segment first, for the command line.
    public func forEachLine(fromMs: UInt64, toMs: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) throws(LogError) {
        guard options.sink == .file else { return }
        let (closed, open) = state.withLock { state in
            (state.closed.values.filter { $0.maxMs >= fromMs && $0.minMs <= toMs }.sorted { $0.name < $1.name },
             state.open.sorted { $0.key < $1.key }.map(\.value))
        }
        func take(_ line: UnsafeRawBufferPointer, _: Int) {
            guard let ms = LineFacts.milliseconds(line), ms >= fromMs, ms <= toMs else { return }
            body(line)
        }
        for segment in closed { try segment.forEachBlock { block in block.withUnsafeBytes { LineFacts.forEachLine($0, take) } } }
        for table in open {
            for block in try Self.read(table, Array(0..<table.blocks.count + (table.current == nil ? 0 : 1))) {
                block.withUnsafeBytes { LineFacts.forEachLine($0, take) }
            }
        }
    }

    /// The decision id a line of this log starts with.
    public static func decisionID(ofLine line: [UInt8]) -> String? {
        line.withUnsafeBytes { LineFacts.id($0) }
    }

    /// Waits until the background work queued so far (closing, erasures, retention) is done.
    public func waitForMaintenance(seconds: Double = 30) {
        waitForSyncer(seconds: seconds)
        maintenance?.waitUntilIdle(seconds: seconds)
    }
}
