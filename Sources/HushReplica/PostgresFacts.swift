import Foundation
import HushCore
import HushPostgres
import HushStore

/// The facts a decision needs, read straight from PostgreSQL: what a node reads from its image,
/// here from the primary's tables, each a statement. `reserve` decides on these, inside its
/// transaction under the customer's lock; the benchmarks compare them with an image's read.
public struct PostgresFacts {
    /// A failure: as the store reports it, and PostgreSQL's own error when one caused it.
    public struct Failure: Error {
        public let store: StoreError
        public let cause: PGError?
    }

    let db: PGConnection

    public init(db: PGConnection) { self.db = db }

    static let profileColumns = "region, timezone, email, phone"
    /// `StoreRows.suppressionColumns`, with the boolean as 0 or 1.
    static let suppressionColumns = StoreRows.suppressionColumns.replacingOccurrences(of: "confirmed", with: "confirmed::int")

    static func profile(_ customerID: String, _ row: TextRow) -> Profile {
        Profile(customerID: customerID, region: row.text(0), timeZone: row.text(1).flatMap(TimeZone.init(identifier:)),
                email: row.text(2), phone: row.text(3))
    }

    private func rows(_ sql: String, _ parameters: [String?]) throws(Failure) -> [TextRow] {
        do { return try db.query(sql, parameters, prepared: true).rows.map(TextRow.init) } catch {
            throw Failure(store: PGTransaction.storeError(error), cause: error)
        }
    }

    private func suppression(_ row: TextRow) throws(Failure) -> Suppression {
        do { return try StoreRows.suppression(row) } catch { throw Failure(store: error, cause: nil) }
    }

    /// The facts about `customerID` and/or `address` for a decision on `channel` at `at`: the
    /// profile, cases, suppressions (by id, by the request's address and by the profile's address
    /// for the channel), contacts and interactions in `(at − lookback, at]`, tombstones, holds.
    public func facts(customerID: String?, address: Address?, channel: Channel, at: Date, lookback: TimeInterval,
                      tombstoneHash: (Subject) -> [UInt8]) throws(Failure) -> Facts {
        var facts = Facts(holds: try rows("SELECT \(StoreRows.holdColumns) FROM holds ORDER BY id", []).map(StoreRows.hold))
        var hashes: [(Subject, [UInt8])] = []
        if let customerID {
            facts.profile = try rows("SELECT \(Self.profileColumns) FROM profiles WHERE customer_id = $1", [customerID]).first.map { Self.profile(customerID, $0) }
            for row in try rows("SELECT \(StoreRows.caseColumns) FROM cases WHERE customer_id = $1", [customerID]) {
                guard let found = StoreRows.serviceCase(row) else {
                    throw Failure(store: StoreError(kind: .internalError, message: "a case row holds an unknown severity or status"), cause: nil)
                }
                facts.cases.append(found)
            }
            for row in try rows("SELECT \(Self.suppressionColumns) FROM suppressions WHERE customer_id = $1", [customerID]) {
                facts.suppressions.append(try suppression(row))
            }
            let window = [customerID, String(Codec.millis(at.addingTimeInterval(-lookback))), String(Codec.millis(at))]
            for row in try rows("SELECT channel, purpose, at FROM contacts WHERE customer_id = $1 AND at > $2 AND at <= $3", window) {
                facts.contacts.append(Contact(channel: Channel(row.text(0) ?? ""), purpose: Purpose(row.text(1) ?? ""), at: Codec.date(row.integer(2) ?? 0)))
            }
            for row in try rows("SELECT type, score, at FROM interactions WHERE customer_id = $1 AND at > $2 AND at <= $3", window) {
                facts.interactions.append(Interaction(type: row.text(0) ?? "", score: Int(row.integer(1) ?? 0), at: Codec.date(row.integer(2) ?? 0)))
            }
            hashes.append((.customer(customerID), tombstoneHash(.customer(customerID))))
        }
        var addresses: [Address] = []
        if let address { addresses.append(address) }
        if let own = facts.profile?.address(for: channel), !addresses.contains(own) { addresses.append(own) }
        for candidate in addresses {
            for row in try rows("SELECT \(Self.suppressionColumns) FROM suppressions WHERE address = $1", [candidate.value]) {
                let found = try suppression(row)
                if !facts.suppressions.contains(where: { $0.id == found.id }) { facts.suppressions.append(found) }
            }
            hashes.append((.address(candidate), tombstoneHash(.address(candidate))))
        }
        if !hashes.isEmpty {
            let list = "{" + hashes.map { "\"\\\\x" + Hex.encode($0.1) + "\"" }.joined(separator: ",") + "}"
            let erased = Set(try rows("SELECT encode(hash, 'hex') FROM tombstones WHERE hash = ANY($1::bytea[])", [list]).compactMap { $0.text(0) })
            for (subject, hash) in hashes where erased.contains(Hex.encode(hash)) {
                switch subject {
                case .customer: facts.customerErased = true
                case .address(let address): facts.erasedAddresses.insert(address)
                }
            }
        }
        return facts
    }
}
