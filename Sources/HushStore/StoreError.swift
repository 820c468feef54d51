import CSQLite

/// A store failure, typed by what the caller can do about it. Messages never include bound
/// values: identifiers and addresses are personal data.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A constraint failed (a duplicate, a check): the caller's data, answer 409 or 400.
        case conflict
        /// Busy, I/O error, disk full, read-only file, corrupt file: fail closed, answer 503.
        case unavailable
        /// A bug or an unexpected result code.
        case internalError
    }

    public let kind: Kind
    public let message: String
    /// The SQLite extended result code, when one caused this.
    public let code: Int32

    public init(kind: Kind, message: String, code: Int32 = 0) {
        self.kind = kind
        self.message = message
        self.code = code
    }

    public var description: String { message }

    /// Maps an SQLite result code (extended or primary) to a kind (sqlite.org/rescode.html).
    static func from(code: Int32, message: String, sql: String? = nil) -> StoreError {
        let kind: Kind = switch code & 0xFF {
        case SQLITE_CONSTRAINT: .conflict
        case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_READONLY, SQLITE_CANTOPEN,
             SQLITE_NOTADB, SQLITE_PROTOCOL, SQLITE_NOMEM, SQLITE_PERM: .unavailable
        default: .internalError
        }
        let text = sql.map { "\(message) (in: \($0.prefix(120)))" } ?? message
        return StoreError(kind: kind, message: text, code: code)
    }
}
