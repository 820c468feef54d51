import Foundation
import HushCore

/// A decision's id: a UUIDv7 (RFC 9562 §5.7). Its first 48 bits are the Unix time in
/// milliseconds, so ids sort by when they were made and say where a log keeps them; the other
/// 74 bits are a random base drawn once per source plus a counter, so one source never repeats
/// an id and two sources (loops, runs, nodes) practically never meet.
struct DecisionID: Equatable, Hashable, Sendable {
    /// unix_ts_ms (48 bits), version 7 (4), rand_a (12).
    let high: UInt64
    /// variant 0b10 (2), rand_b (62).
    let low: UInt64

    init(milliseconds: UInt64, randA: UInt16, randB: UInt64) {
        high = (milliseconds & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | UInt64(randA & 0x0FFF)
        low = 0x8000_0000_0000_0000 | (randB & 0x3FFF_FFFF_FFFF_FFFF)
    }

    init?(high: UInt64, low: UInt64) {
        guard high >> 12 & 0xF == 7, low >> 62 == 0b10 else { return nil }
        self.high = high
        self.low = low
    }

    /// When the id was made, to the millisecond.
    var milliseconds: UInt64 { high >> 16 }

    /// `018f3a1c-7b2e-7d41-9c3e-5a6b7c8d9e0f`.
    var text: String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            Self.write(high: high, low: low, into: buffer.baseAddress!)
            return 36
        }
    }

    /// Reads the canonical form (either case); nil for anything else, or a UUID of another version.
    init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0, nibbles = 0
        for (i, byte) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let value: UInt64
            switch byte {
            case 0x30...0x39: value = UInt64(byte - 0x30)
            case 0x61...0x66: value = UInt64(byte - 0x61 + 10)
            case 0x41...0x46: value = UInt64(byte - 0x41 + 10)
            default: return nil
            }
            if nibbles < 16 { high = high << 4 | value } else { low = low << 4 | value }
            nibbles += 1
        }
        self.init(high: high, low: low)
    }

    /// Writes the 36 characters of the canonical form at `out`: 8-4-4-4-12 hex digits.
    static func write(high: UInt64, low: UInt64, into out: UnsafeMutablePointer<UInt8>) {
        // The 32 digits, eight to a word (`Hex.digits`), then placed around the four dashes.
        let digits = (Hex.digits(high), Hex.digits(low))
        let raw = UnsafeMutableRawPointer(out)
        withUnsafeBytes(of: digits) { d in
            let d = d.baseAddress!
            raw.copyMemory(from: d, byteCount: 8)
            (raw + 9).copyMemory(from: d + 8, byteCount: 4)
            (raw + 14).copyMemory(from: d + 12, byteCount: 4)
            (raw + 19).copyMemory(from: d + 16, byteCount: 4)
            (raw + 24).copyMemory(from: d + 20, byteCount: 12)
        }
        out[8] = UInt8(ascii: "-"); out[13] = UInt8(ascii: "-"); out[18] = UInt8(ascii: "-"); out[23] = UInt8(ascii: "-")
    }
}

/// Makes the ids of one source (an event loop): random bits drawn once, then a counter, so
/// that an id costs no randomness. Used by one thread.
struct DecisionIDSource {
    private let randA = UInt16.random(in: 0...0x0FFF)
    private let base = UInt64.random(in: 0...UInt64.max)
    private var counter: UInt64 = 0

    mutating func next(at time: Date) -> DecisionID {
        counter &+= 1
        let milliseconds = UInt64(max(0, time.timeIntervalSince1970 * 1000))
        return DecisionID(milliseconds: milliseconds, randA: randA, randB: base &+ counter)
    }
}
