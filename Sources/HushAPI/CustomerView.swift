import Foundation
import HushCore
import HushHTTP
import HushStore

/// The single customer view (`GET /v1/customers/{id}`): what hush knows of a customer and what
/// it would answer now on every channel.
extension API {
    /// The page an ops person opens first: what hush knows and what it would answer now.
    /// Returns false when one of its decisions could not be recorded (answered `unavailable`).
    func writeCustomerView(_ w: inout JSONWriter, id: String, facts: Facts, history: [HistoryEntry], caller: Actor, context: LoopContext,
                           now: Date) -> Bool {
        var recorded = true
        w.objectStart()
        w.key("customer_id"); w.string(id)
        w.key("profile")
        if let profile = facts.profile { w.profile(profile) } else { w.null() }
        w.key("erased"); w.bool(facts.customerErased)
        // Open and pending cases, and closed ones still inside the cool-off or the lookback
        // (a positive resolution has no cool-off, but is shown for the lookback all the same).
        w.key("cases")
        w.arrayStart()
        for c in facts.cases where c.status != .closed || (c.closedAt.map { now.timeIntervalSince($0) < max(policy.caseCoolOff, policy.longestWindow) } ?? true) {
            w.serviceCase(c)
        }
        w.arrayEnd()
        w.key("suppressions")
        w.arrayStart()
        for s in facts.suppressions { w.suppression(s) }
        w.arrayEnd()
        let region = facts.profile?.region
        w.key("holds")
        w.arrayStart()
        for hold in facts.holds where hold.isActive(at: now) {
            if let regions = hold.regions {
                guard let region, regions.contains(where: { Region.covers($0, region) }) else { continue }
            }
            w.hold(hold)
        }
        w.arrayEnd()
        w.key("contacts")
        w.arrayStart()
        for contact in facts.contacts.sorted(by: { $0.at > $1.at }) where contact.at <= now {
            w.objectStart()
            w.key("channel"); w.string(contact.channel.rawValue)
            w.key("purpose"); w.string(contact.purpose.rawValue)
            w.key("at"); w.time(contact.at)
            w.objectEnd()
        }
        w.arrayEnd()
        // The window a decision now counts, `(now - window, now]`, and what falls in it.
        let from = now.addingTimeInterval(-policy.willingnessWindow)
        let counted = facts.interactions.filter { $0.at > from && $0.at <= now }.sorted { $0.at > $1.at }
        w.key("willingness")
        w.objectStart()
        w.key("score"); w.integer(counted.reduce(0) { $0 + $1.score })
        w.key("threshold"); w.integer(policy.willingnessThreshold)
        w.key("window_days"); w.number(policy.willingnessWindow / 86_400)
        w.key("interactions")
        w.arrayStart()
        for interaction in counted {
            w.objectStart()
            w.key("type"); w.string(interaction.type)
            w.key("score"); w.integer(interaction.score)
            w.key("at"); w.time(interaction.at)
            w.objectEnd()
        }
        w.arrayEnd()
        w.objectEnd()
        // The newest changes to the customer's records, newest first.
        w.key("history")
        w.arrayStart()
        for entry in history { w.historyEntry(entry) }
        w.arrayEnd()
        w.key("decisions")
        w.arrayStart()
        for channel in policy.channels {
            var request = DecisionRequest(customerID: id, channel: channel)
            request.at = now
            var decision = decide(request, facts: facts, policy: policy, now: now, offsets: context.zoneOffsets)
            let decisionID = decisionID(context, at: now)
            if !record(decision, request, id: decisionID, reserved: nil, caller: caller, context: context) {
                decision = Decision.unavailable(at: now, detail: Self.unrecordedDetail)
                recorded = false
            }
            writeDecision(&w, decision, request, id: decisionID, reserved: nil)
        }
        w.arrayEnd()
        w.objectEnd()
        return recorded
    }
}
