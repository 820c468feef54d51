import Foundation
import Testing
@testable import HushCore

/// A reason's words and ref are written in pieces (for answers) and read as Strings (for
/// everything else): both must say the same, for every kind of reason.
@Suite struct ReasonTextTests {

    func pieces(_ reason: Reason) -> (message: String, ref: String?, count: Int) {
        var message = "", ref = "", count = 0
        reason.writeMessage { message += String(decoding: $0, as: UTF8.self); count += 1 }
        reason.writeRef { ref += String(decoding: $0, as: UTF8.self) }
        return (message, reason.hasRef ? ref : nil, count)
    }

    @Test(arguments: [
        (Reason.Detail.erasedCustomer, "the customer's data was erased at their request", "erasure"),
        (.erasedAddress, "the address belongs to a customer whose data was erased", "erasure"),
        (.suppression(Suppression(id: "s-1", subject: .address(.email("pat@example.com")), kind: .doNotContact, source: "complaint")),
         "do_not_contact for pat@example.com (source: complaint)", "suppression:s-1"),
        (.suppression(Suppression(id: "s-2", subject: .customer("c-1"), kind: .optOut, confirmed: false)),
         "opt_out for the customer, not yet confirmed", "suppression:s-2"),
        (.openCase(ServiceCase(id: "8812", customerID: "c-1", severity: .high, status: .open, openedAt: t("2026-11-20T09:12:00Z"),
                               updatedAt: t("2026-11-20T09:12:00Z"))),
         "service case 8812 (high) open since 2026-11-20T09:12:00Z", "case:8812"),
        (.caseCooloff(ServiceCase(id: "77", customerID: "c-1", severity: .low, status: .closed, openedAt: t("2026-11-20T09:12:00Z"),
                                  updatedAt: t("2026-11-21T09:12:00Z")), closedAt: t("2026-11-21T08:00:59Z")),
         "service case 77 (low) closed at 2026-11-21T08:00:59Z; cooling off", "case:77"),
        (.hold(Hold(id: "wildfire-ca", title: "California wildfire", reason: "no grilling promotions", startsAt: t("2026-11-20T00:00:00Z"))),
         "California wildfire: no grilling promotions", "hold:wildfire-ca"),
        (.hold(Hold(id: "storm", title: "Storm", startsAt: t("2026-11-20T00:00:00Z"))), "Storm", "hold:storm"),
        (.quietHours(channel: "sms", window: QuietHours(start: LocalTime(hour: 21), end: LocalTime(hour: 8, minute: 5)),
                     zone: zone("America/New_York")),
         "quiet hours for sms are 21:00–08:05 in America/New_York", "policy:quiet_hours:sms"),
        (.frequencyCap(FrequencyCap(purpose: .marketing, channel: nil, max: 3, window: 7 * day), count: 3),
         "3 marketing contacts on all channels in the last 7 days (cap 3)", "policy:frequency_cap:marketing:*"),
        (.frequencyCap(FrequencyCap(purpose: .marketing, channel: "email", max: 1, window: day), count: 12),
         "12 marketing contacts on email in the last day (cap 1)", "policy:frequency_cap:marketing:email"),
        (.lowWillingness(score: -5, window: 36 * hour, threshold: 0),
         "willingness score -5 over the last 36 hours is below 0", "policy:willingness"),
        (.lowWillingness(score: -120, window: 30 * day, threshold: -10),
         "willingness score -120 over the last 30 days is below -10", "policy:willingness"),
        (.text(message: "store unavailable", ref: nil), "store unavailable", nil),
        (.text(message: "other", ref: "x:1"), "other", "x:1"),
    ] as [(Reason.Detail, String, String?)])
    func wordsAndRef(detail: Reason.Detail, message: String, ref: String?) {
        let reason = Reason(code: .unavailable, detail: detail)
        #expect(reason.message == message)
        #expect(reason.ref == ref)
        #expect(reason.hasRef == (ref != nil))
        let written = pieces(reason)
        #expect(written.message == message)
        #expect(written.ref == ref)
    }
}
