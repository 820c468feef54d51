import Foundation
import Glibc
import Synchronization

/// The decision log: one NDJSON line per decision, appended by the event loops into buffers of
/// their own and written by one thread, so that no loop waits on disk. The file sink keeps
/// hourly segments in a directory, closes them into zstd blocks with an index (`Segment.swift`),
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
        public var segmentMaxBytes = 256 << 20
        public var holdTimeout: Duration = .seconds(1)
        /// Milliseconds since 1970: when segments rotate and expire (tests move it).
        public var clock: @Sendable () -> UInt64 = { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }
        /// Where the stdout sink writes.
        public var output: Int32 = STDOUT_FILENO
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
        var plain: [SegmentName: PlainTable] = [:]
        var pendingErasures: [String] = []
    }

    /// Where each line of a plain (open or closing) segment lies, for lookups before it is closed.
    struct PlainTable {
        var path: String
        var ms: [UInt64] = [], customer: [UInt64] = [], address: [UInt64] = [], offset: [UInt64] = [], length: [UInt32] = []
        var bytes: UInt64 = 0

        /// Lines written one after another from `base`, each followed by its newline.
        mutating func append(_ lines: [LineMeta], base: UInt64, bytes more: UInt64) {
            var at = base
            for line in lines {
                ms.append(line.ms)
                customer.append(line.customer)
                address.append(line.address)
                offset.append(at)
                length.append(line.length)
                at += UInt64(line.length) + 1
            }
            bytes += more
        }
    }

    /// Starts the log. For the file sink, creates the directory (mode 0700) and checks that it
    /// can write there, and takes over what a previous run left; throws a one-line reason naming
    /// the path when it cannot.
    public init(options: Options) throws(LogError) {
        self.options = options
        buffers = (0..<max(1, options.loops)).map { _ in LoopBuffer(capacity: options.bufferBytes) }
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
                                      clock: options.clock)
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
        let buffer = buffers[loop % buffers.count]
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
            (state.closed.count + state.plain.count,
             state.closed.values.reduce(0) { $0 + $1.bytes } + state.plain.values.reduce(0) { $0 + Int($1.bytes) },
             state.pendingErasures.count)
        }
        s.segments = segments
        s.bytes = bytes
        s.pendingErasures = pending
        return s
    }

    /// Why the sink cannot write, or nil when it can.
    public var failure: String? { counters.withLock { $0.failure } }

    /// Writes what is buffered and stops the threads. The open segment stays plain; the next
    /// start closes it.
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
    /// The lines of this turn, each with its newline, and what the index needs of each.
    private var unwritten: [UInt8] = []
    private var unwrittenLines: [LineMeta] = []
    private var lastSync = ContinuousClock.now
    private var lastRetry = ContinuousClock.now
    private var dirty = false
    private var rotateFor: [String] = []

    private struct OpenSegment {
        let name: SegmentName
        let fd: Int32
        var size: Int
    }

    private func runWriter() {
        var drained: [UInt8] = [], drainedMeta: [LineMeta] = []
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

            // Lines of customers erased while they may have waited are left out; otherwise
            // the buffers are copied straight into the batch.
            let erased = recentlyErased.withLock { $0 }
            for buffer in buffers {
                buffer.lock()
                if erased.isEmpty {
                    buffer.drain(into: &unwritten, &unwrittenLines)
                } else {
                    buffer.drain(into: &drained, &drainedMeta)
                }
                buffer.broadcast()
                buffer.unlock()
                if !erased.isEmpty {
                    stage(drained, drainedMeta, leavingOut: erased)
                    drained.removeAll(keepingCapacity: true)
                    drainedMeta.removeAll(keepingCapacity: true)
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
            fdatasync(segment.fd)
            Glibc.close(segment.fd)
        }
        writerDone.signal()
    }

    /// Adds a drained buffer's lines to the batch this turn writes, but for those naming a
    /// customer or address in `erased`.
    private func stage(_ lines: [UInt8], _ meta: [LineMeta], leavingOut erased: [UInt64: UInt64]) {
        var offset = 0
        lines.withUnsafeBytes { all in
            for line in meta {
                let length = Int(line.length) + 1
                defer { offset += length }
                if (line.customer != 0 && erased[line.customer] != nil) || (line.address != 0 && erased[line.address] != nil) {
                    count { $0.erasedUnwritten += 1 }
                    continue
                }
                unwritten.append(contentsOf: UnsafeRawBufferPointer(rebasing: all[offset..<offset + length]))
                unwrittenLines.append(line)
            }
        }
    }

    /// Writes the batch: to standard output, or to the open segment (rotated by the hour and
    /// by size), all or nothing: a failed write is cut back off the file and tried again.
    private func finishBatch() {
        let now = ContinuousClock.now
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
        if !unwritten.isEmpty {
            do throws(LogError) {
                let ms = options.clock()
                let segment = try openSegment(hour: Int64(ms / 3_600_000))
                do {
                    try File.writeAll(segment.fd, unwritten)
                } catch {
                    // Nothing half-written: the file is cut back to where the batch began.
                    ftruncate(segment.fd, off_t(segment.size))
                    throw LogError("cannot write \(options.directory)/\(segment.name.plain): \(File.errorText(error.code))")
                }
                let base = UInt64(segment.size)
                self.segment?.size += unwritten.count
                // In place: a copy of the table out of the dictionary would make every batch
                // copy the hour's whole table.
                state.withLock { state in
                    guard state.plain[segment.name] != nil else { return }
                    state.plain[segment.name]!.append(unwrittenLines, base: base, bytes: UInt64(unwritten.count))
                }
                dirty = true
                recovered(lines: unwrittenLines.count)
                unwritten.removeAll(keepingCapacity: true)
                unwrittenLines.removeAll(keepingCapacity: true)
            } catch {
                fail(error.message)
            }
        }
        if dirty, let segment, now - lastSync >= options.syncInterval, let syncer, !syncer.isBusy {
            // On the syncer's thread, through a descriptor of its own.
            let copy = dup(segment.fd)
            if copy >= 0 {
                syncer.sync(copy, path: options.directory + "/" + segment.name.plain)
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

    /// The open segment for `hour`: the current one, or a new one after closing it.
    private func openSegment(hour: Int64) throws(LogError) -> OpenSegment {
        if let segment, segment.name.hour == hour, segment.size < options.segmentMaxBytes { return segment }
        closeCurrent()
        let part = state.withLock { state in
            (state.closed.keys.filter { $0.hour == hour }.map(\.part) + state.plain.keys.filter { $0.hour == hour }.map(\.part)).max().map { $0 + 1 } ?? 0
        }
        let name = SegmentName(hour: hour, part: part)
        let path = options.directory + "/" + name.plain
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LogError("cannot create \(path): \(File.errorText())") }
        File.syncDirectory(options.directory)
        let opened = OpenSegment(name: name, fd: fd, size: 0)
        segment = opened
        state.withLock { $0.plain[name] = PlainTable(path: path) }
        return opened
    }

    /// Hands the open segment to be synced, closed and then compressed, with `then` after it.
    private func closeCurrent(then jobs: [Maintenance.Job] = []) {
        guard let current = segment else {
            if !jobs.isEmpty { syncer?.sync(nil, path: "", then: jobs) }
            return
        }
        dirty = false
        segment = nil
        syncer?.sync(current.fd, path: options.directory + "/" + current.name.plain, then: [.close(current.name)] + jobs)
    }

    private func rotate(forErasures erasures: [String]) {
        closeCurrent(then: erasures.map { .erase($0) })
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

    /// Takes over a previous run's files: plain segments are indexed for lookups and queued to
    /// be closed, closed ones checked (an index that does not match its blocks is rebuilt),
    /// temporary files removed, pending erasures queued again.
    private func recover() throws(LogError) {
        let directory = options.directory
        var names: [SegmentName: Set<String>] = [:]
        for file in File.list(directory) {
            if file.hasSuffix(".tmp") { unlink(directory + "/" + file); continue }
            guard let (name, kind) = SegmentName.parse(file) else { continue }
            names[name, default: []].insert("\(kind)")
        }
        for (name, kinds) in names.sorted(by: { $0.key < $1.key }) {
            if kinds.contains("plain") {
                let table = try Self.scanPlain(directory + "/" + name.plain)
                state.withLock { $0.plain[name] = table }
                maintenance?.enqueue(.close(name))
            } else if kinds.contains("compressed") {
                if !ClosedSegment.isConsistent(name: name, directory: directory) {
                    _ = try ClosedSegment.rewrite(name: name, directory: directory) { _ in true }
                }
                if let segment = try? ClosedSegment(name: name, directory: directory) {
                    state.withLock { $0.closed[name] = segment }
                }
            } else {
                unlink(directory + "/" + name.index)
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

    /// The catalog of a directory as it is: plain segments indexed in memory, closed ones whose
    /// index matches their blocks.
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
        for (name, kind) in kinds {
            if kind.contains("plain") {
                let table = try Self.scanPlain(directory + "/" + name.plain, truncate: false)
                state.withLock { $0.plain[name] = table }
            } else if kind.contains("compressed"), ClosedSegment.isConsistent(name: name, directory: directory),
                      let segment = try? ClosedSegment(name: name, directory: directory) {
                state.withLock { $0.closed[name] = segment }
            }
        }
    }

    /// Indexes a plain segment left by a previous run, cutting off a torn last line (unless
    /// `truncate` is false: then it is only left out).
    static func scanPlain(_ path: String, truncate cut: Bool = true) throws(LogError) -> PlainTable {
        var table = PlainTable(path: path)
        let end = try File.forEachLine(path) { line, offset in
            table.ms.append(LineFacts.milliseconds(line) ?? 0)
            table.customer.append(LineFacts.customer(line))
            table.address.append(LineFacts.address(line))
            table.offset.append(UInt64(offset))
            table.length.append(UInt32(line.count))
        }
        if cut, let size = File.size(path), end < size { truncate(path, off_t(end)) }
        table.bytes = UInt64(end)
        return table
    }
}

/// What the writer needs of a line besides its bytes.
struct LineMeta {
    var ms: UInt64, customer: UInt64, address: UInt64
    var length: UInt32
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
    private let bytes: UnsafeMutableRawPointer
    private let meta: UnsafeMutablePointer<LineMeta>
    /// The mutex at 0, the condition at 64, the bytes used at 128 and the lines held at 136.
    private let control: UnsafeMutableRawPointer
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private static let controlBytes = 256, cacheLine = 128

    init(capacity: Int) {
        self.capacity = max(capacity, 64 * 1024)
        maxLines = self.capacity / 64
        bytes = .allocate(byteCount: self.capacity, alignment: Self.cacheLine)
        meta = .allocate(capacity: maxLines)
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
        bytes.deallocate()
        meta.deallocate()
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

    /// Copies what the buffer holds to the end of `lines` and `lineMeta` and empties it; the
    /// caller holds the lock.
    func drain(into lines: inout [UInt8], _ lineMeta: inout [LineMeta]) {
        lines.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: used[0]))
        lineMeta.append(contentsOf: UnsafeBufferPointer(start: meta, count: used[1]))
        used[0] = 0
        used[1] = 0
    }
}
