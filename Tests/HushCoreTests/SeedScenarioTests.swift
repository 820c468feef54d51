import Foundation
import Testing
@testable import HushCore

/// The seed scenarios of DESIGN.md, "How we know it works".
@Suite struct SeedScenarioTests {
    let openedAt = t("2026-11-20T09:12:00Z")

    func highCase(status: CaseStatus, closedAt: Date? = nil, resolution: Resolution? = nil) -> ServiceCase {
        ServiceCase(id: "8812", customerID: "c-1042", severity: .high, status: status, openedAt: openedAt,
                    closedAt: closedAt, resolution: resolution, updatedAt: closedAt ?? openedAt)
    }

    @Test func aComplaint_StopsMarketing_ButNotServiceMail() {
        let facts = Facts(cases: [highCase(status: .open)])
        let marketing = decision(customer(), facts, at: "2026-11-24T18:30:00Z")
        #expect(marketing.codes == [.openCase])
        #expect(marketing.reasons[0].ref == "case:8812")
        #expect(marketing.reasons[0].message == "service case 8812 (high) open since 2026-11-20T09:12:00Z")
        #expect(marketing.reasons[0].until == nil)
        #expect(marketing.retryAfter == nil)
        #expect(decision(customer(purpose: .service), facts, at: "2026-11-24T18:30:00Z").allowed)
    }

    @Test func aPositiveResolution_ResumesMarketingAtOnce_OtherwiseACoolOff() {
        let closedAt = t("2026-11-24T12:00:00Z")
        let positive = Facts(cases: [highCase(status: .closed, closedAt: closedAt, resolution: .positive)])
        #expect(decision(customer(), positive, at: "2026-11-24T12:00:01Z").allowed)

        let neutral = Facts(cases: [highCase(status: .closed, closedAt: closedAt, resolution: .neutral)])
        let cooling = decision(customer(), neutral, at: "2026-11-24T12:00:01Z")
        #expect(cooling.codes == [.caseCooloff])
        #expect(cooling.reasons[0].until == t("2026-11-27T12:00:00Z"))
        #expect(cooling.retryAfter == t("2026-11-27T12:00:00Z"))
        // Asking again at retry_after gives allow.
        #expect(decision(customer(), neutral, at: "2026-11-27T12:00:00Z").allowed)
    }

    @Test func anUnconfirmedDoNotEmail_StopsEveryMarketingChannel_UntilConfirmed() {
        var optOut = Suppression(id: "s1", subject: .customer("c-1042"), kind: .optOut, channels: ["email"], confirmed: false)
        for channel in Policy.standard.channels {
            let d = decision(customer(channel: channel), Facts(suppressions: [optOut]), at: "2026-11-24T10:00:00Z")
            #expect(d.codes == [.optedOut], "\(channel)")
        }
        #expect(decision(customer(channel: "sms", purpose: .service), Facts(suppressions: [optOut]), at: "2026-11-24T10:00:00Z").allowed)
        optOut.confirmed = true
        #expect(decision(customer(channel: "sms"), Facts(suppressions: [optOut]), at: "2026-11-24T10:00:00Z").allowed)
        #expect(decision(customer(channel: "email"), Facts(suppressions: [optOut]), at: "2026-11-24T10:00:00Z").codes == [.optedOut])
    }

    @Test func anErasure_KeepsTheCustomerSuppressedForEveryPurpose() {
        let facts = Facts(customerErased: true)
        for purpose in Policy.standard.purposes {
            let d = decision(customer(purpose: purpose), facts, at: "2026-11-24T10:00:00Z")
            #expect(d.codes == [.erased], "\(purpose)")
            #expect(d.retryAfter == nil)
        }
        // A tombstoned address stays erased whoever's request carries it.
        let address = Address.email("jo@example.com")
        var request = customer("someone-else", channel: "email", purpose: .transactional)
        request.address = address
        #expect(decision(request, Facts(erasedAddresses: [address]), at: "2026-11-24T10:00:00Z").codes == [.erased])
        // …on the channels that use it only.
        request.channel = "sms"
        #expect(decision(request, Facts(erasedAddresses: [address]), at: "2026-11-24T10:00:00Z").allowed)
    }

    @Test func aWildfireHold_StopsGrillingAdsInTheRegion_AndNowhereElse() {
        let hold = Hold(id: "wildfire-ca", title: "California wildfire", reason: "no grilling promotions", regions: ["US-CA"],
                        categories: ["grilling", "outdoor"], startsAt: t("2026-11-20T00:00:00Z"), endsAt: t("2026-12-01T00:00:00Z"))
        let facts = Facts(holds: [hold])
        let inCA = decision(customer(channel: "ads", categories: ["grilling"], region: "US-CA"), facts, at: "2026-11-24T10:00:00Z")
        #expect(inCA.codes == [.environmentalHold])
        #expect(inCA.reasons[0].message == "California wildfire: no grilling promotions")
        #expect(inCA.reasons[0].ref == "hold:wildfire-ca")
        #expect(inCA.retryAfter == t("2026-12-01T00:00:00Z"))
        #expect(decision(customer(channel: "ads", categories: ["grilling"], region: "US-NY"), facts, at: "2026-11-24T10:00:00Z").allowed)
        #expect(decision(customer(channel: "ads", categories: ["garden"], region: "US-CA"), facts, at: "2026-11-24T10:00:00Z").allowed)
        #expect(decision(customer(channel: "ads", categories: ["grilling"]), facts, at: "2026-11-24T10:00:00Z").allowed, "unknown region")
        // The profile's region counts when the request names none.
        let profiled = Facts(profile: Profile(customerID: "c-1042", region: "US-CA"), holds: [hold])
        #expect(!decision(customer(channel: "ads", categories: ["grilling"]), profiled, at: "2026-11-24T10:00:00Z").allowed)
    }

    @Test func anSMSAt3AMLocal_IsHeldUntil8() {
        // 03:00 in Los Angeles (PST, UTC−8) is 11:00Z; 08:00 local is 16:00Z.
        let d = decision(customer(channel: "sms", timeZone: zone("America/Los_Angeles")), at: "2026-11-24T11:00:00Z")
        #expect(d.codes == [.quietHours])
        #expect(d.reasons[0].until == t("2026-11-24T16:00:00Z"))
        #expect(d.retryAfter == t("2026-11-24T16:00:00Z"))
        #expect(decision(customer(channel: "sms", timeZone: zone("America/Los_Angeles")), at: "2026-11-24T16:00:00Z").allowed)
    }

    @Test func aCustomerWhoComplainedTwiceThisWeek_IsNotSoldTo() {
        let facts = Facts(interactions: [
            Interaction(type: "complaint", score: -5, at: t("2026-11-20T10:00:00Z")),
            Interaction(type: "complaint", score: -5, at: t("2026-11-23T10:00:00Z")),
        ])
        let d = decision(customer(), facts, at: "2026-11-24T10:00:00Z")
        #expect(d.codes == [.lowWillingness])
        // Once the first complaint leaves the 7-day window the score is −5, not below −6.
        #expect(d.reasons[0].until == t("2026-11-27T10:00:00Z"))
        #expect(decision(customer(), facts, at: "2026-11-27T10:00:00Z").allowed)
        #expect(decision(customer(purpose: .service), facts, at: "2026-11-24T10:00:00Z").allowed)
    }

    @Test func onHoldWithAnOpenCase_NoSalesMessageOnIVR() {
        let hold = Hold(id: "storm", title: "Storm", startsAt: t("2026-11-01T00:00:00Z"), endsAt: t("2026-12-01T00:00:00Z"))
        let facts = Facts(cases: [highCase(status: .open)], holds: [hold])
        let d = decision(customer(channel: "ivr"), facts, at: "2026-11-24T10:00:00Z")
        #expect(d.codes == [.openCase, .environmentalHold])
        #expect(d.retryAfter == nil, "the open case is not time-bound")
    }
}
