import Foundation
import HushCore

/// Holds, contacts and interactions, reservations, erasure, and the per-customer records the
/// writer rebuilds from the tables after every job.
extension SQLiteTransaction {
    // MARK: Holds

    public func createHold(_ hold: Hold, now: Date, limit: Int) throws(StoreError) -> HoldWrite {
        if let current = try readHold(hold.id) { return .exists(current: current) }
        var count = 0
        try sql.countHolds.queryFirst([]) { row in count = Int(row.integer(0) ?? 0) }
        guard count < limit else { return .full(limit: limit) }
        try sql.insertHold.run([.text(hold.id), .text(hold.title), .text(hold.reason), Codec.list(hold.regions),
                              Codec.list(hold.channels?.map(\.rawValue)), Codec.list(hold.purposes?.map(\.rawValue)),
                              Codec.list(hold.categories), .integer(Codec.millis(hold.startsAt)),
                              .optional(hold.endsAt.map(Codec.millis)), .integer(Codec.millis(now))])
        holdsChanged = true
        try recordChange(before: nil, after: .hold(hold))
        return .created
    }

    public func readHold(_ id: String) throws(StoreError) -> Hold? {
        var result: Hold?
        try sql.selectHold.query([.text(id)]) { row in result = StoreRows.hold(row) }
        return result
    }

    /// Replaces every field of the stored hold with `hold.id`; false when there is none.
    public func updateHold(_ hold: Hold, now: Date) throws(StoreError) -> Bool {
        guard let before = try readHold(hold.id) else { return false }
        let updated = try sql.updateHold.run([.text(hold.id), .text(hold.title), .text(hold.reason), Codec.list(hold.regions),
                                            Codec.list(hold.channels?.map(\.rawValue)), Codec.list(hold.purposes?.map(\.rawValue)),
                                            Codec.list(hold.categories), .integer(Codec.millis(hold.startsAt)),
                                            .optional(hold.endsAt.map(Codec.millis)), .integer(Codec.millis(now))]) > 0
        guard updated else { return false }
        holdsChanged = true
        try recordChange(before: .hold(before), after: .hold(hold))
        return true
    }

    public func deleteHold(_ id: String) throws(StoreError) -> Bool {
        guard let before = try readHold(id), try sql.deleteHold.run([.text(id)]) > 0 else { return false }
        holdsChanged = true
        try recordChange(before: .hold(before), after: nil)
        return true
    }

    func loadTombstones() throws(StoreError) {
        var all: [[UInt8]] = []
        try database.prepare("SELECT hash FROM tombstones").query([]) { row in all.append(row.blob(0)) }
        tombstones.insert(all)
    }

    func reloadHolds() {
        var holds: [Hold] = []
        do {
            try sql.allHolds.query([]) { row in holds.append(StoreRows.hold(row)) }
            holdCache.replace(holds)
        } catch {
            // The cache keeps its last good state; the next hold write retries.
        }
        holdsChanged = false
    }


    // MARK: Contacts and interactions

    public func recordContact(customerID: String, _ contact: Contact, campaignID: String?) throws(StoreError) {
        try sql.insertContact.run([.text(customerID), .text(contact.channel.rawValue), .text(contact.purpose.rawValue),
                                 .integer(Codec.millis(contact.at)), .optional(campaignID)])
        touched.insert(customerID)
    }

    public func recordInteraction(customerID: String, _ interaction: Interaction) throws(StoreError) {
        try sql.insertInteraction.run([.text(customerID), .text(interaction.type), .integer(Int64(interaction.score)),
                                     .integer(Codec.millis(interaction.at))])
        touched.insert(customerID)
    }

    public func reserve(_ request: DecisionRequest, now: Date, lookback: TimeInterval, campaignID: String?,
                        tombstoneHash: (Subject) -> [UInt8], decide: (borrowing Facts) -> Decision) throws(StoreError) -> (decision: Decision, reserved: Bool) {
        let at = request.at ?? now
        let facts = try reader.gather(customerID: request.customerID, address: request.address, channel: request.channel, at: at,
                                      lookback: lookback, holds: holdCache.current, tombstoneHash: tombstoneHash)
        let decision = decide(facts)
        guard decision.allowed, let customerID = request.customerID else { return (decision, false) }
        try recordContact(customerID: customerID, Contact(channel: request.channel, purpose: request.purpose, at: at), campaignID: campaignID)
        return (decision, true)
    }

    /// Deletes contacts and interactions at or before `cutoff` (older than the longest window).
    public func prune(before cutoff: Date) throws(StoreError) -> (contacts: Int, interactions: Int) {
        (try sql.pruneContacts.run([.integer(Codec.millis(cutoff))]), try sql.pruneInteractions.run([.integer(Codec.millis(cutoff))]))
    }

    // MARK: Erasure

    /// GDPR erasure: deletes every row about the customer (profile, cases, suppressions by id and
    /// by the profile's addresses, contacts, interactions) and writes tombstones for the id and
    /// each address, in this one transaction. Idempotent: a second call removes nothing.
    public func erase(customerID: String, tombstoneHash: (Subject) -> [UInt8]) throws(StoreError) -> ErasureCounts {
        erased = true
        var addresses: [Address] = []
        try sql.profileAddresses.query([.text(customerID)]) { row in
            if let email = row.text(0) { addresses.append(.email(email)) }
            if let phone = row.text(1) { addresses.append(.phone(phone)) }
        }
        // The history of every record about the customer goes too, found before the records go.
        var records: [(kind: String, id: String)] = []
        try sql.customerRecordIDs.query([.text(customerID), .optional(addresses.first?.value), .optional(addresses.dropFirst().first?.value)]) { row in
            if let kind = row.text(0), let id = row.text(1) { records.append((kind, id)) }
        }
        for record in records { try sql.deleteRecordHistory.run([.text(record.kind), .text(record.id)]) }
        try sql.deleteCustomerHistory.run([.text(customerID)])
        for address in addresses { try sql.deleteAddressHistory.run([.text(address.value)]) }
        var removed = ErasureCounts()
        removed.profile = try sql.deleteProfile.run([.text(customerID)])
        removed.cases = try sql.deleteCases.run([.text(customerID)])
        removed.suppressions = try sql.deleteCustomerSuppressions.run([.text(customerID)])
        for address in addresses { removed.suppressions += try sql.deleteAddressSuppressions.run([.text(address.value)]) }
        removed.contacts = try sql.deleteContacts.run([.text(customerID)])
        removed.interactions = try sql.deleteInteractions.run([.text(customerID)])
        touched.insert(customerID)
        for address in addresses { try touch(.address(address)) }
        let hashes = [tombstoneHash(.customer(customerID))] + addresses.map { tombstoneHash(.address($0)) }
        var newlyErased = false
        for hash in hashes where try sql.insertTombstone.run([.blob(hash)]) > 0 { newlyErased = newlyErased || hash == hashes[0] }
        pendingTombstones += hashes
        // What stays: that the id was erased, when and by whom, under its tombstone hash (once:
        // a repeated erasure that finds the tombstone and removes nothing records nothing).
        removed.addresses = addresses
        guard newlyErased || !removed.isEmpty else { return removed }
        guard let actor else { throw StoreError(kind: .internalError, message: "an erasure was made outside a write with an actor") }
        try sql.insertHistory.run([.text(HistoryEntry.Kind.erasure.rawValue), .text(Hex.encode(hashes[0])), .null, .null,
                                   .integer(Codec.millis(clock())), .text(actor.name), .text(actor.via.rawValue),
                                   .text(HistoryEntry.Operation.erase.rawValue), .null, .null])
        return removed
    }

    // MARK: Facts records

    /// Rebuilds the record of every customer the running job touched, from the source tables:
    /// the newest contacts and interactions within `recordLookback` (and any dated later),
    /// the profile, cases, and suppressions by id and by both of the profile's addresses.
    /// A customer with no facts left has no record.
    func rebuildTouched(now: Date) throws(StoreError) {
        defer { touched.removeAll() }
        // In the order of the records' keys (a keyed hash of the id): a rebuild of many records,
        // after a load or a lookback change, appends to customer_records' B-tree instead of
        // dirtying pages all over it, which spilled from the cache and were written again and again.
        for (_, customerID) in touched.map({ (reader.recordKey($0), $0) }).sorted(by: { $0 < $1 }) {
            var facts = try reader.gather(customerID: customerID, address: nil, channel: .email, at: now, lookback: recordLookback,
                                          holds: [], tombstoneHash: { _ in [] }, through: .distantFuture, allAddresses: true)
            if facts.profile == nil, facts.cases.isEmpty, facts.suppressions.isEmpty, facts.contacts.isEmpty, facts.interactions.isEmpty {
                try putRecord(nil, of: customerID)
                continue
            }
            facts.contacts = Array(facts.contacts.sorted { $0.at > $1.at }.prefix(Self.recordEntryLimit))
            facts.interactions = Array(facts.interactions.sorted { $0.at > $1.at }.prefix(Self.recordEntryLimit))
            var erasure: FactsRecord.Erasure = []
            if isTombstoned(.customer(customerID)) { erasure.insert(.customer) }
            if let email = facts.profile?.email, isTombstoned(.address(.email(email))) { erasure.insert(.email) }
            if let phone = facts.profile?.phone, isTombstoned(.address(.phone(phone))) { erasure.insert(.phone) }
            try putRecord(FactsRecord.encode(facts, erasure: erasure), of: customerID)
        }
    }

    // MARK: Imports

    /// Runs `body`, an import, with a way to keep the records it makes: in a scratch file beside
    /// the database (written and read back by threads of its own, beside the writer's work),
    /// written when `body` ends in the order of their keys, each page of `customer_records`
    /// once (in customer order, or batch by batch, they would land all over its B-tree, which
    /// past the page cache rereads and rewrites pages).
    func makingRecords<T>(_ body: (_ keep: (String, [UInt8]) throws(StoreError) -> Void) throws(StoreError) -> T) throws(StoreError) -> T {
        let kept = try ScratchTable<KeptRecord>(path: ImportStageFiles.newPath(beside: database.path),
                                                create: "CREATE TABLE kept (key INTEGER NOT NULL, customer_id TEXT NOT NULL, record BLOB NOT NULL)",
                                                insert: "INSERT INTO kept (key, customer_id, record) VALUES (?1, ?2, ?3)",
                                                values: { [.integer($0.key), .text($0.customerID), .blob($0.record)] })
        defer { kept.remove() }
        let result = try body { customerID, record throws(StoreError) in
            try kept.append(KeptRecord(key: reader.recordKey(customerID), customerID: customerID, record: record))
        }
        try kept.close()
        try kept.forEach("SELECT key, customer_id, record FROM kept ORDER BY key, customer_id",
                         decode: { row in KeptRecord(key: row.integer(0) ?? 0, customerID: row.text(1) ?? "", record: row.blob(2)) }) { kept throws(StoreError) in
            // A key no stored row has (most, in an import of new customers) takes the record as
            // its row, without a lookup first; one that has a row shares it.
            if let entries = RecordRow.replacing(nil, customerID: kept.customerID, record: kept.record),
               try sql.insertRecord.run([.integer(kept.key), .blob(entries)]) == 1 {
                return
            }
            try putRecord(kept.record, of: kept.customerID)
        }
        return result
    }

    /// Suppressions in bulk, row by row (`StoreTransaction.importSuppressions`). The rows come in
    /// subject order, so a customer's rows are together: a customer with no record, not touched
    /// earlier in the job, had no facts at all, and its record is then its imported
    /// suppressions alone, made when its rows end without gathering it from six tables.
    public func importSuppressions(_ rows: ImportRows<Suppression>, now: Date) throws(StoreError) -> (imported: Int, unchanged: Int) {
        try makingRecords { keep throws(StoreError) in
            var imported = 0, unchanged = 0
            /// The customer whose rows are being read; `fresh` when its record is made here.
            var group: (customerID: String, fresh: Bool, stored: [Suppression])?
            func endGroup() throws(StoreError) {
                defer { group = nil }
                guard let (customerID, fresh, stored) = group, fresh else { return }
                touched.remove(customerID)
                let erasure: FactsRecord.Erasure = isTombstoned(.customer(customerID)) ? [.customer] : []
                try keep(customerID, FactsRecord.encode(Facts(suppressions: stored), erasure: erasure))
            }
            try rows.forEach { row throws(StoreError) in
                if case .customer(let id) = row.subject {
                    if group?.customerID != id {
                        try endGroup()
                        let fresh = touched.contains(id) ? false : try !hasRecord(id)
                        group = (id, fresh, [])
                    }
                } else {
                    try endGroup()
                }
                // A customer whose record is made here is not touched (to be rebuilt from the tables).
                let (stored, created) = try addSuppression(row, now: now, touching: group?.fresh != true)
                var kept = stored
                if created {
                    imported += 1
                } else if stored.source == row.source, stored.confirmed == row.confirmed,
                          stored.expiresAt.map(Codec.millis) == row.expiresAt.map(Codec.millis) {
                    unchanged += 1
                } else {
                    var updated = row
                    updated.id = stored.id
                    _ = try updateSuppression(updated)
                    kept = updated
                    imported += 1
                }
                if group?.fresh == true {
                    // In the order the table keeps them (an update stays where it was), as a gather reads them.
                    if let at = group!.stored.firstIndex(where: { $0.id == kept.id }) { group!.stored[at] = kept } else { group!.stored.append(kept) }
                }
                try settleTouched()
            }
            try endGroup()
            return (imported, unchanged)
        }
    }

    /// Profiles in bulk (`StoreTransaction.importProfiles`). A customer with no record, not
    /// touched earlier in the job, had no facts at all: its record is then the profile and the
    /// suppressions of its addresses, made without gathering the other four tables.
    public func importProfiles(_ rows: ImportRows<Profile>, now: Date) throws(StoreError) -> (imported: Int, unchanged: Int) {
        try makingRecords { keep throws(StoreError) in
            var imported = 0, unchanged = 0
            try rows.forEach { row throws(StoreError) in
                let stored = try readProfile(row.customerID)
                if stored == row {
                    unchanged += 1
                    return
                }
                let fresh = stored == nil && !touched.contains(row.customerID) ? try !hasRecord(row.customerID) : false
                try upsertProfile(row, now: now, before: stored)
                imported += 1
                if fresh {
                    touched.remove(row.customerID)
                    var facts = Facts(profile: row)
                    var erasure: FactsRecord.Erasure = isTombstoned(.customer(row.customerID)) ? [.customer] : []
                    if let email = row.email {
                        try reader.addSuppressions(of: .email(email), to: &facts)
                        if isTombstoned(.address(.email(email))) { erasure.insert(.email) }
                    }
                    if let phone = row.phone {
                        try reader.addSuppressions(of: .phone(phone), to: &facts)
                        if isTombstoned(.address(.phone(phone))) { erasure.insert(.phone) }
                    }
                    try keep(row.customerID, FactsRecord.encode(facts, erasure: erasure))
                }
                try settleTouched()
            }
            return (imported, unchanged)
        }
    }

    /// Whether `customerID` has a record (in its row of `customer_records`).
    func hasRecord(_ customerID: String) throws(StoreError) -> Bool {
        var found = false
        try sql.selectRecord.queryFirst([.integer(reader.recordKey(customerID))]) { row in
            row.withBlob(0) { if case .absent = RecordRow.find($0, customerID: customerID) {} else { found = true } }
        }
        return found
    }

    public func settleTouched() throws(StoreError) {
        if touched.count >= touchedLimit { try rebuildTouched(now: clock()) }
    }

    /// Sets (or with nil removes) the record of `customerID` in its row of `customer_records`,
    /// keeping the entries of other ids that share the row. A row that does not parse loses
    /// them: every record is then rebuilt at the next start.
    func putRecord(_ record: [UInt8]?, of customerID: String) throws(StoreError) {
        let key = reader.recordKey(customerID)
        var row: [UInt8]?
        try sql.selectRecord.queryFirst([.integer(key)]) { row = $0.blob(0) }
        if let row, RecordRow.entries(row) == nil { try database.exec("DELETE FROM meta WHERE key = '\(Self.recordsBuiltFor)'") }
        if let updated = RecordRow.replacing(row, customerID: customerID, record: record) {
            try sql.upsertRecord.run([.integer(key), .blob(updated)])
        } else if row != nil {
            try sql.deleteRecord.run([.integer(key)])
        }
    }

    /// Committed tombstones, and those written earlier in this transaction.
    func isTombstoned(_ subject: Subject) -> Bool {
        // With none, no hash to compute (an HMAC for each record an import makes).
        if tombstones.isEmpty && pendingTombstones.isEmpty { return false }
        let hash = tombstoneHash(subject)
        return tombstones.contains(hash) || pendingTombstones.contains(hash)
    }

    /// The meta key that holds what the records were built for: the lookback in milliseconds
    /// times 256, plus `FactsRecord.version`.
    static let recordsBuiltFor = "records_built_for"

    /// Rebuilds every record when they were built for another lookback or record version (or
    /// never): at the first start after the migration, and after the policy's longest window
    /// changed.
    func rebuildAllRecordsIfNeeded(now: Date) throws(StoreError) {
        let wanted = Int64(recordLookback * 1000) * 256 + Int64(FactsRecord.version)
        var built: Int64?
        try database.prepare("SELECT value FROM meta WHERE key = '\(Self.recordsBuiltFor)'").query([]) { built = $0.integer(0) }
        guard built != wanted else { return }
        try database.exec("BEGIN IMMEDIATE")
        do {
            try database.exec("DELETE FROM customer_records")
            try touchEveryCustomer()
            try rebuildTouched(now: now)
            try database.prepare("INSERT INTO meta (key, value) VALUES ('\(Self.recordsBuiltFor)', ?1) ON CONFLICT (key) DO UPDATE SET value = ?1")
                .run([.integer(wanted)])
            try database.exec("COMMIT")
        } catch {
            try? database.exec("ROLLBACK")
            touched.removeAll()
            throw error
        }
    }

}

/// A record an import made, kept until the import's rows end (`makingRecords`).
struct KeptRecord: Sendable {
    var key: Int64
    var customerID: String
    var record: [UInt8]
}

extension ServiceCase {
    /// The case as the store keeps it: times to the millisecond.
    var normalised: ServiceCase {
        var copy = self
        copy.openedAt = Codec.date(Codec.millis(openedAt))
        copy.closedAt = closedAt.map { Codec.date(Codec.millis($0)) }
        copy.updatedAt = Codec.date(Codec.millis(updatedAt))
        return copy
    }
}

extension Suppression {
    /// The scope rules of HushCore, as a store error (400 at the API, which validates first).
    func validateForStore() throws(StoreError) {
        do { try validate() } catch {
            throw StoreError(kind: .conflict, message: "\(error.field) \(error.message)")
        }
    }
}
