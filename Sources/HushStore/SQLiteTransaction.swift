import Foundation
import HushCore

/// What a write job may do, on the writer's connection inside the batch's transaction
/// (`StoreTransaction`, and what the SQLite store's own tests and start-up need besides).
/// Only the writer thread ever holds one.
public final class SQLiteTransaction: StoreTransaction {
    let database: Database
    let reader: SQLiteReader
    let holdCache: HoldCache
    let tombstones: TombstoneSet
    /// Customers whose facts record must be rebuilt before the running job ends.
    var touched: Set<String> = []
    /// Most customers `touched` holds in a long job (an import) before their records are
    /// rebuilt mid-job (`settleTouched`): 100,000 ids are a few megabytes, and a batch that
    /// large still writes the records in key order.
    var touchedLimit = 100_000
    /// How far back records keep contacts and interactions.
    let recordLookback: TimeInterval
    /// Most contacts (and interactions) a record keeps, newest first: more than any cap can count.
    static let recordEntryLimit = 1000
    /// Tombstones written in this transaction, published to readers once it commits.
    var pendingTombstones: [[UInt8]] = []
    /// The running job threw: its savepoint is rolled back.
    var failed = false
    /// A job changed the holds: the cache is reloaded after the commit.
    var holdsChanged = false
    /// An erasure ran in this batch: once committed, the WAL (which still holds the old page
    /// images) is checkpointed and truncated, so no copy of the erased rows stays on disk.
    var erased = false
    /// Set by `discardChanges()`: the job's savepoint is rolled back though it succeeded.
    var discard = false
    /// Statements of the replicated writes, prepared once, by their text; the inserts by table.
    var replicatedStatements: [String: Statement] = [:]
    var replicatedInserts: [ReplicatedTable: Statement] = [:]

    /// Rolls this job's writes back when it ends, keeping its result: a dry run that learns
    /// what a write would do (counts, conflicts) without doing it.
    public func discardChanges() { discard = true }
    /// The prepared statements, made once per connection.
    let sql: Statements

    struct Statements {
        let upsertProfile, selectCase, insertCase, replaceCase, deleteCase: Statement
        let selectSuppressionByIdentity, selectSuppression, insertSuppression, deleteSuppression: Statement
        let selectHold, insertHold, deleteHold, allHolds, countHolds: Statement
        let insertContact, insertInteraction, insertTombstone: Statement
        let profileAddresses, deleteProfile, deleteCases, deleteCustomerSuppressions, deleteAddressSuppressions: Statement
        let deleteContacts, deleteInteractions, pruneContacts, pruneInteractions: Statement
        let updateSuppression, updateHold: Statement
        let selectRecord, upsertRecord, insertRecord, deleteRecord, profilesByAddress: Statement
        let insertHistory, deleteCustomerHistory, deleteAddressHistory, deleteRecordHistory, customerRecordIDs: Statement
    }

    /// Who runs the current job (`SQLiteStore.write(as:)`): every change it makes is recorded
    /// in the history under this name. Nil outside a job, where changes are refused.
    var actor: Actor?
    /// How the history renders records (the API's JSON).
    let renderHistory: HistoryRenderer

    /// The writer's clock.
    let clock: @Sendable () -> Date
    /// The tombstone hash of a subject (the caller's HMAC; the store never sees the key).
    let tombstoneHash: @Sendable (Subject) -> [UInt8]

    init(database: Database, holds: HoldCache, tombstones: TombstoneSet, recordLookback: TimeInterval,
         clock: @escaping @Sendable () -> Date, tombstoneHash: @escaping @Sendable (Subject) -> [UInt8], recordKeyBits: Int,
         renderHistory: @escaping HistoryRenderer) throws(StoreError) {
        self.renderHistory = renderHistory
        self.recordLookback = recordLookback
        self.clock = clock
        self.tombstoneHash = tombstoneHash
        self.database = database
        self.holdCache = holds
        self.tombstones = tombstones
        reader = try SQLiteReader(database: database, tombstones: tombstones, recordKeyBits: recordKeyBits)
        let suppressionColumns = StoreRows.suppressionColumns
        let holdColumns = StoreRows.holdColumns
        sql = Statements(
            upsertProfile: try database.prepare("""
                INSERT INTO profiles (customer_id, region, timezone, email, phone, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                ON CONFLICT (customer_id) DO UPDATE SET region = ?2, timezone = ?3, email = ?4, phone = ?5, updated_at = ?6
                """),
            selectCase: try database.prepare("SELECT \(StoreRows.caseColumns) FROM cases WHERE case_id = ?1"),
            insertCase: try database.prepare("INSERT INTO cases (\(StoreRows.caseColumns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            replaceCase: try database.prepare("""
                UPDATE cases SET customer_id = ?2, severity = ?3, status = ?4, opened_at = ?5, closed_at = ?6, resolution = ?7, updated_at = ?8
                WHERE case_id = ?1
                """),
            deleteCase: try database.prepare("DELETE FROM cases WHERE case_id = ?1"),
            selectSuppressionByIdentity: try database.prepare("""
                SELECT \(suppressionColumns) FROM suppressions WHERE ifnull(customer_id, '') = ?1 AND ifnull(address, '') = ?2
                AND kind = ?3 AND ifnull(channels, '*') = ?4 AND ifnull(purposes, '*') = ?5
                """),
            selectSuppression: try database.prepare("SELECT \(suppressionColumns) FROM suppressions WHERE id = ?1"),
            insertSuppression: try database.prepare("""
                INSERT INTO suppressions (\(suppressionColumns), created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                ON CONFLICT DO NOTHING
                """),
            deleteSuppression: try database.prepare("DELETE FROM suppressions WHERE id = ?1"),
            selectHold: try database.prepare("SELECT \(holdColumns) FROM holds WHERE id = ?1"),
            insertHold: try database.prepare("INSERT INTO holds (\(holdColumns), updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
            deleteHold: try database.prepare("DELETE FROM holds WHERE id = ?1"),
            allHolds: try database.prepare("SELECT \(holdColumns) FROM holds ORDER BY id"),
            countHolds: try database.prepare("SELECT count(*) FROM holds"),
            insertContact: try database.prepare("INSERT INTO contacts (customer_id, channel, purpose, at, campaign_id) VALUES (?1, ?2, ?3, ?4, ?5)"),
            insertInteraction: try database.prepare("INSERT INTO interactions (customer_id, type, score, at) VALUES (?1, ?2, ?3, ?4)"),
            insertTombstone: try database.prepare("INSERT OR IGNORE INTO tombstones (hash) VALUES (?1)"),
            profileAddresses: try database.prepare("SELECT email, phone FROM profiles WHERE customer_id = ?1"),
            deleteProfile: try database.prepare("DELETE FROM profiles WHERE customer_id = ?1"),
            deleteCases: try database.prepare("DELETE FROM cases WHERE customer_id = ?1"),
            deleteCustomerSuppressions: try database.prepare("DELETE FROM suppressions WHERE customer_id = ?1"),
            deleteAddressSuppressions: try database.prepare("DELETE FROM suppressions WHERE address = ?1"),
            deleteContacts: try database.prepare("DELETE FROM contacts WHERE customer_id = ?1"),
            deleteInteractions: try database.prepare("DELETE FROM interactions WHERE customer_id = ?1"),
            pruneContacts: try database.prepare("DELETE FROM contacts WHERE at <= ?1"),
            pruneInteractions: try database.prepare("DELETE FROM interactions WHERE at <= ?1"),
            updateSuppression: try database.prepare("""
                UPDATE suppressions SET channels = ?2, purposes = ?3, source = ?4, confirmed = ?5, expires_at = ?6 WHERE id = ?1
                """),
            updateHold: try database.prepare("""
                UPDATE holds SET title = ?2, reason = ?3, regions = ?4, channels = ?5, purposes = ?6, categories = ?7,
                starts_at = ?8, ends_at = ?9, updated_at = ?10 WHERE id = ?1
                """),
            selectRecord: try database.prepare("SELECT entries FROM customer_records WHERE key = ?1"),
            upsertRecord: try database.prepare("""
                INSERT INTO customer_records (key, entries) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET entries = ?2
                """),
            insertRecord: try database.prepare("INSERT INTO customer_records (key, entries) VALUES (?1, ?2) ON CONFLICT DO NOTHING"),
            deleteRecord: try database.prepare("DELETE FROM customer_records WHERE key = ?1"),
            profilesByAddress: try database.prepare("""
                SELECT customer_id FROM profiles WHERE email = ?1 UNION SELECT customer_id FROM profiles WHERE phone = ?1
                """),
            insertHistory: try database.prepare("""
                INSERT INTO history (record_kind, record_id, customer_id, address, at, actor, via, operation, before, after)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                """),
            deleteCustomerHistory: try database.prepare("DELETE FROM history WHERE customer_id = ?1"),
            deleteAddressHistory: try database.prepare("DELETE FROM history WHERE address = ?1"),
            deleteRecordHistory: try database.prepare("DELETE FROM history WHERE record_kind = ?1 AND record_id = ?2"),
            customerRecordIDs: try database.prepare("""
                SELECT 'case', case_id FROM cases WHERE customer_id = ?1
                UNION ALL SELECT 'suppression', id FROM suppressions WHERE customer_id = ?1 OR address IN (?2, ?3)
                """))
    }

    // MARK: Profiles

    /// Stores the profile; true when it was new.
    @discardableResult
    public func upsertProfile(_ profile: Profile, now: Date) throws(StoreError) -> Bool {
        try upsertProfile(profile, now: now, before: try reader.readProfile(profile.customerID))
    }

    /// `upsertProfile` when the stored profile (`before`) was just read.
    @discardableResult
    func upsertProfile(_ profile: Profile, now: Date, before: Profile?) throws(StoreError) -> Bool {
        try sql.upsertProfile.run([.text(profile.customerID), .optional(profile.region), .optional(profile.timeZone?.name),
                                 .optional(profile.email), .optional(profile.phone), .integer(Codec.millis(now))])
        touched.insert(profile.customerID)
        try recordChange(before: before.map(HistoryRecord.profile), after: .profile(profile))
        return before == nil
    }

    public func readProfile(_ customerID: String) throws(StoreError) -> Profile? {
        try reader.readProfile(customerID)
    }

    // MARK: Cases

    /// Creates or replaces a case, unless the stored one has a later `updated_at`, so that an
    /// out-of-order feed cannot reopen a closed case.
    public func upsertCase(_ serviceCase: ServiceCase) throws(StoreError) -> CaseWrite {
        let values: [SQLValue] = [
            .text(serviceCase.id), .text(serviceCase.customerID), .text(serviceCase.severity.rawValue), .text(serviceCase.status.rawValue),
            .integer(Codec.millis(serviceCase.openedAt)), .optional(serviceCase.closedAt.map(Codec.millis)),
            .optional(serviceCase.resolution?.rawValue), .integer(Codec.millis(serviceCase.updatedAt)),
        ]
        guard let current = try readCase(serviceCase.id) else {
            try sql.insertCase.run(values)
            touched.insert(serviceCase.customerID)
            try recordChange(before: nil, after: .serviceCase(serviceCase))
            return .created
        }
        if Codec.millis(current.updatedAt) > Codec.millis(serviceCase.updatedAt) { return .stale(current: current) }
        try sql.replaceCase.run(values)
        touched.formUnion([current.customerID, serviceCase.customerID])
        try recordChange(before: .serviceCase(current), after: .serviceCase(serviceCase))
        return .replaced
    }

    public func readCase(_ id: String) throws(StoreError) -> ServiceCase? {
        var result: ServiceCase?
        try sql.selectCase.query([.text(id)]) { row in result = StoreRows.serviceCase(row) }
        return result
    }

    public func deleteCase(_ id: String) throws(StoreError) -> Bool {
        guard let current = try readCase(id) else { return false }
        touched.insert(current.customerID)
        guard try sql.deleteCase.run([.text(id)]) > 0 else { return false }
        try recordChange(before: .serviceCase(current), after: nil)
        return true
    }

    // MARK: Suppressions

    /// Adds a suppression (its `id` is assigned here), or returns the existing one with the same
    /// subject, kind, channels and purposes. `created` says which.
    public func addSuppression(_ suppression: Suppression, now: Date) throws(StoreError) -> (suppression: Suppression, created: Bool) {
        try addSuppression(suppression, now: now, touching: true)
    }

    /// `touching` false leaves the customer's record to the caller (an import that makes it).
    func addSuppression(_ suppression: Suppression, now: Date, touching: Bool) throws(StoreError) -> (suppression: Suppression, created: Bool) {
        try suppression.validateForStore()
        let (customer, address, addressKind): (String?, String?, String?) = switch suppression.subject {
        case .customer(let id): (id, nil, nil)
        case .address(.email(let a)): (nil, a, "email")
        case .address(.phone(let a)): (nil, a, "phone")
        }
        let channels = Codec.list(suppression.channels?.map(\.rawValue)), purposes = Codec.list(suppression.purposes?.map(\.rawValue))
        func text(_ v: SQLValue, _ fallback: String) -> SQLValue { if case .null = v { .text(fallback) } else { v } }
        var stored = suppression
        stored.id = StoreRows.newID()
        // Inserted unless one with the same identity is stored (the insert does nothing then, and
        // that one is read): a new suppression, as an import's mostly are, costs no lookup first.
        // The conflict names no index: a snapshot load drops them while statements are prepared.
        // A new id equal to a stored one (80 random bits) would be found by no identity: an error.
        let inserted = try sql.insertSuppression.run([.text(stored.id), .optional(customer), .optional(address), .optional(addressKind),
                                                      .text(stored.kind.rawValue), channels, purposes, .optional(stored.source),
                                                      .integer(stored.confirmed ? 1 : 0), .optional(stored.expiresAt.map(Codec.millis)),
                                                      .integer(Codec.millis(now))])
        if inserted == 0 {
            var existing: Suppression?
            try sql.selectSuppressionByIdentity.query([.text(customer ?? ""), .text(address ?? ""), .text(suppression.kind.rawValue),
                                                      text(channels, "*"), text(purposes, "*")]) { row throws(StoreError) in existing = try StoreRows.suppression(row) }
            guard let existing else { throw StoreError(kind: .internalError, message: "a suppression was neither inserted nor found by its identity") }
            return (existing, false)
        }
        if touching { try touch(stored.subject) }
        try recordChange(before: nil, after: .suppression(stored))
        return (stored, true)
    }

    public func readSuppression(_ id: String) throws(StoreError) -> Suppression? {
        var result: Suppression?
        try sql.selectSuppression.query([.text(id)]) { row throws(StoreError) in result = try StoreRows.suppression(row) }
        return result
    }

    public func deleteSuppression(_ id: String) throws(StoreError) -> Bool {
        guard let current = try readSuppression(id) else { return false }
        try touch(current.subject)
        guard try sql.deleteSuppression.run([.text(id)]) > 0 else { return false }
        try recordChange(before: .suppression(current), after: nil)
        return true
    }

    /// Marks for a record rebuild the customer a subject is, or every customer whose profile
    /// carries the address.
    func touch(_ subject: Subject) throws(StoreError) {
        switch subject {
        case .customer(let id): touched.insert(id)
        case .address(let address):
            try sql.profilesByAddress.query([.text(address.value)]) { row in if let id = row.text(0) { touched.insert(id) } }
        }
    }

    /// Replaces the mutable fields (channels, purposes, source, confirmed, expiry) of the stored
    /// suppression with `suppression.id`. False when there is none. A change that makes it equal
    /// to another suppression's identity is a `.conflict`.
    public func updateSuppression(_ suppression: Suppression) throws(StoreError) -> Bool {
        try suppression.validateForStore()
        guard var updated = try readSuppression(suppression.id) else { return false }
        let before = updated
        try touch(updated.subject)
        updated.channels = suppression.channels
        updated.purposes = suppression.purposes
        updated.source = suppression.source
        updated.confirmed = suppression.confirmed
        updated.expiresAt = suppression.expiresAt
        guard try sql.updateSuppression.run([
            .text(suppression.id), Codec.list(suppression.channels?.map(\.rawValue)), Codec.list(suppression.purposes?.map(\.rawValue)),
            .optional(suppression.source), .integer(suppression.confirmed ? 1 : 0), .optional(suppression.expiresAt.map(Codec.millis)),
        ]) > 0 else { return false }
        try recordChange(before: .suppression(before), after: .suppression(updated))
        return true
    }

    // MARK: History

    /// Records a change of one record in the history, in this transaction, under the running
    /// job's actor: `before` nil is a creation, `after` nil a deletion. A change that leaves the
    /// record as the API renders it is not recorded.
    func recordChange(before: HistoryRecord?, after: HistoryRecord?) throws(StoreError) {
        guard let actor else { throw StoreError(kind: .internalError, message: "a change was made outside a write with an actor") }
        guard let change = HistoryChange(before: before, after: after, render: renderHistory) else { return }
        try sql.insertHistory.run([.text(change.kind.rawValue), .text(change.recordID), .optional(change.customerID), .optional(change.address),
                                   .integer(Codec.millis(clock())), .text(actor.name), .text(actor.via.rawValue),
                                   .text(change.operation.rawValue), .optional(change.before), .optional(change.after)])
    }
}
