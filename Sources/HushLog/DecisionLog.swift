import Foundation
import Glibc
import Synchronization

/// The decision log: one NDJSON line per decision, appended by the event loops into buffers of
/// their own and written by one thread, so that no loop waits on disk. The file sink keeps
/// hourly segments of zstd blocks in a directory, compressed as written, indexed once closed (`Segment.swift`),
/// deletes them by age and total size, and reads them back by decision id or by customer hash.
/// The stdout sink writes the lines to standard output for a log shipper; `off` keeps nothing.
public final class DecisionLog: @unchecked Sendable {
    public enum Sink: String, Sendable, CaseIterable { case file, stdout, off }

    /// What an append does when its loop's buffer is full.
    public enum WhenFull: String, Sendable, CaseIterable {
        /// The decision is answered and its line dropped and counted.
        case drop
        /// The loop waits for room (at most `holdTimeout`); the decision is refused when there
        /// is none, or at once while the sink cannot write: no answer goes unrecorded.
        case hold
    }

    public struct Options: Sendable {
        public var sink: Sink = .file
        public var directory = ""
        public var whenFull: WhenFull = .hold
        public var retentionDays = 30
        public var maxBytes = 10 << 30
        /// Each event loop's buffer.
        public var bufferBytes = 4 << 20
        public var loops = 1
        public var flushInterval: Duration = .milliseconds(10)
        public var syncInterval: Duration = .seconds(1)
        /// Bytes of lines (before compression) past which the hour's segment gets a new part.
        public var segmentMaxBytes = 256 << 20
        public var holdTimeout: Duration = .seconds(1)
        /// Milliseconds since 1970: when segments rotate and expire (tests move it).
        public var clock: @Sendable () -> UInt64 = { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }
        /// Where the stdout sink writes.
        public var output: Int32 = STDOUT_FILENO
        /// Where problems no reader sees are reported (a damaged block left out, a failed
        /// deletion): standard error by default.
        public var report: @Sendable (String) -> Void = { message in
            FileHandle.standardError.write(Data("decision log: \(message)\n".utf8))
        }
        /// Reads the file sink's directory as it is, changing nothing, and takes no appends:
        /// for `hush decision-log`, which may run beside a serving hush.
        public var readOnly = false

        public init() {}
    }

    /// What became of one decision's line.
    public enum Append: Equatable, Sendable {
        case recorded
        /// Dropped and counted (`WhenFull.drop`, or the sink is off).
        case dropped
        /// Not recorded, under `WhenFull.hold`: the decision must not be answered as made.
        case refused
    }

    public struct Stats: Sendable, Equatable {
        public var written = 0, dropped = 0, refused = 0
        /// Lines left out because their customer was erased while they waited.
        public var erasedUnwritten = 0
        public var segments = 0, bytes = 0
        public var pendingErasures = 0
        /// Why the sink cannot write, while it cannot.
        public var failure: String?
    }

    public let options: Options
    let buffers: [LoopBuffer]
    /// The same buffers, unretained, for `append`: `buffers` keeps them alive as long as the
    /// log, and taking one out of an array would retain and release it, two atomic operations
    /// on every decision.
    private let appendBuffers: [Unmanaged<LoopBuffer>]
    private let writerWake = NSCondition()
    private var wakeRequested = false
    private var stopping = false
    private var generation: UInt64 = 0
    private let writerDone = DispatchSemaphore(value: 0)
    let state = Mutex(State())
    private let counters = Mutex(Stats())
    private let failing = Atomic<Bool>(false)
    let maintenance: Maintenance?
    /// Syncs segments and hands the maintenance thread its work (file sink only).
    private var syncer: Syncer?
    /// Customers erased while their lines may still wait in a buffer: such lines are not written.
    private let recentlyErased = Mutex<[UInt64: UInt64]>([:])

    /// The segments the readers may search.
    struct State {
        var closed: [SegmentName: ClosedSegment] = [:]
        var open: [SegmentName: OpenTable] = [:]
        var pendingErasures: [String] = []
    }

    /// The index of a segment without its index file yet (being written, or waiting for its
    /// index), in memory: its ended blocks, the open frame as far as it was written, and whose
    /// lines each block holds.
    struct OpenTable {
        var path: String
        var blocks: [SegmentIndex.Block] = []
        var current: SegmentIndex.Block?
        var customers: [(UInt64, UInt32)] = []
        var lines: UInt64 = 0
        var bytes: UInt64 = 0

        /// Takes what `builder` noted since the last call: its ended blocks, their subjects, and
        /// its open frame as far as `bytes` of the file hold it.
        mutating func update(from builder: inout SegmentBuilder, bytes: UInt64) {
            let (ended, subjects) = builder.drain()
            blocks.append(contentsOf: ended)
            customers.append(contentsOf: subjects)
            current = builder.openBlock
            lines = builder.lines
            self.bytes = bytes
        }

        /// Every block, with how to read it.
        var readable: [(SegmentIndex.Block, Zstd.Ending)] {
            blocks.map { ($0, .whole) } + (current.map { [($0, .open)] } ?? [])
        }

        /// Whether any line may name subject `hash`.
        func mayHold(_ hash: UInt64) -> Bool { customers.contains { $0.0 == hash } }

        /// The blocks (numbers into `readable`) that hold lines of subject `hash`.
        func blocks(of hash: UInt64) -> [Int] {
            var found: [Int] = []
            for (subject, block) in customers where subject == hash && found.last != Int(block) { found.append(Int(block)) }
            return found
        }
    }

    /// Starts the log. For the file sink, creates the directory (mode 0700) and checks that it
    /// can write there, and takes over what a previous run left; throws a one-line reason naming
    /// the path when it cannot.
    public init(options: Options) throws(LogError) {
        self.options = options
        buffers = (0..<max(1, options.loops)).map { _ in LoopBuffer(capacity: options.bufferBytes) }
        appendBuffers = buffers.map { Unmanaged.passUnretained($0) }
        if options.readOnly {
            maintenance = nil
            try loadReadOnly()
            return
        }
        if options.sink == .file {
            // A file size limit (RLIMIT_FSIZE) then fails a write with EFBIG, reported like a
            // full disk, instead of killing the process.
            signal(SIGXFSZ, SIG_IGN)
            try Self.prepare(directory: options.directory)
            maintenance = Maintenance(directory: options.directory, retentionDays: options.retentionDays, maxBytes: options.maxBytes,
                                      clock: options.clock, report: options.report)
        } else {
            maintenance = nil
        }
        maintenance?.log = self
        if options.sink == .file { try recover() }
        guard options.sink != .off else { return }
        if options.sink == .file {
            syncer = Syncer(maintenance: maintenance) { [weak self] reason in self?.fail(reason) }
        }
        startThread(named: "hush-log-writer") { [self] in runWriter() }
        maintenance?.start()
    }

    /// A log that keeps nothing (`sink: off`).
    public static func off() -> DecisionLog {
        var options = Options()
        options.sink = .off
        // Without files there is nothing that can fail.
        return try! DecisionLog(options: options)
    }

    private static func prepare(directory: String) throws(LogError) {
        guard !directory.isEmpty else { throw LogError("decision_log.directory is empty") }
        var st = stat()
        if stat(directory, &st) != 0 {
            // Parents first, as mkdir -p does.
            var path = ""
            for part in directory.split(separator: "/", omittingEmptySubsequences: false) {
                path += (path.isEmpty && directory.hasPrefix("/") && part.isEmpty) ? "/" : (path.isEmpty || path == "/" ? "" : "/") + part
                if path.isEmpty || path == "/" { continue }
                if stat(path, &st) != 0, mkdir(path, 0o700) != 0, errno != EEXIST {
                    throw LogError("cannot create the decision log directory \(directory): \(File.errorText())")
                }
            }
        }
        guard stat(directory, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw LogError("the decision log directory \(directory) is not a directory")
        }
        let probe = directory + "/.write-check"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LogError("cannot write in the decision log directory \(directory): \(File.errorText())") }
        let wrote = Glibc.write(fd, "ok\n", 3) == 3 && fsync(fd) == 0
        let code = errno
        Glibc.close(fd)
        unlink(probe)
        guard wrote else { throw LogError("cannot write in the decision log directory \(directory): \(File.errorText(code))") }
    }

    // MARK: Appending (event loops)

    /// Records one decision's line (without its newline) from loop `loop`: `ms` is its decision
    /// id's millisecond, `customer` and `address` the first 64 bits of its subject hashes (0 for none).
    public func append(loop: Int, ms: UInt64, customer: UInt64, address: UInt64, line: UnsafeRawBufferPointer) -> Append {
        guard options.sink != .off, !options.readOnly else { return .dropped }
        let hold = options.whenFull == .hold
        if failing.load(ordering: .relaxed) {
            if hold { count { $0.refused += 1 }; return .refused }
            if options.sink == .file { count { $0.dropped += 1 }; return .dropped }
        }
        return appendBuffers[loop % appendBuffers.count]._withUnsafeGuaranteedRef { buffer in
            append(to: buffer, hold: hold, ms: ms, customer: customer, address: address, line: line)
        }
    }

    private func append(to buffer: LoopBuffer, hold: Bool, ms: UInt64, customer: UInt64, address: UInt64, line: UnsafeRawBufferPointer) -> Append {
        buffer.lock()
        if !buffer.fits(line.count) {
            guard hold else {
                buffer.unlock()
                count { $0.dropped += 1 }
                return .dropped
            }
            let deadline = LoopBuffer.deadline(after: options.holdTimeout)
            while !buffer.fits(line.count) {
                wake()
                if failing.load(ordering: .relaxed) || !buffer.wait(until: deadline) {
                    if buffer.fits(line.count) { break }
                    buffer.unlock()
                    count { $0.refused += 1 }
                    return .refused
                }
            }
        }
        buffer.put(ms: ms, customer: customer, address: address, line: line)
        let half = buffer.byteCount > buffer.capacity / 2 || buffer.lineCount > buffer.maxLines / 2
        buffer.unlock()
        if half { wake() }
        return .recorded
    }

    private func count(_ change: (inout Stats) -> Void) { counters.withLock { stats in change(&stats) } }

    private func wake() {
        writerWake.lock()
        wakeRequested = true
        writerWake.signal()
        writerWake.unlock()
    }

    /// Returns once every line appended before the call was written (or the sink failed, or a
    /// second passed): reads by id and by customer see the decisions just made.
    public func flush() {
        guard options.sink != .off, !options.readOnly else { return }
        writerWake.lock()
        let target = generation + 2
        let deadline = Date().addingTimeInterval(1)
        while generation < target, !stopping {
            wakeRequested = true
            writerWake.broadcast()
            if !writerWake.wait(until: deadline) { break }
        }
        writerWake.unlock()
    }

    public var stats: Stats {
        var s = counters.withLock { $0 }
        let (segments, bytes, pending) = state.withLock { state in
            (state.closed.count + state.open.count,
             state.closed.values.reduce(0) { $0 + $1.bytes } + state.open.values.reduce(0) { $0 + Int($1.bytes) },
             state.pendingErasures.count)
        }
        s.segments = segments
        s.bytes = bytes
        s.pendingErasures = pending
        return s
    }

    /// Why the sink cannot write, or nil when it can.
    public var failure: String? { counters.withLock { $0.failure } }

    /// Writes what is buffered and stops the threads, closing the open segment.
    public func close() {
        guard options.sink != .off, !options.readOnly else { return }
        writerWake.lock()
        let first = !stopping
        stopping = true
        writerWake.broadcast()
        writerWake.unlock()
        guard first else { return }
        writerDone.wait()
        syncer?.stop()
        maintenance?.stop()
    }

    // MARK: The writer thread

    private var segment: OpenSegment?
    /// Lines compressed into the segment's output but not yet written (a write failed).
    private var compressedLines = 0
    /// The lines of this turn, each with its newline, and what the index needs of each.
    private var unwritten: [UInt8] = []
    private var unwrittenLines: [LineMeta] = []
    /// The lines taken from the loops' buffers this turn, where they lie.
    private var taken: [LoopBuffer.Lines] = []
    private var lastSync = ContinuousClock.now
    private var lastRetry = ContinuousClock.now
    private var dirty = false
    private var rotateFor: [String] = []

    private final class OpenSegment {
        let name: SegmentName
        let fd: Int32
        var builder: SegmentBuilder
        /// Bytes written (the file's size).
        var written: UInt64 = 0

        init(name: SegmentName, fd: Int32, builder: SegmentBuilder) {
            self.name = name
            self.fd = fd
            self.builder = builder
        }
    }

    private func runWriter() {
        while true {
            writerWake.lock()
            if !wakeRequested && !stopping {
                _ = writerWake.wait(until: Date().addingTimeInterval(Double(options.flushInterval.components.attoseconds) / 1e18
                                                                      + Double(options.flushInterval.components.seconds)))
            }
            wakeRequested = false
            let ending = stopping
            let erasures = rotateFor
            rotateFor = []
            writerWake.unlock()

            // Each loop's lines are taken where they lie (the loop writes on into its other
            // half) and compressed from there; lines of customers erased while they may have
            // waited are left out, through a copy.
            let erased = recentlyErased.withLock { $0 }
            taken.removeAll(keepingCapacity: true)
            for buffer in buffers {
                buffer.lock()
                let lines = buffer.take()
                buffer.broadcast()
                buffer.unlock()
                if !erased.isEmpty {
                    stage(lines, leavingOut: erased)
                } else if !lines.meta.isEmpty {
                    taken.append(lines)
                }
            }
            finishBatch()
            if !erasures.isEmpty { rotate(forErasures: erasures) }

            writerWake.lock()
            generation += 1
            writerWake.broadcast()
            writerWake.unlock()
            if ending { break }
        }
        if let segment {
            // Closed now, index and all, so that the next start finds nothing to repair.
            self.segment = nil
            let ended = (try? end(segment)) != nil
            fdatasync(segment.fd)
            Glibc.close(segment.fd)
            if ended { maintenance?.perform(.close(segment.name)) }
        }
        writerDone.signal()
    }

    /// Adds a taken buffer's lines to the batch this turn writes, but for those naming a
    /// customer or address in `erased`.
    private func stage(_ lines: LoopBuffer.Lines, leavingOut erased: [UInt64: UInt64]) {
        var offset = 0
        for line in lines.meta {
            let length = Int(line.length) + 1
            defer { offset += length }
            if (line.customer != 0 && erased[line.customer] != nil) || (line.address != 0 && erased[line.address] != nil) {
                count { $0.erasedUnwritten += 1 }
                continue
            }
            unwritten.append(contentsOf: UnsafeRawBufferPointer(rebasing: lines.bytes[offset..<offset + length]))
            unwrittenLines.append(line)
        }
    }

    /// Adds the lines taken this turn, from the `from`th loop's on, to the batch as they are
    /// (when they cannot be compressed where they lie), and forgets them.
    private func stageTaken(from first: Int = 0) {
        for lines in taken[first...] {
            unwritten.append(contentsOf: lines.bytes)
            unwrittenLines.append(contentsOf: lines.meta)
        }
        taken.removeAll(keepingCapacity: true)
    }

    /// Compresses the lines taken this turn where they lie, into the open segment's frame,
    /// flushed after the last. Only when nothing waits before them (unwritten lines, or output
    /// a failed write left): otherwise they join the batch. Those a failure leaves uncompressed
    /// join the batch too, for the next try.
    private func compressTaken(into segment: OpenSegment) throws(LogError) {
        var done = 0
        defer { stageTaken(from: done) }
        for (i, lines) in taken.enumerated() {
            do {
                try segment.builder.add(lines: lines.bytes, lines.meta, flush: i == taken.count - 1)
            } catch {
                throw LogError("cannot compress \(options.directory)/\(segment.name.compressed): \(error.message)")
            }
            compressedLines += lines.meta.count
            done = i + 1
        }
    }

    /// Writes the batch: to standard output, or to the open segment (rotated by the hour and
    /// by size), all or nothing: a failed write is cut back off the file and tried again.
    private func finishBatch() {
        let now = ContinuousClock.now
        if options.sink == .stdout || !unwritten.isEmpty || compressedLines > 0 || failing.load(ordering: .relaxed) {
            stageTaken()
        }
        if failing.load(ordering: .relaxed), now - lastRetry < .seconds(1), !stopping { return }
        lastRetry = now
        if options.sink == .stdout {
            guard !unwritten.isEmpty else { return }
            do {
                try File.writeAll(options.output, unwritten)
                recovered(lines: unwrittenLines.count)
            } catch {
                // A shipper that went away: what could not be written is dropped and counted.
                fail("cannot write to standard output: \(File.errorText(error.code))")
                count { $0.dropped += unwrittenLines.count }
            }
            unwritten.removeAll(keepingCapacity: true)
            unwrittenLines.removeAll(keepingCapacity: true)
            return
        }
        if !taken.isEmpty || !unwritten.isEmpty || compressedLines > 0 {
            do throws(LogError) {
                let segment: OpenSegment
                do {
                    segment = try openSegment(hour: Int64(options.clock() / 3_600_000))
                } catch {
                    stageTaken()
                    throw error
                }
                if !taken.isEmpty {
                    // Nothing waits before them (see above): compressed where they lie, flushed.
                    try compressTaken(into: segment)
                } else if compressedLines == 0 {
                    // The turn's lines into the open frame, flushed: on disk they decompress.
                    do {
                        try segment.builder.add(unwritten, unwrittenLines, flush: true)
                    } catch {
                        throw LogError("cannot compress \(options.directory)/\(segment.name.compressed): \(error.message)")
                    }
                    compressedLines = unwrittenLines.count
                    unwritten.removeAll(keepingCapacity: true)
                    unwrittenLines.removeAll(keepingCapacity: true)
                }
                try write(segment)
                dirty = true
                recovered(lines: compressedLines)
                compressedLines = 0
            } catch {
                fail(error.message)
            }
        }
        if dirty, let segment, now - lastSync >= options.syncInterval, let syncer, !syncer.isBusy {
            // On the syncer's thread, through a descriptor of its own.
            let copy = dup(segment.fd)
            if copy >= 0 {
                syncer.sync(copy, path: options.directory + "/" + segment.name.compressed)
                dirty = false
            }
            lastSync = now
        }
    }

    /// Waits until what the writer handed the syncer is done (tests and tools).
    func waitForSyncer(seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while syncer?.isBusy == true, Date() < deadline { usleep(1_000) }
    }

    func fail(_ reason: String) {
        failing.store(true, ordering: .relaxed)
        count { $0.failure = reason }
    }

    private func recovered(lines: Int) {
        count { $0.written += lines; $0.failure = nil }
        failing.store(false, ordering: .relaxed)
    }

    /// Writes the segment's compressed output, all or nothing: a failed write is cut back off
    /// the file, and the output kept to be written again; then shows the readers what it holds.
    private func write(_ segment: OpenSegment) throws(LogError) {
        guard !segment.builder.output.isEmpty else { return }
        do {
            try File.writeAll(segment.fd, segment.builder.output)
        } catch {
            ftruncate(segment.fd, off_t(segment.written))
            throw LogError("cannot write \(options.directory)/\(segment.name.compressed): \(File.errorText(error.code))")
        }
        segment.written += UInt64(segment.builder.output.count)
        segment.builder.clearOutput()
        // In place: a copy of the table out of the dictionary would copy the hour's whole table.
        state.withLock { state in state.open[segment.name]?.update(from: &segment.builder, bytes: segment.written) }
    }

    /// Ends the segment's open frame and writes it.
    private func end(_ segment: OpenSegment) throws(LogError) {
        try segment.builder.endFrame()
        try write(segment)
    }

    /// The open segment for `hour`: the current one, or a new one after closing it (unless
    /// output of the current one still waits to be written).
    private func openSegment(hour: Int64) throws(LogError) -> OpenSegment {
        if let segment, (segment.name.hour == hour && segment.builder.content < UInt64(options.segmentMaxBytes)) || compressedLines > 0 {
            return segment
        }
        try closeCurrent()
        let part = state.withLock { state in
            (state.closed.keys.filter { $0.hour == hour }.map(\.part) + state.open.keys.filter { $0.hour == hour }.map(\.part)).max().map { $0 + 1 } ?? 0
        }
        // A file of that name that hush does not know (it could not be read at start) is left
        // alone: the next part is taken.
        var name = SegmentName(hour: hour, part: part), path = "", fd: Int32 = -1
        for next in part..<part + 100 {
            name = SegmentName(hour: hour, part: next)
            path = options.directory + "/" + name.compressed
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw LogError("cannot create \(path): \(File.errorText())") }
        File.syncDirectory(options.directory)
        let opened = OpenSegment(name: name, fd: fd, builder: try SegmentBuilder())
        segment = opened
        state.withLock { $0.open[name] = OpenTable(path: path) }
        return opened
    }

    /// Ends the open segment's last frame and hands it to be synced and given its index, with
    /// `then` after it. Throws, keeping the segment open, when its last frame cannot be written.
    private func closeCurrent(then jobs: [Maintenance.Job] = []) throws(LogError) {
        guard let current = segment else {
            if !jobs.isEmpty { syncer?.sync(nil, path: "", then: jobs) }
            return
        }
        try end(current)
        dirty = false
        segment = nil
        syncer?.sync(current.fd, path: options.directory + "/" + current.name.compressed, then: [.close(current.name)] + jobs)
    }

    private func rotate(forErasures erasures: [String]) {
        do throws(LogError) {
            try closeCurrent(then: erasures.map { .erase($0) })
        } catch {
            // The segment stays open and names the subjects: the erasures stay pending, and
            // are carried out once it could be closed (at the latest by the next start).
            fail(error.message)
            syncer?.sync(nil, path: "", then: erasures.map { .erase($0) })
        }
    }

    // MARK: Erasure

    /// Makes the lines naming any of `subjects` (keyed hashes of a customer id and its
    /// addresses, each 32 lower-case hex digits) unreachable: recorded durably as pending, left
    /// out of what is still buffered, and removed from every segment by rewriting it (in the
    /// background; `stats.pendingErasures` counts those not yet done). Throws when the pending
    /// record cannot be written.
    public func erase(subjects: [String]) throws(LogError) {
        let hexes = subjects.filter { Self.hash64($0) != nil }
        guard options.sink == .file, !hexes.isEmpty else { return }
        recentlyErased.withLock { erased in
            let now = options.clock()
            erased = erased.filter { now &- $0.value < 600_000 }
            for hex in hexes { erased[Self.hash64(hex)!] = now }
        }
        try state.withLock { (state) throws(LogError) in
            state.pendingErasures.append(contentsOf: hexes)
            try File.replace(options.directory + "/" + Maintenance.pendingFile, with: Array(state.pendingErasures.map { $0 + "\n" }.joined().utf8))
        }
        writerWake.lock()
        rotateFor.append(contentsOf: hexes)
        wakeRequested = true
        writerWake.signal()
        writerWake.unlock()
    }

    /// The first 64 bits of a customer hash in hex.
    static func hash64(_ hex: String) -> UInt64? {
        let bytes = Array(hex.utf8)
        guard bytes.count == 32 else { return nil }
        var value: UInt64 = 0
        for b in bytes.prefix(16) {
            guard let v = LineFacts.hexValue(b) else { return nil }
            value = value << 4 | UInt64(v)
        }
        for b in bytes.dropFirst(16) where LineFacts.hexValue(b) == nil { return nil }
        return value
    }

    // MARK: Start-up

    /// Takes over a previous run's files: a segment without a matching index (left open by a
    /// crash, or cut short) is repaired, temporary files removed, pending erasures queued again.
    private func recover() throws(LogError) {
        let directory = options.directory
        var names: [SegmentName: Set<String>] = [:]
        for file in File.list(directory) {
            if file.hasSuffix(".tmp") { unlink(directory + "/" + file); continue }
            guard let (name, kind) = SegmentName.parse(file) else { continue }
            names[name, default: []].insert("\(kind)")
        }
        for (name, kinds) in names.sorted(by: { $0.key < $1.key }) {
            guard kinds.contains("compressed") else {
                unlink(directory + "/" + name.index)
                continue
            }
            if !ClosedSegment.isConsistent(name: name, directory: directory) {
                let damaged = try ClosedSegment.repair(name: name, directory: directory)
                if damaged > 0 {
                    options.report("\(directory)/\(name.compressed): \(damaged) damaged block(s) did not decompress and were left out; their lines are lost")
                }
            }
            if let segment = try? ClosedSegment(name: name, directory: directory) {
                state.withLock { $0.closed[name] = segment }
            }
        }
        let pendingPath = directory + "/" + Maintenance.pendingFile
        if File.size(pendingPath) != nil {
            let text = String(decoding: try File.readAll(pendingPath), as: UTF8.self)
            let pending = text.split(separator: "\n").map(String.init).filter { Self.hash64($0) != nil }
            state.withLock { $0.pendingErasures = pending }
            for hex in pending { maintenance?.enqueue(.erase(hex)) }
        }
    }

    /// The catalog of a directory as it is, changing nothing: closed segments whose index
    /// matches their blocks, and the others (one being written) read without their index.
    private func loadReadOnly() throws(LogError) {
        let directory = options.directory
        var st = stat()
        guard stat(directory, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw LogError("no decision log directory \(directory)")
        }
        var kinds: [SegmentName: Set<String>] = [:]
        for file in File.list(directory) {
            guard let (name, kind) = SegmentName.parse(file) else { continue }
            kinds[name, default: []].insert("\(kind)")
        }
        for (name, kind) in kinds where kind.contains("compressed") {
            if ClosedSegment.isConsistent(name: name, directory: directory), let segment = try? ClosedSegment(name: name, directory: directory) {
                state.withLock { $0.closed[name] = segment }
                continue
            }
            let path = directory + "/" + name.compressed
            let data = try File.readAll(path)
            var (builder, end, tail, _) = try ClosedSegment.scan(data)
            // The frame being written: read as far as it goes, each time.
            if !tail.isEmpty {
                tail.withUnsafeBytes { builder.adopt(at: UInt64(end), frameBytes: data.count - end, content: $0, ended: false) }
            }
            var table = OpenTable(path: path)
            table.update(from: &builder, bytes: UInt64(data.count))
            state.withLock { $0.open[name] = table }
        }
    }
}

/// What the writer needs of a line besides its bytes.
struct LineMeta {
    var ms: UInt64, customer: UInt64, address: UInt64
    var length: UInt32

    init(ms: UInt64, customer: UInt64, address: UInt64, length: UInt32) {
        (self.ms, self.customer, self.address, self.length) = (ms, customer, address, length)
    }

    /// What a line (without its newline) says of itself; 0 for what it does not say.
    init(_ line: UnsafeRawBufferPointer) {
        self.init(ms: LineFacts.milliseconds(line) ?? 0, customer: LineFacts.customer(line), address: LineFacts.address(line),
                  length: UInt32(line.count))
    }
}

/// One event loop's buffer: the lines, each with its newline, one after another, ready to be
/// written as they are, and beside them what the index needs of each. Filled by the loop under
/// its lock and emptied by the writer, which copies it out. Fixed memory, allocated once, and
/// nothing two loops write shares a cache line: the lock, its condition and the counts lie in a
/// block of their own, and the object is padded so that two loops' reference counts do not meet.
final class LoopBuffer: @unchecked Sendable {
    let capacity: Int
    /// Lines the buffer can describe: a line, with its decision id alone, is longer than 64 bytes.
    let maxLines: Int
    /// Two halves, each of `capacity` bytes and `maxLines` lines: the loop appends to one while
    /// the writer compresses what it took from the other.
    private let halves: (bytes: UnsafeMutableRawPointer, meta: UnsafeMutablePointer<LineMeta>,
                         otherBytes: UnsafeMutableRawPointer, otherMeta: UnsafeMutablePointer<LineMeta>)
    private var bytes: UnsafeMutableRawPointer
    private var meta: UnsafeMutablePointer<LineMeta>
    /// The mutex at 0, the condition at 64, the bytes used at 128 and the lines held at 136.
    private let control: UnsafeMutableRawPointer
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private static let controlBytes = 256, cacheLine = 128

    /// Lines taken by the writer (`take`), where they lie: valid until the next `take`.
    struct Lines {
        let bytes: UnsafeRawBufferPointer
        let meta: UnsafeBufferPointer<LineMeta>
    }

    init(capacity: Int) {
        self.capacity = max(capacity, 64 * 1024)
        maxLines = self.capacity / 64
        halves = (.allocate(byteCount: self.capacity, alignment: Self.cacheLine), .allocate(capacity: maxLines),
                  .allocate(byteCount: self.capacity, alignment: Self.cacheLine), .allocate(capacity: maxLines))
        bytes = halves.bytes
        meta = halves.meta
        control = .allocate(byteCount: Self.controlBytes, alignment: Self.cacheLine)
        control.initializeMemory(as: UInt8.self, repeating: 0, count: Self.controlBytes)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        halves.bytes.deallocate()
        halves.meta.deallocate()
        halves.otherBytes.deallocate()
        halves.otherMeta.deallocate()
        control.deallocate()
    }

    private var mutex: UnsafeMutablePointer<pthread_mutex_t> { control.assumingMemoryBound(to: pthread_mutex_t.self) }
    private var condition: UnsafeMutablePointer<pthread_cond_t> { (control + 64).assumingMemoryBound(to: pthread_cond_t.self) }
    private var used: UnsafeMutablePointer<Int> { (control + 128).assumingMemoryBound(to: Int.self) }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func broadcast() { pthread_cond_broadcast(condition) }

    /// Waits (holding the lock) for a broadcast until `deadline` on the monotonic clock; false
    /// once it passed.
    func wait(until deadline: timespec) -> Bool {
        var deadline = deadline
        return pthread_cond_timedwait(condition, mutex, &deadline) != ETIMEDOUT
    }

    /// The monotonic clock `duration` from now, for `wait(until:)`.
    static func deadline(after duration: Duration) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let (seconds, attoseconds) = duration.components
        var nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
        var whole = Int(now.tv_sec) + Int(seconds)
        if nanoseconds >= 1_000_000_000 { nanoseconds -= 1_000_000_000; whole += 1 }
        return timespec(tv_sec: whole, tv_nsec: nanoseconds)
    }

    var byteCount: Int { used[0] }
    var lineCount: Int { used[1] }

    /// Whether a line of `count` bytes (without its newline) fits.
    func fits(_ count: Int) -> Bool { used[0] + count + 1 <= capacity && used[1] < maxLines }

    /// Appends a line; the caller holds the lock and checked that it fits.
    func put(ms: UInt64, customer: UInt64, address: UInt64, line: UnsafeRawBufferPointer) {
        let at = used[0]
        if let source = line.baseAddress { (bytes + at).copyMemory(from: source, byteCount: line.count) }
        bytes.storeBytes(of: 0x0A, toByteOffset: at + line.count, as: UInt8.self)
        (meta + used[1]).initialize(to: LineMeta(ms: ms, customer: customer, address: address, length: UInt32(line.count)))
        used[0] = at + line.count + 1
        used[1] += 1
    }

    /// Hands the writer what the buffer holds, where it lies, and empties it: appends go on into
    /// the other half. The caller holds the lock; what it took is valid until its next `take`.
    func take() -> Lines {
        let lines = Lines(bytes: UnsafeRawBufferPointer(start: bytes, count: used[0]), meta: UnsafeBufferPointer(start: meta, count: used[1]))
        if bytes == halves.bytes {
            (bytes, meta) = (halves.otherBytes, halves.otherMeta)
        } else {
            (bytes, meta) = (halves.bytes, halves.meta)
        }
        used[0] = 0
        used[1] = 0
        return lines
    }
}
