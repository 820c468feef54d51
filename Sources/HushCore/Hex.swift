/// Lower-case hexadecimal text of bytes, and back: keys, digests and ids.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// `[0x0a, 0xff]` → `"0aff"`.
    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { encode(buffer: $0) }
    }

    /// Any other sequence of bytes, through an array (a generic loop called from another module
    /// is not specialised: it cost about 9,000 instructions for 16 bytes).
    public static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        encode(Array(bytes))
    }

    private static func encode(buffer: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: buffer.count * 2) { text in
            digits.withUnsafeBufferPointer { digits in
                for (i, byte) in buffer.enumerated() {
                    text[2 * i] = digits[Int(byte >> 4)]
                    text[2 * i + 1] = digits[Int(byte & 0x0f)]
                }
            }
            return buffer.count * 2
        }
    }

    /// The 16 lower-case hex digits of `value`, most significant first, as the bytes of two
    /// words in memory order (`first` holds digits 0 to 7): a handful of shifts and masks, where
    /// a digit at a time is a table lookup and a store each.
    @inlinable
    public static func digits(_ value: UInt64) -> (first: UInt64, second: UInt64) {
        (ascii(UInt32(truncatingIfNeeded: value >> 32)), ascii(UInt32(truncatingIfNeeded: value)))
    }

    /// The 8 hex digits of `value`, most significant first, as the bytes of a word in memory
    /// order (on a little-endian machine, the first digit in the low byte).
    @inlinable
    static func ascii(_ value: UInt32) -> UInt64 {
        // Each nibble into a byte of its own, the least significant nibble in the high byte.
        var x = UInt64(value)
        x = (x | x << 16) & 0x0000_FFFF_0000_FFFF
        x = (x | x << 8) & 0x00FF_00FF_00FF_00FF
        x = (x | x << 4) & 0x0F0F_0F0F_0F0F_0F0F
        // Now the least significant nibble is in the low byte: turn the bytes round.
        x = x.byteSwapped
        // "0" + n, and 39 more ("a" - "0" - 10) where n is 10 or more.
        let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return UInt64(littleEndian: x &+ 0x3030_3030_3030_3030 &+ letters &* 39)
    }

    /// `"0aFF"` → `[0x0a, 0xff]`; nil unless an even number of hex digits (either case).
    public static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ d: UInt8) -> UInt8? {
            switch d {
            case 0x30...0x39: d - 0x30
            case 0x61...0x66: d - 0x61 + 10
            case 0x41...0x46: d - 0x41 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }
}
