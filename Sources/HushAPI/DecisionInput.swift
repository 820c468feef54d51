import Foundation
import HushCore
import HushHTTP
import HushStore

/// One decision request as the API takes it, validated.
struct DecisionInput {
    var request: DecisionRequest
    var reserve = false
    var campaignID: String?
    /// A consistency token the caller wants this node to have reached before it decides.
    var minToken: ConsistencyToken?
}

extension API {
    /// The query parameters `GET /v1/decisions` takes.
    static let decisionQuery: Set<String> = ["customer_id", "channel", "purpose", "category", "address", "region", "timezone", "at", "campaign_id",
                                             "min_token"]

    /// A `min_token` as given (a field or a query parameter): a token a write answered.
    static func consistencyToken(_ text: String?, field: String) throws(ValidationError) -> ConsistencyToken? {
        guard let text else { return nil }
        guard let token = ConsistencyToken(text) else {
            throw ValidationError(field: field, message: "must be a consistency token as a write answered it (such as 0/16B3748)")
        }
        return token
    }

    /// A decision request from a JSON object; errors name the field under `prefix`.
    func decisionInput(_ value: JSONValue, prefix: String = "", allowReserve: Bool = true) throws(ValidationError) -> DecisionInput {
        var r = try FieldReader(value, prefix: prefix, what: prefix.isEmpty ? "the body" : "each request")
        var input = try decisionInput(
            customerID: try r.string("customer_id"), channel: try r.string("channel"), purpose: try r.string("purpose"),
            categories: try r.strings("categories", nonEmpty: false, maxCount: limits.maxCategories), address: try r.string("address"),
            region: try r.string("region"), timezone: try r.string("timezone"), at: try r.time("at"),
            reserve: allowReserve ? try r.bool("reserve") : nil, campaignID: try r.string("campaign_id"), path: r.path)
        if !allowReserve, r.has("reserve") {
            throw ValidationError(field: r.path("reserve"), message: "is not taken in a batch: reserve with POST /v1/decisions, one at a time")
        }
        if r.has("category") {
            throw ValidationError(field: r.path("category"), message: "is the query parameter's name: in a JSON body use categories, a list")
        }
        if allowReserve { input.minToken = try Self.consistencyToken(try r.string("min_token"), field: r.path("min_token")) }
        try r.finish()
        return input
    }

    /// A decision request from fields read straight from the bytes (`DecisionBody`): the same
    /// checks, in the same order, as the general path (which reads `at` before the rest).
    func decisionInput(fast body: DecisionBody, in bytes: [UInt8]) throws(ValidationError) -> DecisionInput {
        func text(_ range: Range<Int>?) -> String? { DecisionBody.text(range, in: bytes) }
        let at = try text(body.at).map { text throws(ValidationError) in try Validate.time(text, field: "at") }
        return try decisionInput(customerID: text(body.customerID), channel: text(body.channel), purpose: text(body.purpose),
                                 categories: body.categories,
                                 address: text(body.address), region: text(body.region), timezone: text(body.timezone), at: at,
                                 reserve: body.reserve, campaignID: text(body.campaignID), path: { $0 })
    }

    /// The decision request in a POST body: straight from the bytes when the body is plain,
    /// else through the general JSON path.
    func decisionInput(body request: Request) throws(APIError) -> DecisionInput {
        if Self.hasJSONBody(request), let fields = DecisionBody.parse(request.body, maxCategories: limits.maxCategories) {
            do throws(ValidationError) { return try decisionInput(fast: fields, in: request.body) } catch { throw .invalid(error) }
        }
        let value = try body(request)
        return try validating { () throws(ValidationError) in try decisionInput(value) }
    }

    /// A decision request from `GET /v1/decisions` query parameters (`category` may repeat),
    /// which the route table has checked against `decisionQuery`.
    func decisionInput(query: QueryParameters) throws(APIError) -> DecisionInput {
        do throws(ValidationError) {
            return try Self.decisionInput(query: query, policy: policy, maxCategories: limits.maxCategories)
        } catch {
            throw .invalid(error)
        }
    }

    /// The query form's checks, for the API and for `hush decide`, whose flags are the same names.
    static func decisionInput(query: QueryParameters, policy: Policy, maxCategories: Int) throws(ValidationError) -> DecisionInput {
        let at = try query.first("at").map { text throws(ValidationError) in try Validate.time(text, field: "at") }
        let categories = query.all("category")
        if categories.count > maxCategories { throw ValidationError(field: "category", message: "may repeat at most \(maxCategories) times") }
        var input = try decisionInput(customerID: query.first("customer_id"), channel: query.first("channel"), purpose: query.first("purpose"),
                                      categories: categories, address: query.first("address"), region: query.first("region"),
                                      timezone: query.first("timezone"), at: at, reserve: nil, campaignID: query.first("campaign_id"),
                                      path: { $0 }, policy: policy)
        input.minToken = try consistencyToken(query.first("min_token"), field: "min_token")
        return input
    }

    private func decisionInput(customerID: String?, channel: String?, purpose: String?, categories: [String]?, address: String?,
                               region: String?, timezone: String?, at: Date?, reserve: Bool?, campaignID: String?,
                               path: (String) -> String) throws(ValidationError) -> DecisionInput {
        try Self.decisionInput(customerID: customerID, channel: channel, purpose: purpose, categories: categories, address: address,
                               region: region, timezone: timezone, at: at, reserve: reserve, campaignID: campaignID, path: path, policy: policy)
    }

    static func decisionInput(customerID: String?, channel: String?, purpose: String?, categories: [String]?, address: String?,
                              region: String?, timezone: String?, at: Date?, reserve: Bool?, campaignID: String?,
                              path: (String) -> String, policy: Policy) throws(ValidationError) -> DecisionInput {
        guard let channelName = channel else { throw ValidationError(field: path("channel"), message: "is required") }
        let channel = try Validate.channel(channelName, field: path("channel"), policy: policy)
        let customer = try customerID.map { id throws(ValidationError) in try Validate.identifier(id, field: path("customer_id")) }
        let parsedAddress = try address.map { text throws(ValidationError) in try Address.parse(text, field: path("address")) }
        guard customer != nil || parsedAddress != nil else {
            throw ValidationError(field: path("customer_id"), message: "or address is required")
        }
        let purposeValue = try purpose.map { name throws(ValidationError) in try Validate.purpose(name, field: path("purpose"), policy: policy) }
        var uniqueCategories: [String] = []
        if let categories {
            // Validation returns each name unchanged; the list is taken as it came (no second
            // array) unless a name repeats.
            var repeats = false
            for (i, category) in categories.enumerated() {
                _ = try Validate.identifier(category, field: path("categories") + "[\(i)]")
                if !repeats, categories[..<i].contains(category) { repeats = true }
            }
            if repeats {
                uniqueCategories.reserveCapacity(categories.count)
                for category in categories where !uniqueCategories.contains(category) { uniqueCategories.append(category) }
            } else {
                uniqueCategories = categories
            }
        }
        let regionValue = try region.map { text throws(ValidationError) in try Validate.region(text, field: path("region")) }
        let zone = try timezone.map { name throws(ValidationError) in try Validate.timeZone(name, field: path("timezone")) }
        let campaign = try campaignID.map { id throws(ValidationError) in try Validate.identifier(id, field: path("campaign_id")) }
        if reserve == true, customer == nil {
            throw ValidationError(field: path("reserve"), message: "needs customer_id: a contact is recorded against a customer")
        }
        if reserve == true, let at { _ = try Validate.counted(at, field: path("at"), now: Date(), policy: policy) }
        // Built in one expression, after every check: a request assembled apart and then
        // stored, or changed after it was made, would be copied.
        return DecisionInput(request: DecisionRequest(customerID: customer, address: parsedAddress, channel: channel, purpose: purposeValue ?? .marketing,
                                                      categories: uniqueCategories, region: regionValue, timeZone: zone, at: at),
                             reserve: reserve ?? false, campaignID: campaign)
    }
}
