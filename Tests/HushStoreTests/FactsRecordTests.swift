import CSQLite
import Foundation
import Testing
import HushCore
@testable import HushStore

@Suite struct FactsRecordTests {
    let now = date("2026-11-24T10:00:00Z")

    func facts(_ store: SQLiteStore, _ id: String, channel: Channel = "email") throws -> Facts {
        try store.makeSQLiteReader().facts(customerID: id, address: nil, channel: channel, at: now, lookback: 7 * 86_400, holds: [], tombstoneHash: fakeHash)
    }

    @Test func aChangedEmail_DropsTheOldAddressesSuppression_AndPicksUpTheNewOnes() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.upsertProfile(Profile(customerID: "c", email: "old@example.com"), now: now)
            _ = try w.addSuppression(Suppression(id: "", subject: .address(.email("old@example.com")), kind: .optOut), now: now)
        }
        #expect(try facts(store, "c").suppressions.count == 1)
        try store.writeAndWait(as: .test) { w throws(StoreError) in try w.upsertProfile(Profile(customerID: "c", email: "new@example.com"), now: now) }
        #expect(try facts(store, "c").suppressions.isEmpty)
        // A suppression of the new address, added later, reaches the customer's record.
        _ = try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.addSuppression(Suppression(id: "", subject: .address(.email("new@example.com")), kind: .doNotContact), now: now)
        }
        #expect(try facts(store, "c").suppressions.map(\.kind) == [.doNotContact])
    }

    @Test func anErasure_MarksOtherCustomersWhoseProfileCarriesTheAddress() throws {
        let store = try SQLiteStore(path: try makeStorePath(), clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.upsertProfile(Profile(customerID: "a", email: "shared@example.com"), now: now)
            try w.upsertProfile(Profile(customerID: "b", email: "shared@example.com", phone: "+447700900999"), now: now)
        }
        #expect(try facts(store, "b").erasedAddresses.isEmpty)
        _ = try store.writeAndWait(as: .test) { w throws(StoreError) in try w.erase(customerID: "a", tombstoneHash: fakeHash) }
        let b = try facts(store, "b")
        #expect(b.erasedAddresses == [.email("shared@example.com")], "from b's rebuilt record, with no hashing at read time")
        #expect(!b.customerErased)
        #expect(try facts(store, "a").customerErased)
    }

    @Test func records_AreRebuiltWhenTheLookbackChanges() throws {
        let path = try makeStorePath()
        let short = try SQLiteStore(path: path, lookback: 86_400, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        try short.writeAndWait(as: .test) { w throws(StoreError) in
            try w.recordContact(customerID: "c", Contact(channel: "email", purpose: .marketing, at: date("2026-11-21T10:00:00Z")), campaignID: nil)
            try w.recordContact(customerID: "c", Contact(channel: "email", purpose: .marketing, at: date("2026-11-24T09:00:00Z")), campaignID: nil)
        }
        #expect(try facts(short, "c").contacts.count == 1, "a record keeps one day")
        short.close()
        let long = try SQLiteStore(path: path, lookback: 7 * 86_400, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { long.close() }
        #expect(try facts(long, "c").contacts.count == 2, "rebuilt for seven days at start")
    }

    @Test func aRecordThatDoesNotDecode_FallsBackToTheTables() throws {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            _ = try w.addSuppression(Suppression(id: "", subject: .customer("c"), kind: .objection), now: now)
        }
        // An entry for "c" whose record is not one this version reads.
        let key = try store.makeSQLiteReader().recordKey("c")
        try Database(path: path, mode: .readWrite).exec("UPDATE customer_records SET entries = x'016301FF' WHERE key = \(key)")
        #expect(try facts(store, "c").suppressions.map(\.kind) == [.objection])
    }

    @Test func lentFacts_AreTheFactsReturned() throws {
        let path = try makeStorePath()
        let store = try SQLiteStore(path: path, clock: testClock, tombstoneHash: fakeHash, renderHistory: describeRecord)
        defer { store.close() }
        try store.writeAndWait(as: .test) { w throws(StoreError) in
            try w.upsertProfile(Profile(customerID: "c-1", region: "US-CA", timeZone: TimeZone(identifier: "Europe/Berlin"),
                                        email: "jo@example.com"), now: now)
            _ = try w.addSuppression(Suppression(id: "", subject: .customer("c-1"), kind: .objection), now: now)
            try w.recordContact(customerID: "c-1", Contact(channel: "sms", purpose: .marketing, at: date("2026-11-23T10:00:00Z")), campaignID: nil)
        }
        let reader = try store.makeSQLiteReader()
        for id in ["c-1", "nobody"] {
            let returned = try reader.facts(customerID: id, address: nil, channel: "email", at: now, lookback: Policy.standard.longestWindow,
                                            holds: store.holds, tombstoneHash: fakeHash)
            let lent = try reader.withFacts(customerID: id, address: nil, channel: "email", at: now, lookback: Policy.standard.longestWindow,
                                            holds: store.holds, tombstoneHash: fakeHash) { facts in
                [facts.profile?.timeZone?.identifier ?? "-", "\(facts.suppressions.map(\.kind))", "\(facts.contacts.count)", "\(facts.isKnown)"]
            }
            #expect(lent == [returned.profile?.timeZone?.identifier ?? "-", "\(returned.suppressions.map(\.kind))",
                             "\(returned.contacts.count)", "\(returned.isKnown)"], "\(id)")
        }
        let known = try reader.withFacts(customerID: "c-1", address: nil, channel: "email", at: now, lookback: 0,
                                         holds: [], tombstoneHash: fakeHash) { $0.isKnown }
        let unknown = try reader.withFacts(customerID: "nobody", address: nil, channel: "email", at: now, lookback: 0,
                                           holds: [], tombstoneHash: fakeHash) { $0.isKnown }
        #expect(known && !unknown)
    }

    @Test func theZoneTable_FindsEveryIANAName_AndNothingElse() {
        var table = ZoneTable()
        let names = TimeZone.knownTimeZoneIdentifiers
        for round in 0..<2 {
            for name in names {
                #expect(table.zone(name)?.identifier == TimeZone(identifier: name)?.identifier, "\(name), round \(round)")
            }
        }
        #expect(table.count == names.filter { TimeZone(identifier: $0) != nil }.count, "each name kept once")
        for bogus in ["Mars/Olympus", "", "Europe/Berlin ", "europe/berlinx", "Europe/Berli"] {
            #expect(table.zone(bogus) == nil, "\(bogus)")
        }
        // Names that share a prefix or differ in one byte are told apart.
        #expect(table.zone("America/Indiana/Indianapolis")?.identifier == "America/Indiana/Indianapolis")
        #expect(table.zone("America/Indianapolis")?.identifier == TimeZone(identifier: "America/Indianapolis")?.identifier)
    }

    @Test func theZoneTable_StaysBounded_AndStillAnswersPastItsLimit() {
        var table = ZoneTable()
        // Offsets are valid zone names without end: "GMT+0100", "GMT+0101", …
        var names: [String] = []
        for sign in ["+", "-"] { for hours in 0..<10 { for minutes in 0..<60 { names.append(String(format: "GMT%@%02d%02d", sign, hours, minutes)) } } }
        let valid = names.filter { TimeZone(identifier: $0) != nil }
        #expect(valid.count > ZoneTable.limit, "enough distinct names to pass the limit")
        for name in valid { #expect(table.zone(name) != nil, "\(name)") }
        #expect(table.count == ZoneTable.limit)
        #expect(table.zone(valid.last!)?.secondsFromGMT() == TimeZone(identifier: valid.last!)?.secondsFromGMT(), "resolved past the limit")
        #expect(table.zone(valid.first!)?.secondsFromGMT() == TimeZone(identifier: valid.first!)?.secondsFromGMT(), "kept below it")
    }

    @Test func theCodec_RoundTripsEveryField() throws {
        let at = Date(timeIntervalSince1970: TimeInterval(1_795_514_400_123) / 1000) // as the codec builds it
        let facts = Facts(
            profile: Profile(customerID: "c", region: "US-CA", timeZone: TimeZone(identifier: "America/Los_Angeles"), email: "j@example.com", phone: "+14155550100"),
            cases: [ServiceCase(id: "k", customerID: "c", severity: .critical, status: .closed, openedAt: at, closedAt: at, resolution: .negative, updatedAt: at)],
            suppressions: [Suppression(id: "s", subject: .address(.phone("+14155550100")), kind: .optOut, channels: ["sms", "voice"],
                                       purposes: [.marketing], source: "ivr", confirmed: false, expiresAt: at),
                           Suppression(id: "t", subject: .customer("c"), kind: .doNotContact)],
            contacts: [Contact(channel: "sms", purpose: .service, at: at)],
            interactions: [Interaction(type: "complaint", score: -5, at: at)])
        let bytes = FactsRecord.encode(facts, erasure: [.customer, .phone])
        let decoded = try #require(bytes.withUnsafeBytes { FactsRecord.decode($0, customerID: "c", zone: { TimeZone(identifier: String(decoding: $0, as: UTF8.self)) }) })
        #expect(decoded.profile == facts.profile)
        #expect(decoded.cases == facts.cases)
        #expect(decoded.suppressions == facts.suppressions)
        #expect(decoded.contacts == facts.contacts)
        #expect(decoded.interactions == facts.interactions)
        #expect(decoded.customerErased && decoded.erasedAddresses == [.phone("+14155550100")])
        // Every truncation is refused rather than misread.
        for cut in 0..<bytes.count {
            #expect(Array(bytes[0..<cut]).withUnsafeBytes { FactsRecord.decode($0, customerID: "c", zone: { _ in nil }) } == nil, "cut at \(cut)")
        }
    }
}
