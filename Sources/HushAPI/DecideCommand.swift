import ArgumentParser
import Foundation
import HushCore
import HushHTTP
import HushStore

/// `hush decide`: one decision from the database file, as `GET /v1/decisions` would answer it,
/// without a server. It reads and changes nothing: no contact is reserved, and the decision is
/// not in the decision log (its `decision_id` is null), since a serving hush owns the log.
struct Decide: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one decision from the database, as GET /v1/decisions would answer it (nothing is recorded).",
        discussion: """
            The same checks as the API: a customer id or an address, a channel of the policy, and \
            so on. The policy is the configuration's. Erased customers are recognised with the \
            erasure key (HUSH_ERASURE_KEY, erasure_key, or the development key beside the database).
            """)

    @Option(name: .customLong("customer-id"), help: ArgumentHelp("The customer.", valueName: "id")) var customerID: String?
    @Option(help: ArgumentHelp("An e-mail address or phone number, with or instead of the customer.", valueName: "address")) var address: String?
    @Option(help: ArgumentHelp("email, sms, push, … (a channel of the policy).", valueName: "channel")) var channel: String?
    @Option(help: ArgumentHelp("marketing (default), service, …", valueName: "purpose")) var purpose: String?
    @Option(help: ArgumentHelp("A category of the message; repeat for several.", valueName: "category")) var category: [String] = []
    @Option(help: ArgumentHelp("The region, when the profile has none.", valueName: "region")) var region: String?
    @Option(help: ArgumentHelp("The time zone, when the profile has none.", valueName: "zone")) var timezone: String?
    @Option(help: ArgumentHelp("Decide as of this RFC 3339 time (default: now).", valueName: "time")) var at: String?

    @OptionGroup var location: StoreLocation

    func run() throws {
        let settings = location.settings()
        let config = settings.config
        var items: [(name: String, value: String)] = []
        for (name, value) in [("customer_id", customerID), ("address", address), ("channel", channel), ("purpose", purpose),
                              ("region", region), ("timezone", timezone), ("at", at)] {
            if let value { items.append((name, value)) }
        }
        items += category.map { ("category", $0) }
        let input: DecisionInput
        do {
            input = try API.decisionInput(query: QueryParameters(items), policy: config.policy, maxCategories: config.limits.api.maxCategories)
        } catch {
            fail("--\(error.field.replacingOccurrences(of: "_", with: "-")) \(error.message.replacingOccurrences(of: "or address is", with: "or --address is"))")
        }
        let opened: (reader: SQLiteReader, holds: [Hold], erasures: Int)
        do { opened = try DatabaseSnapshot.decisionReader(path: config.server.database) } catch { fail(error.message) }
        var key = config.erasureKey.map { Array($0.utf8) }
        if key == nil {
            do throws(ConfigError) { key = try Service.existingDevelopmentKey(beside: config.server.database) } catch { fail(error.message) }
        }
        let hasher: TombstoneHasher?
        if let key { hasher = try? TombstoneHasher(key: key) } else { hasher = nil }
        if hasher == nil, opened.erasures > 0 {
            fail("the database holds erasures, which cannot be checked without its erasure key (HUSH_ERASURE_KEY or erasure_key)")
        }
        let now = Date()
        let decision: Decision
        do {
            decision = try opened.reader.withFacts(customerID: input.request.customerID, address: input.request.address,
                                                   channel: input.request.channel, at: input.request.at ?? now,
                                                   lookback: config.policy.longestWindow, holds: opened.holds,
                                                   tombstoneHash: { hasher?.hash($0) ?? [] }) { facts in
                decide(input.request, facts: facts, policy: config.policy, now: now)
            }
        } catch {
            fail(error.message)
        }
        var w = JSONWriter()
        API.writeDecision(&w, decision, input.request, id: nil, reserved: nil, policyVersion: API.policyVersion(config.policy))
        print(String(decoding: JSONPretty.format(w.bytes), as: UTF8.self))
    }
}
