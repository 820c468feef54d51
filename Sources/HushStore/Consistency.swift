import Foundation

/// A position in the system of record's sequence of commits (PostgreSQL's log sequence number),
/// as PostgreSQL writes it: `16/B374D848`. A write through the replicated store answers with its
/// commit's token; a read that passes it back waits until the node's copy has reached it.
public struct ConsistencyToken: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64

    public init(_ value: UInt64) { self.value = value }

    /// Parses `X/Y`, each 1 to 8 hex digits; nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ (1...8).contains($0.utf8.count) && $0.utf8.allSatisfy(\.isHexDigit) }),
              let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16) else { return nil }
        value = high << 32 | low
    }

    public var description: String { String(value >> 32, radix: 16, uppercase: true) + "/" + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true) }

    public static func < (a: ConsistencyToken, b: ConsistencyToken) -> Bool { a.value < b.value }
}

extension UInt8 {
    var isHexDigit: Bool { (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self) }
}

/// How current a node's copy of a replicated store is, for `/readyz` and `/metrics`.
public struct ReplicaReport: Sendable, Equatable {
    /// The copy holds every commit up to this long ago (nil: not yet known).
    public var lagSeconds: Double?
    /// The last position the copy applied.
    public var applied: ConsistencyToken?
    /// Snapshots loaded since start (more than one: the copy was loaded again after a failover).
    public var snapshots = 0
    /// Why the copy is not following the primary now, if it is not.
    public var failure: String?
    /// Writes waiting for the copy to apply them, and requests waiting for a token.
    public var waiting = 0
    /// Time from a transaction's commit on the primary to its being applied here, as a
    /// histogram: counts at or under each of `applyLagBounds` (seconds), then over the last.
    public var applyLag = [UInt64](repeating: 0, count: ReplicaReport.applyLagBounds.count + 1)
    public var applyLagSum = 0.0
    public static let applyLagBounds: [Double] = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]

    public init(lagSeconds: Double? = nil, applied: ConsistencyToken? = nil, snapshots: Int = 0, failure: String? = nil, waiting: Int = 0) {
        self.lagSeconds = lagSeconds; self.applied = applied; self.snapshots = snapshots; self.failure = failure; self.waiting = waiting
    }
}
