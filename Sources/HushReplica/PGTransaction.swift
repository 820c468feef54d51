import Foundation
import HushCore
import HushPostgres
import HushStore

/// A write job's transaction on the PostgreSQL primary: `StoreTransaction` in PostgreSQL's SQL,
/// with the same rules as the SQLite store's (a suppression's identity, the case's `updated_at`
/// guard, the history of every change in the same transaction). Records that several nodes may
/// write at once are serialised by transaction-scoped advisory locks on their key, so that a
/// read-then-write (a history's `before`, a reservation's cap) sees no concurrent change.
final class PGTransaction: StoreTransaction {
    let db: PGConnection
    let actor: Actor
    let clock: @Sendable () -> Date
    let renderHistory: HistoryRenderer
    /// Rows this transaction changed: none, and there is nothing for the image to wait for.
    var changed = 0
    /// Set by `discardChanges()`: the transaction is rolled back though the job succeeded.
    private(set) var discard = false
    /// The statement that failed, as PostgreSQL said it: whether the job may run again.
    var failure: PGError?
    /// An erasure ran: the touched tables are vacuumed after the commit.
    private(set) var erased = false

    init(db: PGConnection, actor: Actor, clock: @escaping @Sendable () -> Date, renderHistory: @escaping HistoryRenderer) {
        self.db = db
        self.actor = actor
        self.clock = clock
        self.renderHistory = renderHistory
    }

    func discardChanges() { discard = true }

    // MARK: Statements

    /// Runs one statement; a failure becomes a store error (kept, for the writer's retry).
    @discardableResult
    func run(_ sql: String, _ parameters: [String?] = []) throws(StoreError) -> PGRows {
        do {
            let rows = try db.query(sql, parameters, prepared: true)
            changed += rows.changed
            return rows
        } catch {
            failure = error
            throw Self.storeError(error)
        }
    }

    func rows(_ sql: String, _ parameters: [String?]) throws(StoreError) -> [TextRow] {
        try run(sql, parameters).rows.map(TextRow.init)
    }

    /// A PostgreSQL error as the API's kinds: a constraint is the caller's conflict; a lost
    /// connection, a conflict between transactions or a read-only server (mid-failover) is
    /// unavailable; anything else a bug.
    static func storeError(_ error: PGError) -> StoreError {
        let state = error.sqlState ?? ""
        let kind: StoreError.Kind = if state.hasPrefix("23") { .conflict }
            else if error.isConnectionLost || error.isTransient || state == "25006" || state.hasPrefix("53") { .unavailable }
            else { .internalError }
        return StoreError(kind: kind, message: "PostgreSQL: \(error.message)")
    }

    /// Serialises this transaction with every other that takes the same key, until it ends.
    private func lock(_ key: String) throws(StoreError) {
        try run("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [key])
    }

    private static func millis(_ date: Date) -> String { String(Codec.millis(date)) }
    private static func millis(ifAny date: Date?) -> String? { date.map(millis) }

    // MARK: Profiles

    @discardableResult
    func upsertProfile(_ profile: Profile, now: Date) throws(StoreError) -> Bool {
        try lock("customer:" + profile.customerID)
        let before = try storedProfile(profile.customerID)
        try run("""
            INSERT INTO profiles (customer_id, region, timezone, email, phone, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (customer_id) DO UPDATE SET region = $2, timezone = $3, email = $4, phone = $5, updated_at = $6
            """, [profile.customerID, profile.region, profile.timeZone?.identifier, profile.email, profile.phone, Self.millis(now)])
        try recordChange(before: before.map(HistoryRecord.profile), after: .profile(profile))
        return before == nil
    }

    /// Under the customer's lock, as the upsert that may follow takes it.
    func readProfile(_ customerID: String) throws(StoreError) -> Profile? {
        try lock("customer:" + customerID)
        return try storedProfile(customerID)
    }

    private func storedProfile(_ customerID: String) throws(StoreError) -> Profile? {
        try rows("SELECT \(PostgresFacts.profileColumns) FROM profiles WHERE customer_id = $1", [customerID]).first.map { PostgresFacts.profile(customerID, $0) }
    }

    // MARK: Cases

    func upsertCase(_ serviceCase: ServiceCase) throws(StoreError) -> CaseWrite {
        try lock("case:" + serviceCase.id)
        let values: [String?] = [serviceCase.id, serviceCase.customerID, serviceCase.severity.rawValue, serviceCase.status.rawValue,
                                 Self.millis(serviceCase.openedAt), Self.millis(ifAny: serviceCase.closedAt), serviceCase.resolution?.rawValue,
                                 Self.millis(serviceCase.updatedAt)]
        guard let current = try readCase(serviceCase.id) else {
            try run("INSERT INTO cases (\(StoreRows.caseColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", values)
            try recordChange(before: nil, after: .serviceCase(serviceCase))
            return .created
        }
        if Codec.millis(current.updatedAt) > Codec.millis(serviceCase.updatedAt) { return .stale(current: current) }
        try run("""
            UPDATE cases SET customer_id = $2, severity = $3, status = $4, opened_at = $5, closed_at = $6, resolution = $7, updated_at = $8
            WHERE case_id = $1
            """, values)
        try recordChange(before: .serviceCase(current), after: .serviceCase(serviceCase))
        return .replaced
    }

    func readCase(_ id: String) throws(StoreError) -> ServiceCase? {
        try rows("SELECT \(StoreRows.caseColumns) FROM cases WHERE case_id = $1", [id]).first.flatMap(StoreRows.serviceCase)
    }

    func deleteCase(_ id: String) throws(StoreError) -> Bool {
        try lock("case:" + id)
        guard let current = try readCase(id), try run("DELETE FROM cases WHERE case_id = $1", [id]).changed > 0 else { return false }
        try recordChange(before: .serviceCase(current), after: nil)
        return true
    }

    // MARK: Suppressions

    func addSuppression(_ suppression: Suppression, now: Date) throws(StoreError) -> (suppression: Suppression, created: Bool) {
        do { try suppression.validate() } catch { throw StoreError(kind: .conflict, message: "\(error.field) \(error.message)") }
        let (customer, address, addressKind) = StoreRows.subjectColumns(suppression.subject)
        let channels = Codec.joined(suppression.channels?.map(\.rawValue)), purposes = Codec.joined(suppression.purposes?.map(\.rawValue))
        let identity: [String?] = [customer ?? "", address ?? "", suppression.kind.rawValue, channels ?? "*", purposes ?? "*"]
        try lock("suppression:" + identity.map { $0 ?? "" }.joined(separator: "\u{1F}\u{1F}"))
        let existing = try rows("""
            SELECT \(Self.suppressionColumns) FROM suppressions WHERE coalesce(customer_id, '') = $1 AND coalesce(address, '') = $2
            AND kind = $3 AND coalesce(channels, '*') = $4 AND coalesce(purposes, '*') = $5
            """, identity)
        if let row = existing.first { return (try StoreRows.suppression(row), false) }
        var stored = suppression
        stored.id = StoreRows.newID()
        try run("INSERT INTO suppressions (\(StoreRows.suppressionColumns), created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                [stored.id, customer, address, addressKind, stored.kind.rawValue, channels, purposes, stored.source,
                 stored.confirmed ? "t" : "f", Self.millis(ifAny: stored.expiresAt), Self.millis(now)])
        try recordChange(before: nil, after: .suppression(stored))
        return (stored, true)
    }

    private static let suppressionColumns = PostgresFacts.suppressionColumns

    func readSuppression(_ id: String) throws(StoreError) -> Suppression? {
        guard let row = try rows("SELECT \(Self.suppressionColumns) FROM suppressions WHERE id = $1", [id]).first else { return nil }
        return try StoreRows.suppression(row)
    }

    func updateSuppression(_ suppression: Suppression) throws(StoreError) -> Bool {
        do { try suppression.validate() } catch { throw StoreError(kind: .conflict, message: "\(error.field) \(error.message)") }
        try lock("suppression-id:" + suppression.id)
        guard var updated = try readSuppression(suppression.id) else { return false }
        let before = updated
        updated.channels = suppression.channels
        updated.purposes = suppression.purposes
        updated.source = suppression.source
        updated.confirmed = suppression.confirmed
        updated.expiresAt = suppression.expiresAt
        guard try run("UPDATE suppressions SET channels = $2, purposes = $3, source = $4, confirmed = $5, expires_at = $6 WHERE id = $1",
                      [suppression.id, Codec.joined(suppression.channels?.map(\.rawValue)), Codec.joined(suppression.purposes?.map(\.rawValue)),
                       suppression.source, suppression.confirmed ? "t" : "f", Self.millis(ifAny: suppression.expiresAt)]).changed > 0 else { return false }
        try recordChange(before: .suppression(before), after: .suppression(updated))
        return true
    }

    func deleteSuppression(_ id: String) throws(StoreError) -> Bool {
        try lock("suppression-id:" + id)
        guard let current = try readSuppression(id), try run("DELETE FROM suppressions WHERE id = $1", [id]).changed > 0 else { return false }
        try recordChange(before: .suppression(current), after: nil)
        return true
    }

    // MARK: Holds

    func createHold(_ hold: Hold, now: Date, limit: Int) throws(StoreError) -> HoldWrite {
        // One lock for all holds: the count and the insert must not interleave with another node's.
        try lock("holds")
        if let current = try readHold(hold.id) { return .exists(current: current) }
        let count = try rows("SELECT count(*) FROM holds", []).first?.integer(0) ?? 0
        guard count < limit else { return .full(limit: limit) }
        try run("INSERT INTO holds (\(StoreRows.holdColumns), updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                Self.holdValues(hold, now: now))
        try recordChange(before: nil, after: .hold(hold))
        return .created
    }

    private static func holdValues(_ hold: Hold, now: Date) -> [String?] {
        [hold.id, hold.title, hold.reason, Codec.joined(hold.regions), Codec.joined(hold.channels?.map(\.rawValue)),
         Codec.joined(hold.purposes?.map(\.rawValue)), Codec.joined(hold.categories), millis(hold.startsAt), millis(ifAny: hold.endsAt), millis(now)]
    }

    func readHold(_ id: String) throws(StoreError) -> Hold? {
        try rows("SELECT \(StoreRows.holdColumns) FROM holds WHERE id = $1", [id]).first.map(StoreRows.hold)
    }

    func updateHold(_ hold: Hold, now: Date) throws(StoreError) -> Bool {
        try lock("holds")
        guard let before = try readHold(hold.id) else { return false }
        guard try run("""
            UPDATE holds SET title = $2, reason = $3, regions = $4, channels = $5, purposes = $6, categories = $7,
            starts_at = $8, ends_at = $9, updated_at = $10 WHERE id = $1
            """, Self.holdValues(hold, now: now)).changed > 0 else { return false }
        try recordChange(before: .hold(before), after: .hold(hold))
        return true
    }

    func deleteHold(_ id: String) throws(StoreError) -> Bool {
        try lock("holds")
        guard let before = try readHold(id), try run("DELETE FROM holds WHERE id = $1", [id]).changed > 0 else { return false }
        try recordChange(before: .hold(before), after: nil)
        return true
    }

    // MARK: Contacts and interactions

    func recordContact(customerID: String, _ contact: Contact, campaignID: String?) throws(StoreError) {
        // Under the customer's lock: a reservation that counts the customer's contacts sees this one or runs after it.
        try lock("customer:" + customerID)
        try run("INSERT INTO contacts (customer_id, channel, purpose, at, campaign_id) VALUES ($1, $2, $3, $4, $5)",
                [customerID, contact.channel.rawValue, contact.purpose.rawValue, Self.millis(contact.at), campaignID])
    }

    func recordInteraction(customerID: String, _ interaction: Interaction) throws(StoreError) {
        try run("INSERT INTO interactions (customer_id, type, score, at) VALUES ($1, $2, $3, $4)",
                [customerID, interaction.type, String(interaction.score), Self.millis(interaction.at)])
    }

    /// Decided on the facts read on the primary under the customer's lock, and recorded in the
    /// same transaction: nodes reserving the last slot of a cap at once record at most one.
    func reserve(_ request: DecisionRequest, now: Date, lookback: TimeInterval, campaignID: String?,
                 tombstoneHash: (Subject) -> [UInt8], decide: (borrowing Facts) -> Decision) throws(StoreError) -> (decision: Decision, reserved: Bool) {
        if let customerID = request.customerID { try lock("customer:" + customerID) }
        let at = request.at ?? now
        let facts = try gather(customerID: request.customerID, address: request.address, channel: request.channel, at: at,
                               lookback: lookback, tombstoneHash: tombstoneHash)
        let decision = decide(facts)
        guard decision.allowed, let customerID = request.customerID else { return (decision, false) }
        try run("INSERT INTO contacts (customer_id, channel, purpose, at, campaign_id) VALUES ($1, $2, $3, $4, $5)",
                [customerID, request.channel.rawValue, request.purpose.rawValue, Self.millis(at), campaignID])
        return (decision, true)
    }

    /// The facts a decision needs, read on the primary (`PostgresFacts`).
    private func gather(customerID: String?, address: Address?, channel: Channel, at: Date, lookback: TimeInterval,
                        tombstoneHash: (Subject) -> [UInt8]) throws(StoreError) -> Facts {
        do {
            return try PostgresFacts(db: db).facts(customerID: customerID, address: address, channel: channel, at: at, lookback: lookback,
                                                   tombstoneHash: tombstoneHash)
        } catch {
            if let cause = error.cause { failure = cause }
            throw error.store
        }
    }

    // MARK: Erasure

    /// Deletes every row about the customer and its history, and keeps tombstones and the fact
    /// of the erasure, as the SQLite store does; the writer vacuums the tables after the commit.
    func erase(customerID: String, tombstoneHash: (Subject) -> [UInt8]) throws(StoreError) -> ErasureCounts {
        erased = true
        try lock("customer:" + customerID)
        var addresses: [Address] = []
        if let profile = try storedProfile(customerID) {
            if let email = profile.email { addresses.append(.email(email)) }
            if let phone = profile.phone { addresses.append(.phone(phone)) }
        }
        let values = addresses.map(\.value)
        try run("""
            DELETE FROM history WHERE (record_kind = 'case' AND record_id IN (SELECT case_id FROM cases WHERE customer_id = $1))
            OR (record_kind = 'suppression' AND record_id IN (SELECT id FROM suppressions WHERE customer_id = $1 OR address = ANY($2::text[])))
            OR customer_id = $1 OR address = ANY($2::text[])
            """, [customerID, Self.textArray(values)])
        var removed = ErasureCounts()
        removed.profile = try run("DELETE FROM profiles WHERE customer_id = $1", [customerID]).changed
        removed.cases = try run("DELETE FROM cases WHERE customer_id = $1", [customerID]).changed
        removed.suppressions = try run("DELETE FROM suppressions WHERE customer_id = $1 OR address = ANY($2::text[])",
                                       [customerID, Self.textArray(values)]).changed
        removed.contacts = try run("DELETE FROM contacts WHERE customer_id = $1", [customerID]).changed
        removed.interactions = try run("DELETE FROM interactions WHERE customer_id = $1", [customerID]).changed
        let hashes = [tombstoneHash(.customer(customerID))] + addresses.map { tombstoneHash(.address($0)) }
        var newlyErased = false
        for (index, hash) in hashes.enumerated() {
            let inserted = try run("INSERT INTO tombstones (hash) VALUES (decode($1, 'hex')) ON CONFLICT DO NOTHING", [Hex.encode(hash)]).changed
            if index == 0, inserted > 0 { newlyErased = true }
        }
        removed.addresses = addresses
        guard newlyErased || !removed.isEmpty else { return removed }
        try run("""
            INSERT INTO history (record_kind, record_id, customer_id, address, at, actor, via, operation, before, after)
            VALUES ('erasure', $1, NULL, NULL, $2, $3, $4, 'erase', NULL, NULL)
            """, [Hex.encode(hashes[0]), Self.millis(clock()), actor.name, actor.via.rawValue])
        return removed
    }

    func recordLogErasure(_ subjects: [String]) throws(StoreError) {
        guard !subjects.isEmpty else { return }
        try run("INSERT INTO log_erasures (subjects, at) VALUES ($1, $2)", [subjects.joined(separator: ","), Self.millis(clock())])
    }

    /// A text[] literal of `values`, each quoted.
    private static func textArray(_ values: [String]) -> String {
        "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            .joined(separator: ",") + "}"
    }

    // MARK: Retention

    /// One prune on the primary, at most `limit` rows of each kind, as the SQLite store prunes
    /// (`SQLiteTransaction.prune`): contacts and interactions older than `lookback`, suppressions
    /// that expired and holds that ended more than `expiredAfter` before `now`, those two deleted
    /// as the API deletes them (the history records it). Nodes pruning at once remove each row once.
    func prune(now: Date, lookback: TimeInterval, expiredAfter: TimeInterval, limit: Int) throws(StoreError) -> PruneCounts {
        var removed = PruneCounts()
        let window = Self.millis(now.addingTimeInterval(-lookback)), most = String(limit)
        removed.contacts = try run("DELETE FROM contacts WHERE id IN (SELECT id FROM contacts WHERE at <= $1 LIMIT $2)", [window, most]).changed
        removed.interactions = try run("DELETE FROM interactions WHERE id IN (SELECT id FROM interactions WHERE at <= $1 LIMIT $2)", [window, most]).changed
        let expired = Self.millis(now.addingTimeInterval(-expiredAfter))
        for row in try rows("SELECT id FROM suppressions WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2", [expired, most]) {
            if let id = row.text(0), try deleteSuppression(id) { removed.suppressions += 1 }
        }
        for row in try rows("SELECT id FROM holds WHERE ends_at IS NOT NULL AND ends_at <= $1 ORDER BY ends_at LIMIT $2", [expired, most]) {
            if let id = row.text(0), try deleteHold(id) { removed.holds += 1 }
        }
        return removed
    }

    // MARK: History

    private func recordChange(before: HistoryRecord?, after: HistoryRecord?) throws(StoreError) {
        guard let change = HistoryChange(before: before, after: after, render: renderHistory) else { return }
        try run("""
            INSERT INTO history (record_kind, record_id, customer_id, address, at, actor, via, operation, before, after)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """, [change.kind.rawValue, change.recordID, change.customerID, change.address, Self.millis(clock()), actor.name,
                  actor.via.rawValue, change.operation.rawValue, change.before, change.after])
    }
}

extension PGError {
    /// A conflict between transactions (serialization failure, deadlock): the job may run again.
    public var isTransient: Bool { sqlState == "40001" || sqlState == "40P01" }
}
