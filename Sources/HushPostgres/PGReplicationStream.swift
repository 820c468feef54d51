import CPostgres
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A logical replication connection (`replication=database`) speaking the streaming
/// replication protocol through libpq: it creates a slot with an exported snapshot (read the
/// tables in that snapshot from another connection, before `start`), streams the slot's
/// `pgoutput` messages from a position, and tells the server how far the caller has applied
/// them, so that the slot keeps no more WAL than needed.
public final class PGReplicationStream {
    private let handle: OpaquePointer
    private var streaming = false
    /// The furthest position the server has told of (XLogData or keep-alive).
    public private(set) var serverEnd = LSN(0)

    public init(_ conninfo: String, timeout: Int = 5) throws(PGError) {
        var info = PGConnection.adding("replication", "database", to: conninfo)
        if !conninfo.contains("connect_timeout") { info = PGConnection.adding("connect_timeout", "\(timeout)", to: info) }
        guard let handle = PQconnectdb(info) else { throw PGError("libpq could not allocate a connection") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = PGConnection.text(PQerrorMessage(handle))
            PQfinish(handle)
            throw PGError("cannot open a replication connection: \(message)")
        }
        self.handle = handle
    }

    deinit { PQfinish(handle) }

    /// A slot as created: where its stream starts, and the snapshot that shows the tables as
    /// of that point (usable until the next command on this connection).
    public struct Slot: Sendable, Equatable {
        public let name: String
        public let consistentPoint: LSN
        public let snapshot: String
    }

    /// Slot names: lower-case letters, digits and underscores (PostgreSQL's own rule), at most 63.
    public static func isValidSlotName(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count) && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    public func createSlot(_ name: String) throws(PGError) -> Slot {
        guard Self.isValidSlotName(name) else { throw PGError("a slot name is lower-case letters, digits and _, at most 63: \(name)") }
        let rows = try command("CREATE_REPLICATION_SLOT \(name) LOGICAL pgoutput (SNAPSHOT 'export')")
        guard rows.count == 1, rows[0].count >= 3, let point = rows[0][1].flatMap(LSN.init), let snapshot = rows[0][2] else {
            throw PGError("CREATE_REPLICATION_SLOT answered an unexpected row")
        }
        return Slot(name: name, consistentPoint: point, snapshot: snapshot)
    }

    /// Starts streaming `slot` from `position` (its consistent point, or the last position
    /// acknowledged), for the tables of `publication`.
    public func start(slot: String, at position: LSN, publication: String) throws(PGError) {
        guard Self.isValidSlotName(slot), Self.isValidSlotName(publication) else { throw PGError("invalid slot or publication name") }
        let result = PQexec(handle, "START_REPLICATION SLOT \(slot) LOGICAL \(position) (proto_version '1', publication_names '\(publication)', messages 'true')")
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COPY_BOTH else {
            throw PGError("START_REPLICATION failed: \(PGConnection.text(PQerrorMessage(handle)))",
                          sqlState: PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) })
        }
        streaming = true
    }

    public enum Event: Equatable, Sendable {
        /// A decoded message, with the WAL position its XLogData started at.
        case message(LSN, LogicalMessage)
        /// The server's keep-alive: how far its WAL goes, and whether it wants an answer now.
        case keepalive(walEnd: LSN, replyRequested: Bool)
        /// Nothing arrived within the timeout.
        case idle
    }

    /// The next thing from the stream, waiting at most `timeout` seconds.
    public func next(timeout: Double) throws(PGError) -> Event {
        guard streaming else { throw PGError("the stream has not been started") }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &buffer, 1)
            if length > 0, let buffer {
                defer { PQfreemem(buffer) }
                return try decodeFrame(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
            }
            if length == -1 {
                streaming = false
                let result = PQgetResult(handle)
                defer { PQclear(result) }
                throw PGError("the server ended the replication stream: \(PGConnection.text(PQerrorMessage(handle)))",
                              sqlState: result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) })
            }
            if length == -2 { throw PGError("the replication stream failed: \(PGConnection.text(PQerrorMessage(handle)))") }
            // Nothing whole yet: wait for the socket, then let libpq read.
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return .idle }
            var entry = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, Int32(min(left, 60) * 1000))
            guard PQconsumeInput(handle) == 1 else { throw PGError("the replication connection was lost: \(PGConnection.text(PQerrorMessage(handle)))") }
        }
    }

    private func decodeFrame(_ frame: UnsafeRawBufferPointer) throws(PGError) -> Event {
        var r = LogicalMessage.Reader(bytes: frame)
        switch try r.byte() {
        case UInt8(ascii: "w"):
            let start = LSN(try r.u64()), end = LSN(try r.u64())
            _ = try r.i64() // the server's clock
            if end > serverEnd { serverEnd = end }
            return .message(start, try LogicalMessage.decode(try r.take(r.remaining)))
        case UInt8(ascii: "k"):
            let end = LSN(try r.u64())
            _ = try r.i64()
            let reply = try r.byte() != 0
            if end > serverEnd { serverEnd = end }
            return .keepalive(walEnd: end, replyRequested: reply)
        case let kind:
            throw PGError("an unknown replication frame (\(kind))")
        }
    }

    /// Tells the server that everything up to `position` was applied and is durable here: the
    /// slot may let go of the WAL before it. With `replyRequested`, the server answers at once
    /// with a keep-alive: a ping that shows the connection is alive.
    public func acknowledge(_ position: LSN, replyRequested: Bool = false) throws(PGError) {
        var frame: [UInt8] = [UInt8(ascii: "r")]
        func put(_ value: UInt64) { for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) } }
        put(position.value); put(position.value); put(position.value)
        put(UInt64(bitPattern: Int64((Date().timeIntervalSince1970 - 946_684_800) * 1_000_000)))
        frame.append(replyRequested ? 1 : 0)
        let sent = frame.withUnsafeBytes { PQputCopyData(handle, $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32($0.count)) }
        guard sent == 1, PQflush(handle) == 0 else { throw PGError("cannot send the standby status: \(PGConnection.text(PQerrorMessage(handle)))") }
    }

    /// A replication command's rows (text), before streaming starts.
    private func command(_ sql: String) throws(PGError) -> [[String?]] {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        guard let result, PQresultStatus(result) == PGRES_TUPLES_OK || PQresultStatus(result) == PGRES_COMMAND_OK else {
            throw PGError(PGConnection.text(PQerrorMessage(handle)), sqlState: result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) })
        }
        return (0..<Int(PQntuples(result))).map { r in
            (0..<Int(PQnfields(result))).map { c in
                PQgetisnull(result, Int32(r), Int32(c)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(r), Int32(c)))
            }
        }
    }
}
