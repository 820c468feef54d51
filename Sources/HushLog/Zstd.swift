import CZstd

/// Zstandard frames (RFC 8878) through libzstd. A closed segment is a run of frames, one per
/// block of whole lines: `zstdcat` reads the file as one stream, and hush decompresses only the
/// block it needs. Each frame states its content size and carries a checksum of it.
enum Zstd {
    struct Failure: Error { let message: String }

    /// zstd's level 1: on the log's lines about seven times as fast as zlib's fastest level, and
    /// smaller (see the README's "The decision log's cost").
    static let level: Int32 = 1

    /// A compression context, reused from frame to frame (creating one costs more than a block).
    final class Compressor {
        private let context: OpaquePointer

        init() throws(Failure) {
            guard let context = ZSTD_createCCtx() else { throw Failure(message: "zstd could not start compressing") }
            self.context = context
            for (parameter, value) in [(ZSTD_c_compressionLevel, Zstd.level), (ZSTD_c_checksumFlag, 1)] {
                let code = ZSTD_CCtx_setParameter(context, parameter, value)
                guard ZSTD_isError(code) == 0 else {
                    ZSTD_freeCCtx(context)
                    throw Failure(message: "zstd refused a parameter: \(Zstd.errorName(code))")
                }
            }
        }

        deinit { ZSTD_freeCCtx(context) }

        /// `bytes` as one frame.
        func frame(_ input: [UInt8]) throws(Failure) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
            let written = input.withUnsafeBytes { source in
                out.withUnsafeMutableBytes { ZSTD_compress2(context, $0.baseAddress, $0.count, source.baseAddress, source.count) }
            }
            guard ZSTD_isError(written) == 0 else { throw Failure(message: "zstd could not compress a block: \(Zstd.errorName(written))") }
            out.removeLast(out.count - written)
            return out
        }
    }

    /// The content of one frame; refuses a frame that does not state its size or states more than
    /// `limit` bytes (hush writes every frame with its size, and a block is bounded).
    static func decompress(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        try input.withUnsafeBytes { decompress($0, limit: limit) }.get()
    }

    static func decompress(_ frame: UnsafeRawBufferPointer, limit: Int) -> Result<[UInt8], Failure> {
        guard let base = frame.baseAddress, frame.count > 0 else { return .failure(Failure(message: "an empty block")) }
        let size = ZSTD_getFrameContentSize(base, frame.count)
        guard size != contentSizeError else { return .failure(Failure(message: "a block is not a zstd frame")) }
        guard size != contentSizeUnknown else { return .failure(Failure(message: "a block does not state its size")) }
        guard size <= UInt64(limit) else { return .failure(Failure(message: "a block states \(size) bytes, more than \(limit)")) }
        var out = [UInt8](repeating: 0, count: Int(size))
        let produced = out.withUnsafeMutableBytes { ZSTD_decompress($0.baseAddress, $0.count, base, frame.count) }
        guard ZSTD_isError(produced) == 0 else { return .failure(Failure(message: "a block does not decompress: \(errorName(produced))")) }
        guard produced == Int(size) else { return .failure(Failure(message: "a block decompresses to \(produced) bytes, not the \(size) it states")) }
        return .success(out)
    }

    /// Calls `body` with the content of each frame of `input`, in order, without an index; each
    /// frame may hold at most `limit` bytes.
    static func forEachFrame(_ input: [UInt8], limit: Int, _ body: ([UInt8]) -> Void) throws(Failure) {
        try input.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Result<Void, Failure> in
            var offset = 0
            while offset < bytes.count {
                let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
                let length = ZSTD_findFrameCompressedSize(rest.baseAddress, rest.count)
                guard ZSTD_isError(length) == 0 else {
                    return .failure(Failure(message: "the block at byte \(offset) is not a whole zstd frame: \(errorName(length))"))
                }
                switch decompress(UnsafeRawBufferPointer(rebasing: rest[..<length]), limit: limit) {
                case .success(let content): body(content)
                case .failure(let error): return .failure(Failure(message: "the block at byte \(offset): \(error.message)"))
                }
                offset += length
            }
            return .success(())
        }.get()
    }

    // ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR, which are macros.
    private static let contentSizeUnknown = UInt64.max
    private static let contentSizeError = UInt64.max - 1

    static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }
}
