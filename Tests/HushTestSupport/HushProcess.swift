import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The built `hush` binary, started as a child process on a free port with a throw-away
/// database, stopped by its PID.
public final class HushProcess {
    public let process: Process
    public let port: Int
    public let readyLine: String
    public let directory: URL
    private let stderrPipe: Pipe

    /// The binary beside the test bundle (`.build/<triple>/debug/hush`), or `HUSH_BINARY`.
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["HUSH_BINARY"] { return path }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("hush").path
    }

    /// Runs `hush` with `arguments` (plus `--port 0 --database <tmp>` unless given) and waits for
    /// its ready line; throws with its standard error if it exits or says nothing within 20 s.
    public init(_ arguments: [String] = [], environment: [String: String] = [:], addDefaults: Bool = true, directory: URL? = nil, binary: String? = nil) throws {
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("hush-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        self.directory = dir
        var args = arguments
        if addDefaults {
            if !args.contains("--port") { args += ["--port", "0"] }
            if !args.contains("--database") { args += ["--database", dir.appendingPathComponent("hush.db").path] }
        }
        var (process, out, err) = Self.makeProcess(binary ?? Self.binary, args, environment, dir)
        // A script just written (`limitedBinary`) can be briefly busy: a process another test
        // forks inherits every descriptor until it execs, the script's among them.
        for attempt in 1...50 {
            do {
                try process.run()
                break
            } catch let error as NSError where attempt < 50
                && (error.userInfo[NSUnderlyingErrorKey] as? NSError)?.code == Int(ETXTBSY) {
                usleep(20_000)
                (process, out, err) = Self.makeProcess(binary ?? Self.binary, args, environment, dir)
            }
        }
        self.stderrPipe = err
        self.process = process
        let line = Self.readLine(out.fileHandleForReading, seconds: 20)
        guard let line, let port = Int(line.split(separator: ":").last ?? "") else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw ClientError("hush did not start: \(line ?? "no ready line"); stderr: \(message)")
        }
        self.readyLine = line
        self.port = port
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: directory)
    }

    /// A script in `directory` that runs the binary under a shell limit (`ulimit -n 64`), for
    /// tests of what hush does when it runs out of something.
    public static func limitedBinary(in directory: URL, ulimit: String) throws -> String {
        let wrapper = directory.appendingPathComponent("limited.sh")
        try Data("#!/bin/sh\nulimit \(ulimit)\nexec \"\(binary)\" \"$@\"\n".utf8).write(to: wrapper)
        chmod(wrapper.path, 0o755)
        return wrapper.path
    }

    /// Sends `signal` and waits up to `seconds` for the exit; returns the exit status, or nil if
    /// it is still running. SIGINT by default: it drains at once, where SIGTERM first keeps
    /// serving for `server.drain_grace_ms` (5 s by default).
    public func stop(signal: Int32 = SIGINT, seconds: Double = 10) -> Int32? {
        kill(process.processIdentifier, signal)
        guard waitUntil(seconds: seconds, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    /// User plus system CPU time the process has used, in clock ticks (/proc/PID/stat).
    public var cpuTicks: Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    public var standardError: String {
        String(decoding: stderrPipe.fileHandleForReading.availableData, as: UTF8.self)
    }

    /// Everything on standard error not read yet, to its end: call once the process exited.
    public var restOfStandardError: String {
        String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Runs `hush` to completion (for commands and start-up failures): status, stdout, stderr.
    /// `input`, when given, is its standard input.
    /// The environment is this process's less any `HUSH_*` variable, plus `environment`.
    public static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil,
                           input: String = "") throws -> CommandResult {
        var env: [String: String?] = [:]
        for key in ProcessInfo.processInfo.environment.keys where key.hasPrefix("HUSH_") { env[key] = .some(nil) }
        for (key, value) in environment { env[key] = value }
        return try Command.run(binary, arguments, environment: env, directory: directory?.path, input: input, seconds: 60)
    }

    /// A child process with piped output and this process's environment less any `HUSH_*`
    /// variable, plus `environment`.
    private static func makeProcess(_ binary: String, _ arguments: [String], _ environment: [String: String], _ directory: URL?) -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HUSH_") }
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        return (process, out, err)
    }

    private static func readLine(_ handle: FileHandle, seconds: Double) -> String? {
        var buffer = Data()
        let fd = handle.fileDescriptor
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) >= 0 else { return nil }
            if pfd.revents == 0 { continue }
            var byte: UInt8 = 0
            let n = Glibc.read(fd, &byte, 1)
            if n <= 0 { return nil }
            if byte == 10 { return String(decoding: buffer, as: UTF8.self) }
            buffer.append(byte)
        }
        return nil
    }
}
