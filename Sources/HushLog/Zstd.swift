import CZstd

/// Zstandard frames (RFC 8878) through libzstd. A segment is a run of frames, one per block of
/// whole lines: `zstdcat` reads the file as one stream, and hush decompresses only the block it
/// needs. The writer compresses as it writes: the open frame is flushed at the end of each of its
/// turns, so that what is on disk always decompresses up to the last line written, and ended
/// (with its checksum) once it holds a block's worth of lines.
enum Zstd {
    struct Failure: Error { let message: String }

    /// zstd's fast level -3: the same search as level 1 with a third of the effort on short
    /// matches, and literals stored as they are rather than Huffman-coded. On the log's lines
    /// (`zstd --fast=3 -b -B65536`) it compresses 1.7 times as fast as level 1 to a file 1.7
    /// times as big (about 48 bytes a line against 28); the writer shares the machine's cores
    /// with the event loops, and the bytes stay well under the log's budget (see the README's
    /// "The decision log's cost").
    static let level: Int32 = -3
    /// Back-references reach 128 KiB: a block is 64 KiB of lines, so nothing is lost, and a reader
    /// needs no bigger window than that.
    static let windowLog: Int32 = 17
    /// The search tuned to the lines: a bigger hash table (32,768 entries, 128 KiB) and matches
    /// of seven bytes or more. On a log's lines (`zstd --fast=3 -b -B65536`) that compresses
    /// 22 % faster than the level's own choice, to a file 1 % smaller (at level 1, 16 to 22 %
    /// faster, the file no bigger).
    static let hashLog: Int32 = 15
    static let minMatch: Int32 = 7

    /// A compression context that writes frames a piece at a time, reused from frame to frame
    /// (creating one costs more than a block).
    final class Compressor {
        private let context: OpaquePointer
        private let scratchBytes = ZSTD_CStreamOutSize()
        private let scratch: UnsafeMutableRawPointer

        init() throws(Failure) {
            guard let context = ZSTD_createCCtx() else { throw Failure(message: "zstd could not start compressing") }
            self.context = context
            scratch = .allocate(byteCount: scratchBytes, alignment: 64)
            for (parameter, value) in [(ZSTD_c_compressionLevel, Zstd.level), (ZSTD_c_checksumFlag, 1), (ZSTD_c_windowLog, Zstd.windowLog),
                                     (ZSTD_c_hashLog, Zstd.hashLog), (ZSTD_c_minMatch, Zstd.minMatch)] {
                let code = ZSTD_CCtx_setParameter(context, parameter, value)
                guard ZSTD_isError(code) == 0 else {
                    ZSTD_freeCCtx(context)
                    scratch.deallocate()
                    throw Failure(message: "zstd refused a parameter: \(Zstd.errorName(code))")
                }
            }
        }

        deinit {
            ZSTD_freeCCtx(context)
            scratch.deallocate()
        }

        enum Mode {
            /// Take the input; what is produced may lag behind it.
            case more
            /// Produce everything, so that the output decompresses up to the end of the input.
            case flush
            /// Produce everything and end the frame, with its checksum.
            case end
        }

        /// Compresses `input` into the open frame (starting one when none is open) and appends
        /// what it produced to `out`.
        func compress(_ input: UnsafeRawBufferPointer, _ mode: Mode, into out: inout [UInt8]) throws(Failure) {
            var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            let directive = switch mode { case .more: ZSTD_e_continue; case .flush: ZSTD_e_flush; case .end: ZSTD_e_end }
            while true {
                // Through a buffer of zstd's own block size: compressed bytes are a fourteenth
                // of the lines, so copying them costs less than making room for the worst case.
                var target = ZSTD_outBuffer(dst: scratch, size: scratchBytes, pos: 0)
                let remaining = ZSTD_compressStream2(context, &target, &source, directive)
                guard ZSTD_isError(remaining) == 0 else {
                    ZSTD_CCtx_reset(context, ZSTD_reset_session_only)
                    throw Failure(message: "zstd could not compress a block: \(Zstd.errorName(remaining))")
                }
                out.append(contentsOf: UnsafeRawBufferPointer(start: scratch, count: target.pos))
                if source.pos == source.size && (mode == .more || remaining == 0) { return }
            }
        }
    }

    /// Whether a frame must be whole: a closed block must; the block a segment is still writing,
    /// or the torn last one of a segment left by a crash, yields what it holds so far.
    enum Ending { case whole, open }

    /// The content of one frame, at most `limit` bytes.
    static func decompress(_ input: [UInt8], limit: Int, ending: Ending = .whole) throws(Failure) -> [UInt8] {
        try input.withUnsafeBytes { decompress($0, limit: limit, ending: ending) }.get()
    }

    static func decompress(_ frame: UnsafeRawBufferPointer, limit: Int, ending: Ending = .whole) -> Result<[UInt8], Failure> {
        guard let base = frame.baseAddress, frame.count > 0 else { return .failure(Failure(message: "an empty block")) }
        guard ending == .open || ZSTD_getFrameContentSize(base, frame.count) != contentSizeError else {
            return .failure(Failure(message: "a block is not a zstd frame"))
        }
        guard let context = ZSTD_createDCtx() else { return .failure(Failure(message: "zstd could not start decompressing")) }
        defer { ZSTD_freeDCtx(context) }
        // A damaged or hostile header cannot make it allocate more than a block may hold.
        ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 23)
        var source = ZSTD_inBuffer(src: base, size: frame.count, pos: 0)
        var out: [UInt8] = []
        var left = 1
        while source.pos < source.size || left != 0 {
            let before = out.count
            let room = min(max(64 * 1024, before), limit + 1 - before)
            guard room > 0 else { return .failure(Failure(message: "a block holds more than \(limit) bytes")) }
            out.append(contentsOf: repeatElement(0, count: room))
            var produced = 0
            out.withUnsafeMutableBytes { bytes in
                var target = ZSTD_outBuffer(dst: bytes.baseAddress! + before, size: room, pos: 0)
                left = ZSTD_decompressStream(context, &target, &source)
                produced = target.pos
            }
            out.removeLast(room - produced)
            if ZSTD_isError(left) != 0 {
                if ending == .open { return .success(out) }
                return .failure(Failure(message: "a block does not decompress: \(errorName(left))"))
            }
            if out.count > limit { return .failure(Failure(message: "a block holds more than \(limit) bytes")) }
            if left == 0 {
                guard source.pos == source.size || ending == .open else {
                    return .failure(Failure(message: "a block has \(source.size - source.pos) bytes after its frame"))
                }
                return .success(out)
            }
            if source.pos == source.size && produced < room {
                // All the input is taken and the frame is not ended.
                if ending == .open { return .success(out) }
                return .failure(Failure(message: "a block ends inside its frame"))
            }
        }
        return .success(out)
    }

    /// Calls `body` with the content of each frame of `input`, in order, without an index; each
    /// frame may hold at most `limit` bytes.
    static func forEachFrame(_ input: [UInt8], limit: Int, _ body: ([UInt8]) -> Void) throws(Failure) {
        var failure: Failure?
        let end = input.withUnsafeBytes { frames(in: $0) { offset, frame in
            switch decompress(frame, limit: limit) {
            case .success(let content): body(content); return true
            case .failure(let error): failure = Failure(message: "the block at byte \(offset): \(error.message)"); return false
            }
        } }
        if let failure { throw failure }
        if end < input.count { throw Failure(message: "the block at byte \(end) is not a whole zstd frame") }
    }

    /// Calls `body` with each whole frame of `bytes` and its offset, while it returns true; returns
    /// where the whole frames end (the length of `bytes` when they all are).
    @discardableResult
    static func frames(in bytes: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) -> Bool) -> Int {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let length = ZSTD_findFrameCompressedSize(rest.baseAddress, rest.count)
            guard ZSTD_isError(length) == 0, body(offset, UnsafeRawBufferPointer(rebasing: rest[..<length])) else { return offset }
            offset += length
        }
        return offset
    }

    // ZSTD_CONTENTSIZE_ERROR, a macro.
    private static let contentSizeError = UInt64.max - 1

    static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }
}
