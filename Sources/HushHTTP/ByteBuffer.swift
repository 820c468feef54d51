#if canImport(Glibc)
import Glibc
#endif

/// A growable byte buffer with a read index, owned by one connection on one thread.
/// Bytes are appended at the end and consumed from the front; the storage is compacted or
/// grown only when the free tail is too small, so steady-state traffic allocates nothing.
final class ByteBuffer {
    private(set) var storage: UnsafeMutableRawPointer
    private(set) var capacity: Int
    private(set) var readIndex = 0
    private(set) var writeIndex = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        storage = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    var readableBytes: Int { writeIndex - readIndex }
    var isEmpty: Bool { readIndex == writeIndex }

    /// The unread bytes. Valid until the next mutation.
    var readable: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage + readIndex, count: writeIndex - readIndex)
    }

    /// Makes room for at least `count` more bytes at the end.
    func reserve(_ count: Int) {
        if capacity - writeIndex >= count { return }
        if readIndex > 0 {
            let live = readableBytes
            if live > 0 { (storage).copyMemory(from: storage + readIndex, byteCount: live) }
            readIndex = 0
            writeIndex = live
            if capacity - writeIndex >= count { return }
        }
        var newCapacity = capacity
        while newCapacity - writeIndex < count { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        grown.copyMemory(from: storage, byteCount: writeIndex)
        storage.deallocate()
        storage = grown
        capacity = newCapacity
    }

    /// The free tail, for a `read` to fill; follow with `commitWrite`.
    var writable: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: storage + writeIndex, count: capacity - writeIndex)
    }

    func commitWrite(_ count: Int) { writeIndex += count }

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        (storage + writeIndex).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        writeIndex += bytes.count
    }

    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Drops bytes written after `index` (a `writeIndex` read earlier).
    func truncate(to index: Int) {
        precondition(index >= readIndex && index <= writeIndex)
        writeIndex = index
    }

    func append(decimal value: Int) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var v = UInt(value), n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[19 - n] = UInt8(48 + v % 10); v /= 10; n += 1 } while v > 0
            append(UnsafeRawBufferPointer(rebasing: d[(20 - n)...]))
        }
    }

    func consume(_ count: Int) {
        readIndex += count
        if readIndex == writeIndex { readIndex = 0; writeIndex = 0 }
    }

    /// Gives back memory after a large request or answer: when empty and holding more than
    /// `above` bytes, drops to `target`.
    func shrink(to target: Int, above: Int) {
        guard isEmpty, capacity > above else { return }
        storage.deallocate()
        capacity = target
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        readIndex = 0; writeIndex = 0
    }
}
