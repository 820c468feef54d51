import Synchronization

/// The erasure tombstones, held in memory so that a decision checks them without a lookup:
/// loaded at start, extended by the writer after each erasure commits. 32 bytes per erased
/// subject (plus the set's overhead); the table stays the system of record.
final class TombstoneSet: Sendable {
    struct Hash: Hashable, Sendable {
        let a: UInt64, b: UInt64, c: UInt64, d: UInt64

        init?(_ bytes: [UInt8]) {
            guard bytes.count == 32 else { return nil }
            func word(_ i: Int) -> UInt64 { bytes[i..<(i + 8)].reduce(0) { $0 << 8 | UInt64($1) } }
            a = word(0); b = word(8); c = word(16); d = word(24)
        }
    }

    private let hashes = Mutex<Set<Hash>>([])
    /// How many hashes there are, readable without the lock: with none, a decision need not
    /// compute a hash at all (an HMAC costs about 7,000 instructions).
    private let size = Atomic<Int>(0)

    var isEmpty: Bool { size.load(ordering: .acquiring) == 0 }

    func contains(_ bytes: [UInt8]) -> Bool {
        guard let hash = Hash(bytes) else { return false }
        return hashes.withLock { $0.contains(hash) }
    }

    func insert(_ all: [[UInt8]]) {
        let parsed = all.compactMap(Hash.init)
        let count = hashes.withLock { set in
            set.formUnion(parsed)
            return set.count
        }
        size.store(count, ordering: .releasing)
    }

    var count: Int { hashes.withLock { $0.count } }
}
