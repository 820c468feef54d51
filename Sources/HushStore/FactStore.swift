import Foundation
import HushCore

/// What the service needs of a store, whatever keeps the data: one reader per event loop for
/// decisions and reads, and one writer that runs jobs in transactions and reports each after
/// its commit. `SQLiteStore` implements it; the API and its tests know only these protocols.
public protocol FactStore: AnyObject, Sendable {
    /// A reader for the calling thread (an event loop), on its own connection.
    func makeReader() throws(StoreError) -> any StoreReader

    /// Runs `job` in a transaction on the writer; `completion` gets its value once the
    /// transaction committed, or the error (and nothing of the job was written). Every change
    /// the job makes is recorded in the history, in the same transaction, as made by `actor`.
    /// Throws nothing: a store that cannot take more work completes with `.unavailable` at once.
    func write<T>(as actor: Actor, _ job: @escaping (any StoreTransaction) throws(StoreError) -> T,
                  completion: @escaping (Result<T, StoreError>) -> Void)

    /// `write`, with the commit's consistency token where the store has them (nil otherwise).
    func write<T>(as actor: Actor, _ job: @escaping (any StoreTransaction) throws(StoreError) -> T,
                  committed: @escaping (Result<T, StoreError>, ConsistencyToken?) -> Void)

    /// Calls `done` (on any thread) with true once this node's reads see every commit up to
    /// `token`, or with false after `timeout` seconds. A store that is its own system of record
    /// sees every token at once.
    func whenCurrent(through token: ConsistencyToken, timeout: Double, _ done: @escaping @Sendable (Bool) -> Void)

    /// Whether this node's reads see every commit up to `token` now (cheap: for an event loop).
    func isCurrent(through token: ConsistencyToken) -> Bool

    /// Why decisions must not be answered from this node's data now (its copy is further behind
    /// the system of record than allowed), or nil. Checked by every decision: cheap.
    func staleness(now: Date) -> String?

    /// How current the node's copy is; nil for a store that is its own system of record.
    var replicaReport: ReplicaReport? { get }

    /// `write`, waiting for the commit (for tests and tools; never on an event loop).
    func writeAndWait<T>(as actor: Actor, _ job: @escaping (any StoreTransaction) throws(StoreError) -> T) throws(StoreError) -> T

    /// The environmental holds, as of the last committed write: few, and checked by every decision.
    var holds: [Hold] { get }

    /// Changes whenever `holds` does: a loop keeps its own copy of the holds while it is the same.
    var holdsGeneration: UInt64 { get }

    /// Jobs waiting for the writer.
    var writerQueueDepth: Int { get }

    /// Rows retention removed since the store opened.
    var pruned: PruneCounts { get }

    /// The writer's commit times and checkpoints.
    var writerReport: WriterReport { get }

    /// Finishes queued writes and closes the store.
    func close()
}

extension FactStore {
    /// The defaults of a store that is its own system of record (SQLite): every write is seen
    /// by every read once acknowledged, so there are no tokens to wait for and nothing is stale.
    public func write<T>(as actor: Actor, _ job: @escaping (any StoreTransaction) throws(StoreError) -> T,
                         committed: @escaping (Result<T, StoreError>, ConsistencyToken?) -> Void) {
        write(as: actor, job) { committed($0, nil) }
    }

    public func whenCurrent(through token: ConsistencyToken, timeout: Double, _ done: @escaping @Sendable (Bool) -> Void) { done(true) }
    public func isCurrent(through token: ConsistencyToken) -> Bool { true }
    public func staleness(now: Date) -> String? { nil }
    public var replicaReport: ReplicaReport? { nil }
}

/// Reads on one thread's own connection. Lookups share a read snapshot until `endSnapshot()`,
/// and never miss a write acknowledged before they began. Not shared between threads.
public protocol StoreReader: AnyObject {
    /// Lends `body` the facts about `customerID` and/or `address` that a decision on `channel`
    /// at `at` needs: profile, cases, suppressions (by id, by the request's address and by the
    /// profile's address for the channel), contacts and interactions within `lookback` before
    /// `at`, erasure tombstones (found by `tombstoneHash`: the store never holds the key), and
    /// `holds`. Lent, not returned, so that a decision copies nothing.
    func withFacts<Result>(customerID: String?, address: Address?, channel: Channel, at: Date, lookback: TimeInterval,
                           holds: [Hold], tombstoneHash: (Subject) -> [UInt8],
                           _ body: (borrowing Facts) -> Result) throws(StoreError) -> Result

    func serviceCase(id: String) throws(StoreError) -> ServiceCase?
    func suppression(id: String) throws(StoreError) -> Suppression?
    /// Up to `limit` suppressions with ids after `after`, in id order: all, one customer's, or one address's.
    func suppressions(customerID: String?, address: String?, after: String, limit: Int) throws(StoreError) -> [Suppression]

    /// Up to `limit` changes of one record, oldest first, after the change `after` (0: from the first).
    func history(of kind: HistoryEntry.Kind, id: String, after: Int64, limit: Int) throws(StoreError) -> [HistoryEntry]
    /// The newest `limit` changes of records about a customer (its profile, cases and
    /// suppressions, and the suppressions of `addresses`), newest first.
    func history(ofCustomer customerID: String, addresses: [String], limit: Int) throws(StoreError) -> [HistoryEntry]
    /// The erasure of the id whose tombstone hash is `tombstone`, if it was erased.
    func erasure(tombstone: [UInt8]) throws(StoreError) -> HistoryEntry?

    /// Reads one row: throws when the store cannot answer (readiness).
    func checkReadable() throws(StoreError)

    /// Ends the read snapshot (an event loop calls it after every turn).
    func endSnapshot()
}

extension StoreReader {
    /// `withFacts`, the facts returned (a copy: for views, not for decisions).
    public func facts(customerID: String?, address: Address?, channel: Channel, at: Date, lookback: TimeInterval,
                      holds: [Hold], tombstoneHash: (Subject) -> [UInt8]) throws(StoreError) -> Facts {
        try withFacts(customerID: customerID, address: address, channel: channel, at: at, lookback: lookback, holds: holds,
                      tombstoneHash: tombstoneHash) { copy $0 }
    }
}

/// What a write job may do, inside its transaction on the writer. Only the writer holds one.
public protocol StoreTransaction: AnyObject {
    /// Stores the profile; true when it was new.
    @discardableResult
    func upsertProfile(_ profile: Profile, now: Date) throws(StoreError) -> Bool
    func readProfile(_ customerID: String) throws(StoreError) -> Profile?

    /// Creates or replaces a case, unless the stored one has a later `updated_at`.
    func upsertCase(_ serviceCase: ServiceCase) throws(StoreError) -> CaseWrite
    func readCase(_ id: String) throws(StoreError) -> ServiceCase?
    func deleteCase(_ id: String) throws(StoreError) -> Bool

    /// Adds a suppression (its `id` assigned here), or returns the stored one with the same
    /// subject, kind, channels and purposes; `created` says which.
    func addSuppression(_ suppression: Suppression, now: Date) throws(StoreError) -> (suppression: Suppression, created: Bool)
    func readSuppression(_ id: String) throws(StoreError) -> Suppression?
    /// Replaces the mutable fields of the stored suppression with the same id; false when there is none.
    func updateSuppression(_ suppression: Suppression) throws(StoreError) -> Bool
    func deleteSuppression(_ id: String) throws(StoreError) -> Bool

    /// Creates a hold unless one has its id or `limit` holds exist.
    func createHold(_ hold: Hold, now: Date, limit: Int) throws(StoreError) -> HoldWrite
    func readHold(_ id: String) throws(StoreError) -> Hold?
    func updateHold(_ hold: Hold, now: Date) throws(StoreError) -> Bool
    func deleteHold(_ id: String) throws(StoreError) -> Bool

    func recordContact(customerID: String, _ contact: Contact, campaignID: String?) throws(StoreError)
    func recordInteraction(customerID: String, _ interaction: Interaction) throws(StoreError)

    /// Decides with `decide` on the facts read inside this transaction and, when it allows,
    /// records the contact at the request's `at` (or `now`) in the same transaction: two callers
    /// racing for the last slot of a cap cannot both get it. The store never decides itself.
    func reserve(_ request: DecisionRequest, now: Date, lookback: TimeInterval, campaignID: String?,
                 tombstoneHash: (Subject) -> [UInt8], decide: (borrowing Facts) -> Decision) throws(StoreError) -> (decision: Decision, reserved: Bool)

    /// GDPR erasure: deletes every row about the customer and keeps only keyed hashes of the id
    /// and its addresses, in this transaction. Idempotent.
    func erase(customerID: String, tombstoneHash: (Subject) -> [UInt8]) throws(StoreError) -> ErasureCounts

    /// Rolls this job's writes back when it ends, keeping its value: a dry run.
    func discardChanges()

    /// Names, in this transaction, the decision-log subjects (keyed hashes, hex) an erasure made
    /// unreachable, for the other nodes of a replicated store to erase from their own logs.
    /// The SQLite store has no other nodes: it keeps nothing.
    func recordLogErasure(_ subjects: [String]) throws(StoreError)

    /// Imports suppressions all or nothing (`StoreTransaction.importSuppressions` row by row,
    /// unless the store has a set-based way).
    func importSuppressions(_ rows: ImportRows<Suppression>, now: Date) throws(StoreError) -> (imported: Int, unchanged: Int)

    /// Imports profiles all or nothing (`StoreTransaction.importProfiles` row by row, unless the
    /// store has a faster way).
    func importProfiles(_ rows: ImportRows<Profile>, now: Date) throws(StoreError) -> (imported: Int, unchanged: Int)
    /// Imports cases all or nothing (`StoreTransaction.importCases` row by row, unless the store
    /// has a faster way).
    func importCases(_ rows: ImportRows<ServiceCase>) throws(StoreError) -> (imported: Int, unchanged: Int)

    /// Brings what this transaction keeps for the end of the job (the customers whose records
    /// must be rebuilt) back under its bound, doing that work now: a long job, an import of
    /// millions of rows, then holds a bounded set. A store that keeps nothing does nothing.
    func settleTouched() throws(StoreError)
}

extension StoreTransaction {
    public func recordLogErasure(_ subjects: [String]) throws(StoreError) {}
    public func settleTouched() throws(StoreError) {}
}

/// What `upsertCase` did.
public enum CaseWrite: Equatable, Sendable {
    case created, replaced
    /// The stored case is newer (`updated_at`): nothing was written.
    case stale(current: ServiceCase)
}

/// What `createHold` did.
public enum HoldWrite: Sendable, Equatable {
    case created
    case exists(current: Hold)
    /// `limit` holds exist already: nothing was written.
    case full(limit: Int)
}

/// The rows an erasure removed, by table, and the addresses it found on the profile (for the
/// caller's own records of the customer, such as the decision log).
public struct ErasureCounts: Sendable, Equatable {
    public var profile = 0, cases = 0, suppressions = 0, contacts = 0, interactions = 0
    public var addresses: [Address] = []
    public init() {}

    /// Whether anything was removed.
    public var isEmpty: Bool { profile + cases + suppressions + contacts + interactions == 0 }
}
