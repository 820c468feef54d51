import Foundation
import HushCore
import HushHTTP
import HushStore

/// `POST /v1/contacts` and `POST /v1/interactions`: what frequency caps and willingness count.
extension API {
    func postContact(_ request: Request) throws(APIError) -> PreparedWrite {
        var r = try object(request)
        let (customer, contact, campaign) = try validating { () throws(ValidationError) -> (String, Contact, String?) in
            let customer = try Validate.identifier(try r.requiredString("customer_id"), field: "customer_id")
            let channel = try Validate.channel(try r.requiredString("channel"), field: "channel", policy: policy)
            let purpose = try r.string("purpose").map { v throws(ValidationError) in try Validate.purpose(v, field: "purpose", policy: policy) } ?? .marketing
            let at = try countedTime(&r)
            let campaign = try r.string("campaign_id").map { v throws(ValidationError) in try Validate.identifier(v, field: "campaign_id") }
            try r.finish()
            return (customer, Contact(channel: channel, purpose: purpose, at: at), campaign)
        }
        return PreparedWrite({ w throws(StoreError) in try w.recordContact(customerID: customer, contact, campaignID: campaign) }) { [self] in
            json(request, .created) { out in
                out.objectStart()
                out.key("customer_id"); out.string(customer)
                out.key("channel"); out.string(contact.channel.rawValue)
                out.key("purpose"); out.string(contact.purpose.rawValue)
                out.key("at"); out.time(contact.at)
                out.key("campaign_id"); out.string(campaign)
                out.objectEnd()
            }
        }
    }

    func postInteraction(_ request: Request) throws(APIError) -> PreparedWrite {
        var r = try object(request)
        let (customer, interaction) = try validating { () throws(ValidationError) -> (String, Interaction) in
            let customer = try Validate.identifier(try r.requiredString("customer_id"), field: "customer_id")
            let type = try Validate.identifier(try r.requiredString("type"), field: "type")
            let score: Int
            if let given = try r.integer("score", in: -1000...1000) {
                score = Int(given)
            } else if let configured = policy.interactionScores[type] {
                score = configured
            } else {
                throw ValidationError(field: "score", message: "is required for type \"\(type)\", which has no configured score")
            }
            let at = try countedTime(&r)
            try r.finish()
            return (customer, Interaction(type: type, score: score, at: at))
        }
        return PreparedWrite({ w throws(StoreError) in try w.recordInteraction(customerID: customer, interaction) }) { [self] in
            json(request, .created) { out in
                out.objectStart()
                out.key("customer_id"); out.string(customer)
                out.key("type"); out.string(interaction.type)
                out.key("score"); out.integer(interaction.score)
                out.key("at"); out.time(interaction.at)
                out.objectEnd()
            }
        }
    }

    /// `at`, or now: a time the policy's windows can still count (`Validate.counted`).
    private func countedTime(_ r: inout FieldReader) throws(ValidationError) -> Date {
        let now = Date()
        guard let at = try r.time("at") else { return now }
        return try Validate.counted(at, field: "at", now: now, policy: policy)
    }
}
