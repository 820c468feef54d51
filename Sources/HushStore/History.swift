import Foundation
import HushCore

/// Who made a change, as the history keeps it: an API key's name (`anonymous` when no keys are
/// configured), and the way the change came.
public struct Actor: Sendable, Hashable {
    public enum Via: String, Sendable {
        /// A single write through the API.
        case api
        /// A row of a bulk import.
        case `import`
        /// The command line.
        case cli
        /// Removed by retention: a suppression that expired, or a hold that ended, longer ago
        /// than `retention.expired_days`.
        case retention
    }

    public let name: String
    public let via: Via

    public init(name: String, via: Via) {
        self.name = name
        self.via = via
    }

    /// The actor of a request when no API keys are configured (loopback only).
    public static let anonymousName = "anonymous"
}

/// A record whose changes the history keeps, as it was or became.
public enum HistoryRecord: Sendable {
    case profile(Profile)
    case serviceCase(ServiceCase)
    case suppression(Suppression)
    case hold(Hold)

    public var kind: HistoryEntry.Kind {
        switch self {
        case .profile: .profile
        case .serviceCase: .case
        case .suppression: .suppression
        case .hold: .hold
        }
    }

    public var id: String {
        switch self {
        case .profile(let p): p.customerID
        case .serviceCase(let c): c.id
        case .suppression(let s): s.id
        case .hold(let h): h.id
        }
    }

    /// Whom the record is about: a customer id, an address, or no one (a hold).
    public var about: (customerID: String?, address: String?) {
        switch self {
        case .profile(let p): (p.customerID, nil)
        case .serviceCase(let c): (c.customerID, nil)
        case .suppression(let s):
            switch s.subject {
            case .customer(let id): (id, nil)
            case .address(let address): (nil, address.value)
            }
        case .hold: (nil, nil)
        }
    }
}

/// Renders a record as the API does (JSON text): the store keeps what clients were shown.
public typealias HistoryRenderer = @Sendable (HistoryRecord) -> String

/// One change, as stored.
public struct HistoryEntry: Sendable, Equatable {
    public enum Kind: String, Sendable { case profile, `case`, suppression, hold, erasure }
    public enum Operation: String, Sendable { case create, update, delete, erase }

    /// Its place in the order of all changes (and the cursor of a page).
    public let seq: Int64
    public let kind: Kind
    public let recordID: String
    public let at: Date
    public let actor: String
    public let via: Actor.Via
    public let operation: Operation
    /// The record before and after, as JSON text; nil where there was none.
    public let before: String?
    public let after: String?

    public init(seq: Int64, kind: Kind, recordID: String, at: Date, actor: String, via: Actor.Via, operation: Operation,
                before: String?, after: String?) {
        self.seq = seq; self.kind = kind; self.recordID = recordID; self.at = at; self.actor = actor; self.via = via
        self.operation = operation; self.before = before; self.after = after
    }
}
