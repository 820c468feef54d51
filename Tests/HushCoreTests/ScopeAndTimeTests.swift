import Foundation
import Testing
@testable import HushCore

@Suite struct ScopeTests {
    let at = "2026-11-24T10:00:00Z"

    @Test func omittedChannels_MeanAll_AndOmittedPurposes_MeanTheKindsDefault() {
        let dnc = Suppression(id: "d", subject: .customer("c-1042"), kind: .doNotContact)
        let optOut = Suppression(id: "o", subject: .customer("c-1042"), kind: .optOut)
        let objection = Suppression(id: "x", subject: .customer("c-1042"), kind: .objection)
        for channel in Policy.standard.channels {
            #expect(decision(customer(channel: channel), Facts(suppressions: [dnc]), at: at).codes == [.doNotContact])
        }
        #expect(decision(customer(purpose: .service), Facts(suppressions: [dnc]), at: at).codes == [.doNotContact])
        #expect(decision(customer(purpose: .service), Facts(suppressions: [optOut]), at: at).allowed)
        #expect(decision(customer(purpose: .service), Facts(suppressions: [objection]), at: at).allowed)
        #expect(decision(customer(), Facts(suppressions: [objection]), at: at).codes == [.objected])
        // Transactional is never a default, even of a confirmed do-not-contact; nor is a purpose
        // the policy adds.
        var confirmedDNC = dnc
        confirmedDNC.confirmed = true
        #expect(decision(customer(purpose: .transactional), Facts(suppressions: [confirmedDNC]), at: at).allowed)
        #expect(decision(customer(purpose: "sales"), Facts(suppressions: [confirmedDNC, optOut, objection]), at: at).allowed)
        for kind in SuppressionKind.allCases {
            #expect(kind.coversByDefault(.marketing) && !kind.coversByDefault(.transactional) && !kind.coversByDefault("sales"))
            #expect(kind.coversByDefault(.service) == (kind == .doNotContact))
        }
    }

    @Test func emptyScopeLists_AreRefused_NamingTheField() {
        #expect(throws: ValidationError(field: "channels", message: "must not be empty; omit it to mean all channels")) {
            try Suppression(id: "s", subject: .customer("c"), kind: .optOut, channels: []).validate()
        }
        #expect { try Suppression(id: "s", subject: .customer("c"), kind: .optOut, purposes: []).validate() } throws: {
            ($0 as? ValidationError)?.field == "purposes"
        }
        let start = t("2026-11-24T00:00:00Z")
        for hold in [Hold(id: "h", title: "x", regions: [], startsAt: start), Hold(id: "h", title: "x", channels: [], startsAt: start),
                     Hold(id: "h", title: "x", purposes: [], startsAt: start), Hold(id: "h", title: "x", categories: [], startsAt: start)] {
            #expect(throws: ValidationError.self) { try hold.validate() }
        }
    }

    @Test func transactional_IsStoppedOnlyByANamedConfirmedDoNotContact() {
        let named = Suppression(id: "d", subject: .customer("c-1042"), kind: .doNotContact, purposes: [.marketing, .transactional])
        #expect(decision(customer(purpose: .transactional), Facts(suppressions: [named]), at: at).codes == [.doNotContact])
        var unconfirmed = named
        unconfirmed.confirmed = false
        #expect(decision(customer(purpose: .transactional), Facts(suppressions: [unconfirmed]), at: at).allowed)
        let unnamed = Suppression(id: "d", subject: .customer("c-1042"), kind: .doNotContact)
        #expect(decision(customer(purpose: .transactional), Facts(suppressions: [unnamed]), at: at).allowed)
        #expect(throws: ValidationError.self) {
            try Suppression(id: "o", subject: .customer("c"), kind: .optOut, purposes: [.transactional]).validate()
        }
        #expect(throws: ValidationError.self) {
            try Hold(id: "h", title: "x", purposes: [.transactional], startsAt: t(at)).validate()
        }
        // Policy rules do not touch transactional sends.
        let busy = Facts(cases: [ServiceCase(id: "1", customerID: "c-1042", severity: .critical, status: .open, openedAt: t(at), updatedAt: t(at))],
                         contacts: Array(repeating: Contact(channel: "email", purpose: .transactional, at: t(at)), count: 10))
        #expect(decision(customer(purpose: .transactional), busy, at: at).allowed)
    }

    @Test func addressSuppressions_ApplyToTheProfilesAddressForTheChannel() {
        let suppression = Suppression(id: "a", subject: .address(.email("jo.doe@example.com")), kind: .doNotContact, source: "complaint")
        let facts = Facts(profile: Profile(customerID: "c-1042", email: "jo.doe@example.com", phone: "+14155550100"), suppressions: [suppression])
        let email = decision(customer(channel: "email"), facts, at: at)
        #expect(email.codes == [.doNotContact])
        #expect(email.reasons[0].message == "do_not_contact for jo.doe@example.com (source: complaint)")
        #expect(decision(customer(channel: "sms"), facts, at: at).allowed, "an e-mail address does not cover SMS")
        // And to the request's own address, by address alone.
        let byAddress = DecisionRequest(address: .email("jo.doe@example.com"), channel: "email")
        #expect(decision(byAddress, Facts(suppressions: [suppression]), at: at).codes == [.doNotContact])
    }

    /// The request's own address meets its suppressions on whatever channel the request names;
    /// only the profile's addresses are matched by channel (DESIGN.md, "What a record covers").
    @Test func theRequestsAddress_MeetsItsSuppressions_OnAnyChannel() {
        let address = Address.email("jo.doe@example.com")
        let everywhere = Suppression(id: "a", subject: .address(address), kind: .doNotContact)
        let pushRequest = DecisionRequest(address: address, channel: "push")
        #expect(decision(pushRequest, Facts(suppressions: [everywhere]), at: at).codes == [.doNotContact], "omitted channels: all")
        let emailOnly = Suppression(id: "b", subject: .address(address), kind: .doNotContact, channels: ["email"])
        #expect(decision(pushRequest, Facts(suppressions: [emailOnly]), at: at).allowed, "its own channel list still holds")
        // The broad reading of an unconfirmed opt-out reaches the channels that use the address only.
        let unconfirmed = Suppression(id: "c", subject: .address(address), kind: .optOut, channels: ["in_app"], confirmed: false)
        #expect(decision(pushRequest, Facts(suppressions: [unconfirmed]), at: at).allowed)
        #expect(decision(DecisionRequest(address: address, channel: "email"), Facts(suppressions: [unconfirmed]), at: at).codes == [.optedOut])
        // With a customer id too: the profile's phone is not the request's address, so its
        // suppression is still matched by channel.
        let phone = Suppression(id: "d", subject: .address(.phone("+14155550100")), kind: .doNotContact)
        let facts = Facts(profile: Profile(customerID: "c-1042", email: "jo@example.com", phone: "+14155550100"), suppressions: [everywhere, phone])
        var both = customer(channel: "push")
        both.address = address
        #expect(decision(both, facts, at: at).codes == [.doNotContact])
        #expect(decision(both, facts, at: at).reasons.count == 1, "the phone's suppression does not reach push")
    }

    @Test func anUnconfirmedPhoneOptOut_CoversSMSAndVoice_ForMarketing() {
        let optOut = Suppression(id: "p", subject: .address(.phone("+14155550100")), kind: .optOut, channels: ["sms"], confirmed: false)
        let facts = Facts(profile: Profile(customerID: "c-1042", email: "jo@example.com", phone: "+14155550100"), suppressions: [optOut])
        #expect(decision(customer(channel: "voice"), facts, at: at).codes == [.optedOut])
        #expect(decision(customer(channel: "email"), facts, at: at).allowed)
        var policy = Policy.standard
        policy.broadUnconfirmedOptOut = false
        #expect(decision(customer(channel: "voice"), facts, policy: policy, at: at).allowed)
    }

    @Test func holdRegions_MatchHierarchically_AndHoldsWithoutRegionsMatchEverywhere() {
        #expect(Region.covers("US", "US-CA"))
        #expect(Region.covers("us-ca", "US-CA"))
        #expect(!Region.covers("US-CA", "US"))
        #expect(!Region.covers("US", "USA"))
        #expect(!Region.covers("U@", "U`"), "only letters fold case")
        let national = Hold(id: "n", title: "National", regions: ["US"], startsAt: t("2026-11-01T00:00:00Z"))
        #expect(!decision(customer(region: "US-TX"), Facts(holds: [national]), at: at).allowed)
        let everywhere = Hold(id: "e", title: "Everywhere", startsAt: t("2026-11-01T00:00:00Z"))
        #expect(!decision(customer(), Facts(holds: [everywhere]), at: at).allowed, "no region known, hold without regions")
        let categorised = Hold(id: "c", title: "Cat", categories: ["grilling"], startsAt: t("2026-11-01T00:00:00Z"))
        #expect(decision(customer(), Facts(holds: [categorised]), at: at).allowed, "a request without categories")
    }
}

@Suite struct TimeEdgeTests {
    @Test func expiryAndEnds_AtTheExactSecond() {
        let expires = t("2026-11-24T12:00:00Z")
        let s = Suppression(id: "s", subject: .customer("c-1042"), kind: .optOut, expiresAt: expires)
        let before = decision(customer(), Facts(suppressions: [s]), at: "2026-11-24T11:59:59Z")
        #expect(before.codes == [.optedOut] && before.reasons[0].until == expires)
        #expect(decision(customer(), Facts(suppressions: [s]), at: "2026-11-24T12:00:00Z").allowed)

        let hold = Hold(id: "h", title: "H", startsAt: t("2026-11-24T10:00:00Z"), endsAt: expires)
        #expect(decision(customer(), Facts(holds: [hold]), at: "2026-11-24T09:59:59Z").allowed, "not started")
        #expect(!decision(customer(), Facts(holds: [hold]), at: "2026-11-24T10:00:00Z").allowed, "starts at the exact second")
        #expect(decision(customer(), Facts(holds: [hold]), at: "2026-11-24T12:00:00Z").allowed, "ended")

        let closed = ServiceCase(id: "1", customerID: "c-1042", severity: .high, status: .closed, openedAt: t("2026-11-01T00:00:00Z"),
                                 closedAt: t("2026-11-21T12:00:00Z"), resolution: .negative, updatedAt: t("2026-11-21T12:00:00Z"))
        #expect(!decision(customer(), Facts(cases: [closed]), at: "2026-11-24T11:59:59Z").allowed)
        #expect(decision(customer(), Facts(cases: [closed]), at: "2026-11-24T12:00:00Z").allowed)
    }

    @Test func untilIsRoundedUpToTheWholeSecond() {
        let s = Suppression(id: "s", subject: .customer("c-1042"), kind: .optOut, expiresAt: t("2026-11-24T12:00:00Z").addingTimeInterval(0.25))
        #expect(decision(customer(), Facts(suppressions: [s]), at: "2026-11-24T11:00:00Z").reasons[0].until == t("2026-11-24T12:00:01Z"))
    }

    @Test func severityBelowTheThreshold_DoesNotSuppress() {
        let medium = ServiceCase(id: "1", customerID: "c-1042", severity: .medium, status: .pending, openedAt: t("2026-11-01T00:00:00Z"), updatedAt: t("2026-11-01T00:00:00Z"))
        #expect(decision(customer(), Facts(cases: [medium]), at: "2026-11-24T10:00:00Z").allowed)
        var critical = medium
        critical.severity = .critical
        #expect(decision(customer(), Facts(cases: [critical]), at: "2026-11-24T10:00:00Z").codes == [.openCase])
    }

    @Test(arguments: [
        // zone, at (UTC), expected until (UTC) or nil: sms quiet hours 21:00–08:00 local
        ("America/Los_Angeles", "2026-03-08T06:00:00Z", "2026-03-08T15:00:00Z"), // 22:00 PST → 08:00 PDT (spring forward that night)
        ("America/Los_Angeles", "2026-11-01T05:00:00Z", "2026-11-01T16:00:00Z"), // 22:00 PDT → 08:00 PST (fall back that night)
        ("Europe/London", "2026-03-28T23:00:00Z", "2026-03-29T07:00:00Z"),       // 23:00 GMT → 08:00 BST
        ("Europe/London", "2026-10-24T23:00:00Z", "2026-10-25T08:00:00Z"),       // 00:00 BST → 08:00 GMT
        ("Europe/London", "2026-11-24T21:00:00Z", "2026-11-25T08:00:00Z"),       // exactly 21:00: inside
        ("Europe/London", "2026-11-24T07:59:59Z", "2026-11-24T08:00:00Z"),       // one second before the end
        ("Europe/London", "2026-11-24T08:00:00Z", nil),                           // exactly 08:00: outside
        ("Europe/London", "2026-11-24T20:59:59Z", nil),
        ("Asia/Kolkata", "2026-11-24T16:00:00Z", "2026-11-25T02:30:00Z"),        // 21:30 IST (UTC+5:30) → 08:00 IST
    ])
    func quietHours_AcrossMidnightAndDaylightSaving(zoneID: String, at: String, until: String?) {
        let d = decision(customer(channel: "sms", timeZone: zone(zoneID)), at: at)
        if let until {
            #expect(d.codes == [.quietHours])
            #expect(d.reasons.first?.until == t(until))
        } else {
            #expect(d.allowed)
        }
    }

    @Test func quietHoursEndingInASkippedLocalTime_EndAtTheJump() {
        var policy = Policy.standard
        policy.quietHours["sms"] = QuietHours(start: LocalTime(hour: 22), end: LocalTime(hour: 2, minute: 30))
        // 2026-03-08 02:30 does not exist in Los Angeles: clocks go from 02:00 PST to 03:00 PDT at 10:00Z.
        let d = decision(customer(channel: "sms", timeZone: zone("America/Los_Angeles")), policy: policy, at: "2026-03-08T07:00:00Z")
        #expect(d.reasons.first?.until == t("2026-03-08T10:00:00Z"))
    }

    @Test func quietHours_UseRequestThenProfileThenDefaultZone() {
        let facts = Facts(profile: Profile(customerID: "c-1042", timeZone: zone("Asia/Tokyo")))
        // 12:00Z is 21:00 in Tokyo (quiet), 12:00 in UTC (not).
        #expect(!decision(customer(channel: "sms"), facts, at: "2026-11-24T12:00:00Z").allowed)
        #expect(decision(customer(channel: "sms", timeZone: zone("UTC")), facts, at: "2026-11-24T12:00:00Z").allowed)
        #expect(decision(customer(channel: "sms"), at: "2026-11-24T12:00:00Z").allowed)
        #expect(decision(customer(channel: "email", timeZone: zone("Asia/Tokyo")), at: "2026-11-24T12:00:00Z").allowed, "no quiet hours for e-mail")
    }

    @Test func frequencyCaps_CountTheWindowOpenAtItsStart() {
        let at = t("2026-11-24T10:00:00Z")
        func contacts(_ offsets: [TimeInterval], channel: Channel = "email") -> [Contact] {
            offsets.map { Contact(channel: channel, purpose: .marketing, at: at.addingTimeInterval(-$0)) }
        }
        // Exactly 7 days ago is outside (at − 7 d, at]; one second later is inside.
        #expect(decision(customer(), Facts(contacts: contacts([7 * day, hour, 2 * hour])), at: "2026-11-24T10:00:00Z").allowed)
        let capped = decision(customer(), Facts(contacts: contacts([7 * day - 1, hour, 2 * hour])), at: "2026-11-24T10:00:00Z")
        #expect(capped.codes == [.frequencyCap])
        #expect(capped.reasons[0].until == at.addingTimeInterval(1))
        // A contact at `at` itself counts.
        #expect(!decision(customer(), Facts(contacts: contacts([0, hour, 2 * hour])), at: "2026-11-24T10:00:00Z").allowed)
        // Six across channels trip the all-channel cap even though no channel's own cap is reached.
        let mixed = contacts([day, 2 * day], channel: "email") + contacts([day], channel: "sms") + contacts([day, 2 * day, 3 * day], channel: "push")
        let d = decision(customer(channel: "push"), Facts(contacts: mixed), at: "2026-11-24T10:00:00Z")
        #expect(d.codes == [.frequencyCap])
        #expect(d.reasons[0].until == at.addingTimeInterval(-3 * day + 7 * day))
        // Service contacts do not count against marketing caps.
        let service = (0..<5).map { Contact(channel: "email", purpose: .service, at: at.addingTimeInterval(-Double($0) * hour)) }
        #expect(decision(customer(), Facts(contacts: service), at: "2026-11-24T10:00:00Z").allowed)
    }

    @Test func willingness_UntilIsWhenEnoughNegativeScoresHaveLeft() {
        let at = t("2026-11-24T10:00:00Z")
        let facts = Facts(interactions: [
            Interaction(type: "purchase", score: 2, at: at.addingTimeInterval(-6 * day)),
            Interaction(type: "complaint", score: -5, at: at.addingTimeInterval(-5 * day)),
            Interaction(type: "complaint", score: -5, at: at.addingTimeInterval(-1 * day)),
        ])
        // Sum −8. The purchase leaving first makes it −10; the first complaint leaving makes it −5.
        let d = decision(customer(), facts, at: "2026-11-24T10:00:00Z")
        #expect(d.reasons.first?.until == at.addingTimeInterval(2 * day))
        // A threshold that can never be met is not time-bound.
        var strict = Policy.standard
        strict.willingnessThreshold = 1
        let never = decision(customer(), facts, policy: strict, at: "2026-11-24T10:00:00Z")
        #expect(never.codes == [.lowWillingness] && never.retryAfter == nil)
    }

    @Test func retryAfter_IsTheLatestUntil_OrNullWhenAnyIsOpenEnded() {
        let r1 = Reason(code: .quietHours, message: "", until: t("2026-11-24T16:00:00Z"))
        let r2 = Reason(code: .environmentalHold, message: "", until: t("2026-11-30T00:00:00Z"))
        #expect(Decision(reasons: [r1, r2], evaluatedAt: t("2026-11-24T10:00:00Z")).retryAfter == t("2026-11-30T00:00:00Z"))
        let open = Reason(code: .openCase, message: "")
        #expect(Decision(reasons: [r1, open], evaluatedAt: t("2026-11-24T10:00:00Z")).retryAfter == nil)
        #expect(Decision(reasons: [r2, open, r1], evaluatedAt: t("2026-11-24T10:00:00Z")).reasons.map(\.code) == [.openCase, .environmentalHold, .quietHours])
        #expect(Decision(reasons: [], evaluatedAt: t("2026-11-24T10:00:00Z")).allowed)
    }
}

@Suite struct ValueTests {
    @Test func addresses_AreNormalised() throws {
        #expect(try Address.parse(" Jo.Doe@Example.COM ") == .email("jo.doe@example.com"))
        #expect(try Address.parse("+1 (415) 555-0100") == .phone("+14155550100"))
        #expect(try Address.parse("+44 7700 900123") == .phone("+447700900123"))
    }

    @Test(arguments: ["jo", "jo@", "@example.com", "jo@example", "jo@@example.com", "jo doe@example.com", "jo@example..com",
                      "4155550100", "+0415555010", "+1415", "+1415555010012345", "+1-415-CALL-NOW", ""])
    func badAddresses_AreRefusedNamingTheField(_ text: String) {
        #expect { try Address.parse(text, field: "address") } throws: { ($0 as? ValidationError)?.field == "address" }
    }

    @Test func timestamps_AreRFC3339InUTCWithWholeSeconds() {
        #expect(Timestamp.format(t("2026-11-24T10:00:00Z")) == "2026-11-24T10:00:00Z")
        #expect(Timestamp.format(t("2026-11-24T10:00:00Z").addingTimeInterval(0.999)) == "2026-11-24T10:00:00Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(Timestamp.format(t("2024-02-29T23:59:59Z")) == "2024-02-29T23:59:59Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 253_402_300_799)) == "9999-12-31T23:59:59Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 253_402_300_800)) == "10000-01-01T00:00:00Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00Z")
    }

    /// Against Foundation's formatter, at 5,000 seconds spread over 1600–9999 (Foundation's
    /// calendar turns Julian before 1582; ours is proleptic Gregorian throughout).
    @Test func timestamps_AgreeWithFoundationAcrossTheYears() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let date = Date(timeIntervalSince1970: TimeInterval(Int64.random(in: -11_676_096_000...253_402_300_799, using: &generator)))
            #expect(Timestamp.format(date) == formatter.string(from: date))
        }
    }

    /// One writer reused, as a JSON writer reuses it: times on the same day (its remembered
    /// date), the day after, before 1970 and back, each as `format` writes it; a year past 9999
    /// writes nothing and leaves the remembered day as it was.
    @Test func timestampWriter_RemembersTheDay_AndWritesWhatFormatWrites() {
        var writer = Timestamp.Writer()
        var generator = SystemRandomNumberGenerator()
        var seconds: [Int64] = [0, -1, 86_399, 86_400, 1_795_000_000, 1_795_000_001, 1_795_046_399, 1_795_046_400, -62_135_596_800, 253_402_300_799]
        for _ in 0..<2_000 {
            let base = Int64.random(in: -11_676_096_000...253_402_300_000, using: &generator)
            seconds += [base, base + Int64.random(in: 0...200_000, using: &generator)]
        }
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 20)
        defer { out.deallocate() }
        for s in seconds {
            let date = Date(timeIntervalSince1970: TimeInterval(s) + 0.75)
            #expect(writer.write(date, at: out) == 20)
            #expect(String(decoding: UnsafeBufferPointer(start: out, count: 20), as: UTF8.self) == Timestamp.format(date))
        }
        out.initialize(repeating: 0x2E, count: 20)
        #expect(writer.write(Date(timeIntervalSince1970: 253_402_300_800), at: out) == 0)
        #expect(Array(UnsafeBufferPointer(start: out, count: 20)) == Array(repeating: 0x2E, count: 20))
        _ = writer.write(Date(timeIntervalSince1970: 1_795_000_000), at: out)
        #expect(String(decoding: UnsafeBufferPointer(start: out, count: 20), as: UTF8.self) == "2026-11-18T11:06:40Z")
    }

    /// The writer remembers the last two seconds it wrote: seconds drawn over and over from a
    /// pool of three (two on one day, one on another), in every order, each written as
    /// `format` writes it, so a remembered text is never another second's.
    @Test func timestampWriter_RepeatedAndAlternatingSeconds_AreEachWrittenAsFormatWrites() {
        var writer = Timestamp.Writer()
        var generator = SystemRandomNumberGenerator()
        let pool: [Int64] = [1_795_046_399, 1_795_046_398, 1_795_046_400]
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 20)
        defer { out.deallocate() }
        for _ in 0..<3_000 {
            let s = pool[Int.random(in: 0..<pool.count, using: &generator)]
            #expect(writer.write(seconds: s, at: out) == 20)
            #expect(String(decoding: UnsafeBufferPointer(start: out, count: 20), as: UTF8.self)
                    == Timestamp.format(Date(timeIntervalSince1970: TimeInterval(s))))
        }
        // A year it cannot write is not remembered either.
        #expect(writer.write(seconds: 253_402_300_800, at: out) == 0)
        #expect(writer.write(seconds: 253_402_300_800, at: out) == 0)
    }

    @Test func localTimes_ParseStrictly() throws {
        #expect(try LocalTime(parsing: "21:00", field: "f").secondsOfDay == 21 * 3600)
        for bad in ["24:00", "9:00", "21:60", "21", "ab:cd", "21:00:00"] {
            #expect(throws: ValidationError.self) { try LocalTime(parsing: bad, field: "f") }
        }
    }

    @Test func standardPolicy_IsValid_AndBadPoliciesNameTheKey() throws {
        try Policy.standard.validate()
        var policy = Policy.standard
        policy.quietHours["fax"] = QuietHours(start: LocalTime(hour: 1), end: LocalTime(hour: 2))
        #expect { try policy.validate() } throws: { ($0 as? ValidationError)?.field == "policy.quiet_hours.fax" }
        policy = .standard
        policy.frequencyCaps[1].max = 0
        #expect { try policy.validate() } throws: { ($0 as? ValidationError)?.field == "policy.frequency_caps[1].max" }
        policy = .standard
        policy.ruleScope[.openCase] = ["sales"]
        #expect { try policy.validate() } throws: { ($0 as? ValidationError)?.field == "policy.rules.open_case" }
    }

    @Test func aRuleExtendedToServiceByPolicy_AppliesToService() {
        var policy = Policy.standard
        policy.ruleScope[.openCase] = [.marketing, .service]
        let facts = Facts(cases: [ServiceCase(id: "1", customerID: "c-1042", severity: .high, status: .open,
                                              openedAt: t("2026-11-01T00:00:00Z"), updatedAt: t("2026-11-01T00:00:00Z"))])
        #expect(decision(customer(purpose: .service), facts, policy: policy, at: "2026-11-24T10:00:00Z").codes == [.openCase])
    }
}

@Test(arguments: [
    ("2026-11-24T10:00:00Z", 1_795_514_400.0),
    ("2026-11-24t10:00:00z", 1_795_514_400.0),
    ("2026-11-24T10:00:00.750Z", 1_795_514_400.75),
    ("2026-11-24T11:30:00+01:30", 1_795_514_400.0),
    ("2026-11-24T02:00:00-08:00", 1_795_514_400.0),
    ("2024-02-29T00:00:00Z", 1_709_164_800.0),
    ("1970-01-01T00:00:00Z", 0.0),
])
func rfc3339_ParsesOffsetsAndFractions(text: String, seconds: Double) {
    #expect(Timestamp.parse(text)?.timeIntervalSince1970 == seconds)
}

@Test(arguments: ["2026-11-24", "2026-11-24T10:00:00", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-24T24:00:00Z",
                  "2026-11-24T10:00:00+2400", "2026-11-24T10:00:00+24:00", "2026-11-24T10:00:00.Z", "2026-11-24 10:00:00Z",
                  "2026-11-24T10:00:00Zjunk", "２０２６-11-24T10:00:00Z", "2026-04-31T00:00:00Z"])
func rfc3339_RefusesWhatIsNotATime(text: String) {
    #expect(Timestamp.parse(text) == nil)
}

/// Fractions are truncated, never rounded: a Double cannot hold 59.999999999 s near 2026, and
/// parsing through one moved such a time into the next second. hush keeps milliseconds.
@Test(arguments: 1...12)
func rfc3339_TruncatesFractionsOf1To12Nines(digits: Int) throws {
    let text = "2026-01-15T08:00:59." + String(repeating: "9", count: digits) + "Z"
    let date = try #require(Timestamp.parse(text))
    #expect(Timestamp.format(date) == "2026-01-15T08:00:59Z", "\(text)")
    #expect(date < Timestamp.parse("2026-01-15T08:01:00Z")!)
    #expect(date >= Timestamp.parse("2026-01-15T08:00:59Z")!)
    // The same second before 1970, where truncation must still go towards the earlier second.
    let early = try #require(Timestamp.parse("1969-12-31T23:59:59." + String(repeating: "9", count: digits) + "Z"))
    #expect(Timestamp.format(early) == "1969-12-31T23:59:59Z")
}

@Test func rfc3339_KeepsAFractionsValue() throws {
    let half = try #require(Timestamp.parse("2026-01-15T08:00:59.5+01:00"))
    #expect(half.timeIntervalSince1970 == Timestamp.parse("2026-01-15T07:00:59Z")!.timeIntervalSince1970 + 0.5)
    let milli = try #require(Timestamp.parse("2026-01-15T08:00:59.0019Z"))
    #expect(milli.timeIntervalSince1970 == Timestamp.parse("2026-01-15T08:00:59Z")!.timeIntervalSince1970 + 0.001)
    #expect(Timestamp.parse("2026-01-15T08:00:59.0009Z") == Timestamp.parse("2026-01-15T08:00:59Z"), "under a millisecond: truncated")
}

/// A word's 16 digits at once are the digits of its bytes, most significant first: every
/// nibble value in every place, the ends of the range and random words.
@Test func hexDigitsOfAWord_AreTheDigitsOfItsBytes() {
    var generator = SystemRandomNumberGenerator()
    var words: [UInt64] = [0, .max, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 0x9a9a_9a9a_a9a9_a9a9, 1 << 63, 1]
    words += (0..<16).map { UInt64($0) &* 0x1111_1111_1111_1111 }
    words += (0..<2_000).map { _ in UInt64.random(in: 0...UInt64.max, using: &generator) }
    for word in words {
        let (first, second) = Hex.digits(word)
        let text = withUnsafeBytes(of: (first, second)) { String(decoding: $0, as: UTF8.self) }
        let bigEndian = (0..<8).map { UInt8(truncatingIfNeeded: word >> (56 - 8 * $0)) }
        #expect(text == Hex.encode(bigEndian), "\(word)")
    }
}

@Test func hex_RoundTripsBytes_AndRefusesWhatIsNotHex() {
    let bytes: [UInt8] = [0x00, 0x0a, 0x7f, 0x80, 0xff]
    #expect(Hex.encode(bytes) == "000a7f80ff")
    #expect(Hex.decode("000a7f80ff") == bytes)
    #expect(Hex.decode("000A7F80FF") == bytes, "either case")
    #expect(Hex.decode("abc") == nil, "an odd number of digits")
    #expect(Hex.decode("zz") == nil)
    #expect(Hex.encode([UInt8]()) == "" && Hex.decode("") == [])
    // Any sequence of bytes, not only an array: a slice, a reversed view, every byte value.
    #expect(Hex.encode(bytes[1...3]) == "0a7f80")
    #expect(Hex.encode(bytes.reversed()) == "ff807f0a00")
    let all = (0...255).map(UInt8.init)
    #expect(Hex.decode(Hex.encode(all)) == all && Hex.encode(all).utf8.count == 512)
}

/// `withUTF8Bytes` lends a string's bytes without copying the string: the bytes must be the
/// string's UTF-8, whatever the string's form (small, on the heap, a slice's copy, a literal).
@Suite struct UTF8BytesTests {
    @Test(arguments: ["", "email", "exactly15bytes!", "a string long enough to live on the heap", "Zoë → 東京 🚀",
                      String("prefix/America/Los_Angeles/suffix".dropFirst(7).dropLast(7)),
                      String(repeating: "ab", count: 3_000)])
    func withUTF8Bytes_LendsTheStringsOwnUTF8(_ text: String) {
        let lent = text.withUTF8Bytes { Array($0) }
        #expect(lent == Array(text.utf8))
        #expect(String(decoding: lent, as: UTF8.self) == text)
    }
}

/// A loop's remembered zone offsets must give what the zone itself gives, for any instant in
/// any order: across daylight-saving changes both ways, half-hour and 45-minute offsets, a zone
/// that dropped its daylight saving, one that skipped a day, and fixed offsets.
@Suite struct ZoneOffsetsTests {
    static let zones = ["America/Los_Angeles", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kathmandu",
                        "Africa/Casablanca", "America/Sao_Paulo", "Pacific/Apia", "UTC", "Etc/GMT-5"]

    @Test func rememberedOffsets_AreTheZonesOwn_ForwardBackwardAndAtEveryTransition() throws {
        var generator = SystemRandomNumberGenerator()
        let offsets = ZoneOffsets()
        let first = Date(timeIntervalSince1970: 1_262_304_000)   // 2010-01-01
        let last = Date(timeIntervalSince1970: 1_956_528_000)    // 2032-01-01
        for name in Self.zones {
            let zone = try #require(TimeZone(identifier: name))
            // A walk forward in steps of a minute to twenty days, jumping back now and then.
            var date = first, steps = 0
            while date < last, steps < 3_000 {
                #expect(offsets.secondsFromGMT(zone, for: date) == zone.secondsFromGMT(for: date), "\(name) at \(date)")
                let back = UInt8.random(in: 0..<10, using: &generator) == 0
                let step = TimeInterval(Int.random(in: 60...(20 * 86_400), using: &generator))
                date = date.addingTimeInterval(back ? -step * 20 : step)
                steps += 1
            }
            // Each transition, a second before it, at it and a second after it, in that order.
            var transition = zone.nextDaylightSavingTimeTransition(after: first)
            while let at = transition, at < last {
                for instant in [at.addingTimeInterval(-1), at, at.addingTimeInterval(1)] {
                    #expect(offsets.secondsFromGMT(zone, for: instant) == zone.secondsFromGMT(for: instant), "\(name) at \(instant)")
                }
                transition = zone.nextDaylightSavingTimeTransition(after: at)
            }
        }
    }

    /// Quiet hours through the remembered offsets end when they end without them.
    @Test func decisions_WithRememberedOffsets_AreTheSameAsWithout() throws {
        var generator = SystemRandomNumberGenerator()
        let offsets = ZoneOffsets()
        for _ in 0..<2_000 {
            let zone = try #require(TimeZone(identifier: Self.zones.randomElement(using: &generator)!))
            let now = Date(timeIntervalSince1970: TimeInterval(Int.random(in: 1_700_000_000...1_900_000_000, using: &generator)))
            let request = customer(channel: "sms", timeZone: zone)
            let plain = decide(request, facts: Facts(), policy: .standard, now: now)
            let remembered = decide(request, facts: Facts(), policy: .standard, now: now, offsets: offsets)
            #expect(plain.codes == remembered.codes && plain.retryAfter == remembered.retryAfter, "\(zone.identifier) at \(now)")
        }
    }
}
