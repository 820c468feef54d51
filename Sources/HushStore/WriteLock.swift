import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one-writer rule across processes: a serving hush, `hush migrate` and `hush import` each
/// hold an exclusive `flock` on `<database>.lock` while they write. The store keeps holds and
/// tombstones in memory and rebuilds a customer's record with every write it makes; a second
/// process writing the same file would leave the first one's caches stale, so it is refused.
/// The lock is released when the process exits, however it exits; the file stays (it holds
/// the PID of the last holder, for the message).
public final class WriteLock: Sendable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Takes the lock of the database at `path`, or throws naming who holds it.
    public static func acquire(path: String) throws(StoreError) -> WriteLock {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(kind: .unavailable, message: "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            var holder = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &holder, holder.count, 0)
            close(fd)
            guard busy else { throw StoreError(kind: .unavailable, message: "cannot lock \(lockPath): \(String(cString: strerror(errno)))") }
            let pid = n > 0 ? String(decoding: holder[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw StoreError(kind: .conflict, message: "database \(path) is in use by another hush (pid \(pid)), which holds its write lock")
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return WriteLock(fd: fd)
    }

    deinit { close(fd) }
}
