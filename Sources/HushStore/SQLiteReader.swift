import Foundation
import HushCore

/// Gathers the facts for one decision: a handful of indexed lookups in one read transaction,
/// on a connection owned by the calling thread (an event loop, or the writer for `reserve`).
/// Not Sendable: make one per thread.
public final class SQLiteReader: StoreReader {
    let database: Database
    private let begin, commit, profile, cases, suppressionsByCustomer, suppressionsByAddress, contacts, interactions, record: Statement
    private let pageAll, pageByCustomer, pageByAddress, caseByID, suppressionByID: Statement
    private let recordHistory, customerHistory, erasureEntry: Statement
    private let tombstones: TombstoneSet
    /// Used by one thread only (see above): no per-access exclusivity check.
    @exclusivity(unchecked) private var zones = ZoneTable()
    /// Where records are found in `customer_records`.
    let recordKey: RecordKey
    /// Where gathering starts: copying it costs less than building an empty `Facts`.
    private static let noFacts = Facts()
    /// The writer's commit count; nil for the writer's own reader, which reads inside its
    /// transaction and never opens one.
    private let commits: CommitCounter?
    /// The open read snapshot: the commit count when it began, and lookups made in it.
    private var snapshot: (commits: UInt64, lookups: Int)?
    /// Most lookups in one snapshot, so that a caller that never ends one still lets the WAL
    /// be checkpointed.
    public static let snapshotLimit = 1024

    init(database: Database, tombstones: TombstoneSet, commits: CommitCounter? = nil, recordKeyBits: Int) throws(StoreError) {
        self.database = database
        recordKey = try Self.recordKey(database, bits: recordKeyBits)
        self.tombstones = tombstones
        self.commits = commits
        begin = try database.prepare("BEGIN")
        commit = try database.prepare("COMMIT")
        profile = try database.prepare("SELECT region, timezone, email, phone FROM profiles WHERE customer_id = ?1")
        cases = try database.prepare("SELECT \(StoreRows.caseColumns) FROM cases WHERE customer_id = ?1")
        let suppressionColumns = StoreRows.suppressionColumns
        suppressionsByCustomer = try database.prepare("SELECT \(suppressionColumns) FROM suppressions WHERE customer_id = ?1")
        suppressionsByAddress = try database.prepare("SELECT \(suppressionColumns) FROM suppressions WHERE address = ?1")
        contacts = try database.prepare("SELECT channel, purpose, at FROM contacts WHERE customer_id = ?1 AND at > ?2 AND at <= ?3")
        interactions = try database.prepare("SELECT type, score, at FROM interactions WHERE customer_id = ?1 AND at > ?2 AND at <= ?3")
        record = try database.prepare("SELECT entries FROM customer_records WHERE key = ?1")
        caseByID = try database.prepare("SELECT \(StoreRows.caseColumns) FROM cases WHERE case_id = ?1")
        suppressionByID = try database.prepare("SELECT \(suppressionColumns) FROM suppressions WHERE id = ?1")
        pageAll = try database.prepare("SELECT \(suppressionColumns) FROM suppressions WHERE id > ?1 ORDER BY id LIMIT ?2")
        pageByCustomer = try database.prepare("""
            SELECT \(suppressionColumns) FROM suppressions WHERE customer_id = ?3 AND id > ?1 ORDER BY id LIMIT ?2
            """)
        pageByAddress = try database.prepare("SELECT \(suppressionColumns) FROM suppressions WHERE address = ?3 AND id > ?1 ORDER BY id LIMIT ?2")
        recordHistory = try database.prepare("""
            SELECT \(StoreRows.historyColumns) FROM history WHERE record_kind = ?1 AND record_id = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4
            """)
        customerHistory = try database.prepare("""
            SELECT \(StoreRows.historyColumns) FROM history WHERE customer_id = ?1
            UNION SELECT \(StoreRows.historyColumns) FROM history WHERE address IN (?2, ?3)
            ORDER BY seq DESC LIMIT ?4
            """)
        erasureEntry = try database.prepare("""
            SELECT \(StoreRows.historyColumns) FROM history WHERE record_kind = 'erasure' AND record_id = ?1 ORDER BY seq DESC LIMIT 1
            """)
    }

    /// The database's record key, made by the migration that made `customer_records`.
    private static func recordKey(_ database: Database, bits: Int) throws(StoreError) -> RecordKey {
        var halves: [String: Int64] = [:]
        try database.prepare("SELECT key, value FROM meta WHERE key IN ('record_key_0', 'record_key_1')").query([]) { row in
            if let name = row.text(0), let value = row.integer(1) { halves[name] = value }
        }
        guard let k0 = halves["record_key_0"], let k1 = halves["record_key_1"] else {
            throw StoreError(kind: .unavailable, message: "database \(database.path) has no record key (meta record_key_0 and record_key_1)")
        }
        return RecordKey(k0: UInt64(bitPattern: k0), k1: UInt64(bitPattern: k1), bits: bits)
    }

    /// `StoreReader.withFacts`: lent to `body` rather than returned, so that a decision copies
    /// no `Facts` (a copy retains and releases every list and string in it).
    public func withFacts<Result>(customerID: String?, address: Address?, channel: Channel, at: Date, lookback: TimeInterval,
                                  holds: [Hold], tombstoneHash: (Subject) -> [UInt8],
                                  _ body: (borrowing Facts) -> Result) throws(StoreError) -> Result {
        var facts = Self.noFacts
        try gather(into: &facts, customerID: customerID, address: address, channel: channel, at: at, lookback: lookback,
                   holds: holds, tombstoneHash: tombstoneHash)
        return body(facts)
    }

    /// Gathers into `facts`, which is empty: the customer's record, else the source tables.
    private func gather(into facts: inout Facts, customerID: String?, address: Address?, channel: Channel, at: Date, lookback: TimeInterval,
                        holds: [Hold], tombstoneHash: (Subject) -> [UInt8]) throws(StoreError) {
        try enterSnapshot()
        // One lookup: the customer's record (FactsRecord), which already holds the suppressions
        // of the profile's addresses; a second only for an address the request names itself.
        if let customerID {
            // The record is decoded into `facts` passed through, not captured: a captured `Facts`
            // would be copied out of its box at the end.
            var present = false, decoded = false
            try record.first(integer: recordKey(customerID), state: &facts) { row, facts in
                row.withBlob(0) { entries in
                    switch RecordRow.find(entries, customerID: customerID) {
                    case .found(let bytes):
                        present = true
                        decoded = FactsRecord.decode(bytes, customerID: customerID, zone: zone, into: &facts)
                    case .malformed: present = true
                    case .absent: break
                    }
                }
            }
            if present, !decoded {
                // A record this version cannot read: answer from the source tables instead.
                facts = try gatherInTransaction(customerID: customerID, address: address, channel: channel, at: at, lookback: lookback,
                                                holds: holds, tombstoneHash: tombstoneHash)
                return
            }
            // No record means no facts at all: the writer deletes records that would be empty.
        }
        facts.holds = holds
        let known = facts.isKnown
        if let address, address != facts.profile?.address(for: channel) {
            try addSuppressions(of: address, to: &facts)
            if !tombstones.isEmpty, tombstones.contains(tombstoneHash(.address(address))) { facts.erasedAddresses.insert(address) }
        }
        // A record carries the erasure state of the id and the profile's addresses (the writer
        // rebuilds it after every erasure); without one, the id is hashed and checked here.
        if let customerID, !known, !tombstones.isEmpty {
            facts.customerErased = tombstones.contains(tombstoneHash(.customer(customerID)))
        }
    }

    /// Adds the suppressions of `address` that `facts` does not hold yet. A function of its own
    /// so that no closure in `facts(…)` captures its `Facts` (which would then be boxed and copied).
    func addSuppressions(of address: Address, to facts: inout Facts) throws(StoreError) {
        try suppressionsByAddress.query([.text(address.value)]) { row throws(StoreError) in
            let found = try StoreRows.suppression(row)
            if !facts.suppressions.contains(where: { $0.id == found.id }) { facts.suppressions.append(found) }
        }
    }

    /// The facts from the source tables, in one read transaction: the fallback for a record that
    /// does not decode, and what the writer rebuilds records from.
    func gatherInTransaction(customerID: String?, address: Address?, channel: Channel, at: Date, lookback: TimeInterval,
                             holds: [Hold], tombstoneHash: (Subject) -> [UInt8]) throws(StoreError) -> Facts {
        if snapshot != nil {
            return try gather(customerID: customerID, address: address, channel: channel, at: at, lookback: lookback,
                              holds: holds, tombstoneHash: tombstoneHash)
        }
        try begin.run([])
        do {
            let result = try gather(customerID: customerID, address: address, channel: channel, at: at, lookback: lookback,
                                    holds: holds, tombstoneHash: tombstoneHash)
            try commit.run([])
            return result
        } catch {
            try? database.exec("ROLLBACK")
            throw error
        }
    }

    func gather(customerID: String?, address: Address?, channel: Channel, at: Date, lookback: TimeInterval,
                holds: [Hold], tombstoneHash: (Subject) -> [UInt8], through: Date? = nil,
                allAddresses: Bool = false) throws(StoreError) -> Facts {
        var facts = Facts(holds: holds)
        if let customerID {
            facts.profile = try readProfile(customerID)
            facts.cases = try readCases(customerID)
            try suppressionsByCustomer.query([.text(customerID)]) { row throws(StoreError) in facts.suppressions.append(try StoreRows.suppression(row)) }
            let window: [SQLValue] = [.text(customerID), .integer(Codec.millis(at.addingTimeInterval(-lookback))),
                                      .integer(Codec.millis(through ?? at))]
            try contacts.query(window) { row in
                facts.contacts.append(Contact(channel: Channel(row.text(0) ?? ""), purpose: Purpose(row.text(1) ?? ""), at: Codec.date(row.integer(2) ?? 0)))
            }
            try interactions.query(window) { row in
                facts.interactions.append(Interaction(type: row.text(0) ?? "", score: Int(row.integer(1) ?? 0), at: Codec.date(row.integer(2) ?? 0)))
            }
            facts.customerErased = tombstones.contains(tombstoneHash(.customer(customerID)))
        }
        var addresses: [Address] = []
        if let address { addresses.append(address) }
        if allAddresses {
            if let email = facts.profile?.email { addresses.append(.email(email)) }
            if let phone = facts.profile?.phone { addresses.append(.phone(phone)) }
        } else if let own = facts.profile?.address(for: channel), !addresses.contains(own) {
            addresses.append(own)
        }
        for candidate in addresses {
            try suppressionsByAddress.query([.text(candidate.value)]) { row throws(StoreError) in
                let found = try StoreRows.suppression(row)
                if !facts.suppressions.contains(where: { $0.id == found.id }) { facts.suppressions.append(found) }
            }
            if tombstones.contains(tombstoneHash(.address(candidate))) { facts.erasedAddresses.insert(candidate) }
        }
        return facts
    }

    /// One indexed lookup of a customer's record, in the same snapshot regime as `facts`: the
    /// bare SQLite rate a benchmark compares decisions with. True when the record exists.
    public func pointLookup(customerID: String) throws(StoreError) -> Bool {
        try enterSnapshot()
        var found = false
        _ = try record.first(integer: recordKey(customerID), state: &found) { row, found in
            row.withBlob(0) { entries in
                if case .found = RecordRow.find(entries, customerID: customerID) { found = true }
            }
        }
        return found
    }

    /// The columns `suppression(_:)` decodes, in its order.

    public func checkReadable() throws(StoreError) {
        _ = try pointLookup(customerID: "")
    }

    /// The case with this id, if any (on this reader's connection, not the writer's).
    public func serviceCase(id: String) throws(StoreError) -> ServiceCase? {
        try enterSnapshot()
        var found: ServiceCase?
        try caseByID.queryFirst([.text(id)]) { row in found = StoreRows.serviceCase(row) }
        return found
    }

    /// The suppression with this id, if any.
    public func suppression(id: String) throws(StoreError) -> Suppression? {
        try enterSnapshot()
        var found: Suppression?
        try suppressionByID.queryFirst([.text(id)]) { row throws(StoreError) in found = try StoreRows.suppression(row) }
        return found
    }

    /// One page of suppressions in id order, after `after` (exclusive): all of them, or those of
    /// one customer id or one (normalised) address.
    public func suppressions(customerID: String?, address: String?, after: String, limit: Int) throws(StoreError) -> [Suppression] {
        try enterSnapshot()
        var page: [Suppression] = []
        var values: [SQLValue] = [.text(after), .integer(Int64(limit))]
        let statement: Statement
        if let customerID {
            statement = pageByCustomer
            values.append(.text(customerID))
        } else if let address {
            statement = pageByAddress
            values.append(.text(address))
        } else {
            statement = pageAll
        }
        try statement.query(values) { row throws(StoreError) in page.append(try StoreRows.suppression(row)) }
        return page
    }

    public func history(of kind: HistoryEntry.Kind, id: String, after: Int64, limit: Int) throws(StoreError) -> [HistoryEntry] {
        try enterSnapshot()
        var page: [HistoryEntry] = []
        try recordHistory.query([.text(kind.rawValue), .text(id), .integer(after), .integer(Int64(limit))]) { row in
            if let entry = HistoryEntry(row) { page.append(entry) }
        }
        return page
    }

    public func history(ofCustomer customerID: String, addresses: [String], limit: Int) throws(StoreError) -> [HistoryEntry] {
        try enterSnapshot()
        var newest: [HistoryEntry] = []
        try customerHistory.query([.text(customerID), .optional(addresses.first), .optional(addresses.dropFirst().first),
                                   .integer(Int64(limit))]) { row in
            if let entry = HistoryEntry(row) { newest.append(entry) }
        }
        return newest
    }

    public func erasure(tombstone: [UInt8]) throws(StoreError) -> HistoryEntry? {
        try enterSnapshot()
        var found: HistoryEntry?
        try erasureEntry.queryFirst([.text(Hex.encode(tombstone))]) { row in found = HistoryEntry(row) }
        return found
    }

    /// Ends the read snapshot, if one is open, so that the next lookup sees every commit since
    /// and the WAL can be checkpointed past it. Event loops call it at the end of each turn.
    public func endSnapshot() {
        guard snapshot != nil else { return }
        snapshot = nil
        do { try commit.run([]) } catch { try? database.exec("ROLLBACK") }
    }

    /// Opens a read snapshot, or keeps the open one unless a write committed since it began or
    /// it reached `snapshotLimit` lookups. One snapshot per turn spares each lookup the WAL
    /// read-lock system calls that an autocommit statement makes.
    private func enterSnapshot() throws(StoreError) {
        guard let commits else { return }
        let count = commits.current
        if let open = snapshot {
            if open.commits == count && open.lookups < Self.snapshotLimit {
                snapshot!.lookups += 1
                return
            }
            endSnapshot()
        }
        // The count is read before the snapshot begins: a commit in between only makes the
        // next lookup start a new snapshot needlessly, never miss a write.
        try begin.run([])
        snapshot = (count, 1)
    }

    func readProfile(_ customerID: String) throws(StoreError) -> Profile? {
        var result: Profile?
        try profile.query([.text(customerID)]) { row in
            result = Profile(customerID: customerID, region: row.text(0), timeZone: row.text(1).flatMap(zone), email: row.text(2), phone: row.text(3))
        }
        return result
    }

    private func readCases(_ customerID: String) throws(StoreError) -> [ServiceCase] {
        var result: [ServiceCase] = []
        try cases.query([.text(customerID)]) { row throws(StoreError) in
            guard let found = StoreRows.serviceCase(row) else {
                throw StoreError(kind: .internalError, message: "a case row holds an unknown severity or status")
            }
            result.append(found)
        }
        return result
    }

    /// Time zones by name, cached (`TimeZone(identifier:)` is too slow to call per decision).
    private func zone(_ name: UnsafeRawBufferPointer) -> TimeZone? { zones.zone(name) }
    private func zone(_ name: String) -> TimeZone? { zones.zone(name) }
}

