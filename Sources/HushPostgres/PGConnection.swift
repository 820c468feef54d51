import CPostgres
import Foundation

/// A PostgreSQL failure: what the server or libpq said, with the SQLSTATE when the server gave
/// one (`23505` a unique violation, `40001` a serialization failure, `57P01` an admin
/// shutdown…). Messages never carry bound values: they may be personal data.
public struct PGError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    /// Five characters, or nil for a failure with no server answer (a lost connection).
    public let sqlState: String?

    public init(_ message: String, sqlState: String? = nil) {
        self.message = message
        self.sqlState = sqlState
    }

    public var description: String { sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message }

    /// A connection-level failure (class 08), or none at all from the server: the statement
    /// may be retried on a new connection, after a failover for instance.
    public var isConnectionLost: Bool { sqlState == nil || sqlState?.hasPrefix("08") == true || sqlState == "57P01" }
}

/// One libpq connection, used by one thread at a time. Statements are sent with their
/// parameters apart (`PQexecParams`, text format), never spliced into the SQL.
public final class PGConnection {
    private let handle: OpaquePointer
    /// Statements prepared on this connection (`query(_:_:prepared:)`), by their text.
    private var prepared: [String: String] = [:]

    /// Connects with a libpq connection string or URL (`postgresql://h1:5432,h2:5432/hush?target_session_attrs=read-write`),
    /// waiting at most `timeout` seconds for each host (`connect_timeout`, unless the string sets it).
    public init(_ conninfo: String, timeout: Int = 5) throws(PGError) {
        let info = conninfo.contains("connect_timeout") ? conninfo : Self.adding("connect_timeout", "\(timeout)", to: conninfo)
        guard let handle = PQconnectdb(info) else { throw PGError("libpq could not allocate a connection") }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.text(PQerrorMessage(handle))
            PQfinish(handle)
            throw PGError("cannot connect to PostgreSQL: \(message)")
        }
        // Notices (NOTICE: … already exists, skipping) would go to standard error as text, past
        // hush's own log: dropped.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        self.handle = handle
    }

    deinit { PQfinish(handle) }

    /// `key=value` added to a keyword string or, as a query parameter, to a URL.
    static func adding(_ key: String, _ value: String, to conninfo: String) -> String {
        if conninfo.hasPrefix("postgresql://") || conninfo.hasPrefix("postgres://") {
            return conninfo + (conninfo.contains("?") ? "&" : "?") + "\(key)=\(value)"
        }
        return conninfo + (conninfo.isEmpty ? "" : " ") + "\(key)=\(value)"
    }

    /// The server's version as a number (150018 for 15.18).
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    /// The host and port this connection reached (of several in a multi-host string).
    public var endpoint: String { "\(Self.text(PQhost(handle))):\(Self.text(PQport(handle)))" }

    /// Runs one or more statements without parameters or results (DDL, BEGIN, COMMIT).
    public func execute(_ sql: String) throws(PGError) {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result)
    }

    /// Runs one statement with `parameters` ($1, $2, …; nil is NULL) and returns its rows, every
    /// value as text (nil for NULL), and the number of rows it changed.
    /// With `prepared`, the statement is prepared on this connection the first time and only
    /// executed after that: no parsing and planning each time, for what runs again and again.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = [], prepared: Bool = false) throws(PGError) -> PGRows {
        var name: String?
        if prepared {
            if let known = self.prepared[sql] {
                name = known
            } else {
                let fresh = "hush_\(self.prepared.count)"
                let made = PQprepare(handle, fresh, sql, Int32(parameters.count), nil)
                defer { PQclear(made) }
                try check(made)
                self.prepared[sql] = fresh
                name = fresh
            }
        }
        // Each parameter's bytes live in one buffer for the call; libpq copies what it sends.
        var storage: [[CChar]?] = parameters.map { $0.map { Array($0.utf8CString) } }
        let result: OpaquePointer? = withPointers(&storage) { pointers in
            if let name { return PQexecPrepared(handle, name, Int32(parameters.count), pointers, nil, nil, 0) }
            return PQexecParams(handle, sql, Int32(parameters.count), nil, pointers, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result)
        return Self.rows(result)
    }

    /// A result's rows as text, its column names, and the rows it changed.
    private static func rows(_ result: OpaquePointer?) -> PGRows {
        let rowCount = Int(PQntuples(result)), columnCount = Int(PQnfields(result))
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var row: [String?] = []
            row.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                    row.append(nil)
                } else {
                    // As stored: a value's own spaces are kept.
                    row.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            rows.append(row)
        }
        let columns = (0..<columnCount).map { Self.text(PQfname(result, Int32($0))) }
        let changed = Int(Self.text(PQcmdTuples(result))) ?? 0
        return PGRows(columns: columns, rows: rows, changed: changed)
    }

    /// Sends `sql` (several statements, no parameters) in one round trip and returns each
    /// statement's result; stops at the first error, which it throws. The statements run in the
    /// order given, each in the transaction that is open, or on its own.
    public func batch(_ sql: String) throws(PGError) -> [PGRows] {
        guard PQsendQuery(handle, sql) == 1 else { throw PGError(Self.text(PQerrorMessage(handle)).isEmpty ? "the connection was lost" : Self.text(PQerrorMessage(handle))) }
        var results: [PGRows] = []
        var failure: PGError?
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            if failure != nil { continue }
            do throws(PGError) {
                try check(result)
                results.append(Self.rows(result))
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        if PQstatus(handle) != CONNECTION_OK { throw PGError("the connection was lost") }
        return results
    }

    /// Runs `COPY … FROM STDIN` (text format): `body` writes the rows through the writer it is
    /// handed, which sends them whenever 256 KiB are waiting, so they are never all in memory;
    /// the number of rows copied. An error `body` throws ends the copy, which the server then
    /// refuses (and with it the transaction), and is thrown again here.
    @discardableResult
    public func copyIn(_ sql: String, _ body: (PGCopyWriter) throws -> Void) throws -> Int {
        let started = PQexec(handle, sql)
        defer { PQclear(started) }
        guard PQresultStatus(started) == PGRES_COPY_IN else {
            try check(started)
            throw PGError("\(sql.prefix(40))… did not start a copy")
        }
        let writer = PGCopyWriter(handle: handle)
        var failure: (any Error)?
        do {
            try body(writer)
            try writer.send()
        } catch {
            failure = error
        }
        _ = PQputCopyEnd(handle, failure == nil ? nil : "the rows could not be produced")
        var outcome: PGError?
        var copied = 0
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            do throws(PGError) {
                try check(result)
                copied = Int(Self.text(PQcmdTuples(result))) ?? copied
            } catch {
                outcome = outcome ?? error
            }
        }
        if let failure { throw failure }
        if let outcome { throw outcome }
        return copied
    }

    private func withPointers<R>(_ storage: inout [[CChar]?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(storage.count)
        func collect(_ index: Int) -> R {
            if index == storage.count { return body(pointers) }
            guard storage[index] != nil else {
                pointers.append(nil)
                return collect(index + 1)
            }
            return storage[index]!.withUnsafeBufferPointer { buffer in
                pointers.append(buffer.baseAddress)
                return collect(index + 1)
            }
        }
        return collect(0)
    }

    private func check(_ result: OpaquePointer?) throws(PGError) {
        guard let result else { throw PGError(Self.text(PQerrorMessage(handle)).isEmpty ? "the connection was lost" : Self.text(PQerrorMessage(handle))) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            throw PGError(primary ?? Self.text(PQresultErrorMessage(result)), sqlState: state)
        }
    }

    static func text(_ pointer: UnsafePointer<CChar>?) -> String {
        pointer.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
    }
}

/// A statement's result: column names, rows of text values (nil for NULL), rows changed.
/// The rows of one `COPY … FROM STDIN`, written as text (`PGConnection.copyIn`).
public final class PGCopyWriter {
    private let handle: OpaquePointer
    private var buffer: [UInt8] = []

    init(handle: OpaquePointer) {
        self.handle = handle
        buffer.reserveCapacity(300 << 10)
    }

    /// One row: each field as text, nil for NULL (backslash, tab, newline and carriage return
    /// escaped as the text format wants).
    public func row(_ fields: [String?]) throws(PGError) {
        Self.encode(fields, into: &buffer)
        if buffer.count >= 256 << 10 { try send() }
    }

    /// A row in COPY's text format, appended to `out`. The runs between the bytes that need an
    /// escape are copied whole, through one access to `out`: byte by byte, each append to the
    /// writer's buffer paid for an exclusivity check, and the rows of a large import spent more
    /// time there than in the copying.
    static func encode(_ fields: [String?], into out: inout [UInt8]) {
        for (i, field) in fields.enumerated() {
            if i > 0 { out.append(0x09) }
            guard var field else {
                out.append(0x5C); out.append(UInt8(ascii: "N"))
                continue
            }
            field.withUTF8 { bytes in
                var start = 0
                for at in bytes.indices {
                    let escaped: UInt8
                    switch bytes[at] {
                    case 0x5C: escaped = 0x5C
                    case 0x09: escaped = UInt8(ascii: "t")
                    case 0x0A: escaped = UInt8(ascii: "n")
                    case 0x0D: escaped = UInt8(ascii: "r")
                    default: continue
                    }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<at]))
                    out.append(0x5C); out.append(escaped)
                    start = at + 1
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
            }
        }
        out.append(0x0A)
    }

    func send() throws(PGError) {
        guard !buffer.isEmpty else { return }
        let sent = buffer.withUnsafeBytes { PQputCopyData(handle, $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32($0.count)) }
        guard sent == 1 else { throw PGError("the copy could not be sent: \(PGConnection.text(PQerrorMessage(handle)))") }
        buffer.removeAll(keepingCapacity: true)
    }
}

public struct PGRows: Sendable, Equatable {
    public let columns: [String]
    public let rows: [[String?]]
    public let changed: Int
}
