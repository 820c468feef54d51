import Foundation
#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// What a command that ran to completion left: its exit status and its two outputs.
public struct CommandResult: Sendable {
    public let status: Int32
    public let out: String
    public let err: String
}

/// Runs short commands (bash, git, openssl, `hush hash-key`) to completion with posix_spawn,
/// poll and waitpid, under a deadline. Foundation's `Process.waitUntilExit` waits on a run loop
/// for a SIGCHLD notification and can miss it; a test would then hang rather than fail.
public enum Command {
    /// Runs `program` (looked up in PATH unless it holds a slash) with `arguments`, this
    /// process's environment plus `environment` (a nil value removes a variable), in `directory`,
    /// with `input` on its standard input. Kills it and throws if it runs past `seconds`.
    public static func run(_ program: String, _ arguments: [String], environment: [String: String?] = [:],
                           directory: String? = nil, input: String = "", seconds: Double = 120) throws -> CommandResult {
        var stdin: [Int32] = [0, 0], stdout: [Int32] = [0, 0], stderr: [Int32] = [0, 0]
        guard pipe2(&stdin, O_CLOEXEC) == 0, pipe2(&stdout, O_CLOEXEC) == 0, pipe2(&stderr, O_CLOEXEC) == 0 else {
            throw ClientError("pipe2: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdout[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderr[1], 2)
        if let directory { posix_spawn_file_actions_addchdir_np(&actions, directory) }

        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }

        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, program, &actions, nil, argv, envp)
        for fd in [stdin[0], stdout[1], stderr[1]] { close(fd) }
        guard spawned == 0 else {
            for fd in [stdin[1], stdout[0], stderr[0]] { close(fd) }
            throw ClientError("\(program): \(String(cString: strerror(spawned)))")
        }

        let deadline = Date().addingTimeInterval(seconds)
        var pending = Array(input.utf8)
        var writing: Int32 = stdin[1]
        if pending.isEmpty { close(writing); writing = -1 }
        var outputs: [Int32: [UInt8]] = [stdout[0]: [], stderr[0]: []]
        var open = [stdout[0], stderr[0]]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while (!open.isEmpty || writing >= 0) && Date() < deadline {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if writing >= 0 { fds.append(pollfd(fd: writing, events: Int16(POLLOUT), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), 100) >= 0 || errno == EINTR else { break }
            for entry in fds where entry.revents != 0 {
                if entry.fd == writing {
                    let n = pending.withUnsafeBytes { Glibc.write(writing, $0.baseAddress, $0.count) }
                    if n > 0 { pending.removeFirst(n) }
                    if n < 0 || pending.isEmpty { close(writing); writing = -1 }
                } else {
                    let n = read(entry.fd, &buffer, buffer.count)
                    if n > 0 { outputs[entry.fd]!.append(contentsOf: buffer[0..<n]) } else if n == 0 || errno != EINTR {
                        close(entry.fd)
                        open.removeAll { $0 == entry.fd }
                    }
                }
            }
        }
        for fd in open { close(fd) }
        if writing >= 0 { close(writing) }

        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw ClientError("\(program) \(arguments.joined(separator: " ")) ran past \(Int(seconds)) s")
            }
            usleep(5_000)
        }
        // The exit status, or 128 + the signal that ended it, as a shell reports it.
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return CommandResult(status: code, out: String(decoding: outputs[stdout[0]]!, as: UTF8.self),
                             err: String(decoding: outputs[stderr[0]]!, as: UTF8.self))
    }
}
