import CZlib

/// Gzip members (RFC 1952) through zlib. A closed segment is a run of members, one per block
/// of whole lines: `zcat` reads the file as one stream, and hush inflates only the block it needs.
enum Gzip {
    struct Failure: Error { let message: String }

    /// `bytes` as one gzip member at zlib's fastest level: about twice as fast as its default on
    /// the log's lines, for about 6 bytes more a line (37 against 31).
    static func compress(_ input: [UInt8]) throws(Failure) -> [UInt8] {
        try input.withUnsafeBytes { compress($0) }.get()
    }

    static func compress(_ bytes: UnsafeRawBufferPointer) -> Result<[UInt8], Failure> {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return .failure(Failure(message: "zlib could not start compressing"))
        }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 32)
        let status = out.withUnsafeMutableBufferPointer { output -> Int32 in
            stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.avail_in = uInt(bytes.count)
            stream.next_out = output.baseAddress
            stream.avail_out = uInt(output.count)
            return deflate(&stream, Z_FINISH)
        }
        guard status == Z_STREAM_END else { return .failure(Failure(message: "zlib could not compress a block (\(status))")) }
        out.removeLast(out.count - Int(stream.total_out))
        return .success(out)
    }

    /// The content of one gzip member; refuses more than `limit` bytes out (a block is bounded).
    static func decompress(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        try input.withUnsafeBytes { decompress($0, limit: limit) }.get()
    }

    static func decompress(_ member: UnsafeRawBufferPointer, limit: Int) -> Result<[UInt8], Failure> {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return .failure(Failure(message: "zlib could not start decompressing"))
        }
        defer { inflateEnd(&stream) }
        // Grown as needed: a block's lines are some times its compressed size, and zeroing the
        // whole limit for every lookup would cost more than the inflating.
        var out = [UInt8](repeating: 0, count: min(limit, max(64 * 1024, member.count * 8)))
        stream.next_in = UnsafeMutablePointer(mutating: member.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = uInt(member.count)
        while true {
            let produced = Int(stream.total_out)
            let status = out.withUnsafeMutableBufferPointer { output -> Int32 in
                stream.next_out = output.baseAddress! + produced
                stream.avail_out = uInt(output.count - produced)
                return inflate(&stream, Z_FINISH)
            }
            if status == Z_STREAM_END { break }
            guard status == Z_BUF_ERROR || status == Z_OK, stream.avail_out == 0, out.count < limit else {
                return .failure(Failure(message: "a block does not decompress (zlib \(status))"))
            }
            out.append(contentsOf: repeatElement(0, count: min(limit, out.count * 2) - out.count))
        }
        out.removeLast(out.count - Int(stream.total_out))
        return .success(out)
    }

    /// Calls `body` with the content of each gzip member of `bytes`, in order, without an index;
    /// each member may inflate to at most `limit` bytes.
    static func forEachMember(_ input: [UInt8], limit: Int, _ body: ([UInt8]) -> Void) throws(Failure) {
        var offset = 0
        var out = [UInt8](repeating: 0, count: limit)
        while offset < input.count {
            var stream = z_stream()
            guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw Failure(message: "zlib could not start decompressing")
            }
            let status = input.withUnsafeBytes { bytes in out.withUnsafeMutableBufferPointer { output -> Int32 in
                stream.next_in = UnsafeMutablePointer(mutating: (bytes.baseAddress! + offset).assumingMemoryBound(to: UInt8.self))
                stream.avail_in = uInt(bytes.count - offset)
                stream.next_out = output.baseAddress
                stream.avail_out = uInt(output.count)
                return inflate(&stream, Z_FINISH)
            } }
            let consumed = Int(stream.total_in), produced = Int(stream.total_out)
            inflateEnd(&stream)
            guard status == Z_STREAM_END, consumed > 0 else { throw Failure(message: "a block at byte \(offset) does not decompress (zlib \(status))") }
            body(Array(out[0..<produced]))
            offset += consumed
        }
    }
}
