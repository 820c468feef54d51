#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: the call's name and the `errno` it left, with `strerror` in the message.
public struct SysError: Error, CustomStringConvertible, Sendable {
    /// The name of the failed call, for example `"bind"`.
    public let call: String
    /// The `errno` value the call left.
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call): \(String(cString: strerror(errno)))"
    }
}

/// Runs one system call that returns -1 on failure, in the manner of SwiftNIO's `syscall(blocking:)`:
/// retries `EINTR`; returns `nil` on `EAGAIN`/`EWOULDBLOCK`; traps on `EBADF`, `EFAULT` and
/// `EINVAL`, which are bugs in the caller rather than conditions to handle; throws `SysError`
/// for anything else.
@inline(__always)
func sys<T: FixedWidthInteger>(_ call: @autoclosure () -> String, _ body: () -> T) throws(SysError) -> T? {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        switch code {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: return nil
        case EBADF, EFAULT:
            preconditionFailure("\(call()): \(String(cString: strerror(code))) (a bug in hush)")
        default: throw SysError(call: call(), errno: code)
        }
    }
}

/// Closes a file descriptor. `EINTR` is not retried: on Linux the descriptor is released
/// even when close is interrupted, and a retry could close a descriptor another thread just
/// opened (see close(2), "Dealing with error returns from close()").
@inline(__always)
func closeFD(_ fd: Int32) {
    _ = Glibc.close(fd)
}
