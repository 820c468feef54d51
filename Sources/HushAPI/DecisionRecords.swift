import Foundation
import HushCore
import HushHTTP
import HushLog
import HushStore

/// The API's side of the decision log (`HushLog`): every decision it answers becomes one NDJSON
/// line, written on the loop into the loop's buffer before the answer goes out.
///
///     {"decision_id", "made_at", "at", "policy_version", "customer", ["address",] "channel",
///      "purpose", "categories", "region", "decision", "reasons": [{"code", "ref", "until"}],
///      "retry_after", "reserved", "key"}
///
/// `customer` and `address` are not the id and the address but keyed hashes of them
/// (HMAC-SHA256 under a key derived from the erasure key, the first 16 bytes in hex): hush can
/// find a customer's decisions, a reader of the files cannot. A decision about an erased id or
/// address names neither: nothing links it to whom it was about.
extension API {
    /// The key of the log's hashes: HMAC-SHA256 of a fixed label under the erasure key, so that
    /// the log's hashes are not the tombstones' and a leaked log key reveals no erasure key.
    static func decisionLogKey(erasureKey: [UInt8]) throws(ValidationError) -> [UInt8] {
        try TombstoneHasher(key: erasureKey).hmac(Array("hush decision log v1".utf8))
    }

    /// Bytes of a subject hash kept in the log (128 bits).
    static let logHashBytes = 16

    /// Records one decision on `context`'s loop. False when it could not be recorded (the log
    /// holds decisions back and has no room, or cannot write): the caller answers 503
    /// `unavailable` instead, so that no answer goes unrecorded.
    func record(_ decision: borrowing Decision, _ request: borrowing DecisionRequest, id: DecisionID, made: Date, reserved: Bool?,
                caller: Actor, context: LoopContext) -> Bool {
        guard decisionLog.options.sink != .off else { return true }
        var erasedCustomer = false, erasedAddress = false
        for reason in decision.reasons where reason.code == .erased {
            if case .erasedAddress = reason.detail { erasedAddress = true } else { erasedCustomer = true }
        }
        let customer = erasedCustomer ? nil : request.customerID.map { logHash(.customer($0), context) }
        let address = erasedAddress ? nil : request.address.map { logHash(.address($0), context) }
        let w = context.logLine
        w.value.reset()
        w.value.objectStart()
        w.value.key("decision_id"); w.value.string(id)
        w.value.key("made_at"); w.value.timeMillis(made)
        w.value.key("at"); w.value.time(decision.evaluatedAt)
        w.value.key("policy_version"); w.value.string(policyVersion)
        w.value.key("customer")
        if let customer { w.value.hex(customer.prefix(Self.logHashBytes)) } else { w.value.null() }
        if let address { w.value.key("address"); w.value.hex(address.prefix(Self.logHashBytes)) }
        w.value.key("channel"); w.value.string(request.channel.rawValue)
        w.value.key("purpose"); w.value.string(request.purpose.rawValue)
        w.value.key("categories"); w.value.strings(request.categories)
        w.value.key("region"); w.value.string(request.region)
        w.value.key("decision"); w.value.string(decision.allowed ? "allow" : "suppress")
        w.value.key("reasons")
        w.value.arrayStart()
        for reason in decision.reasons {
            w.value.objectStart()
            w.value.key("code"); w.value.string(reason.code.rawValue)
            w.value.key("ref")
            if reason.hasRef { w.value.string { reason.writeRef($0) } } else { w.value.null() }
            w.value.key("until"); w.value.time(reason.until)
            w.value.objectEnd()
        }
        w.value.arrayEnd()
        w.value.key("retry_after"); w.value.time(decision.retryAfter)
        w.value.key("reserved")
        if let reserved { w.value.bool(reserved) } else { w.value.null() }
        w.value.key("key"); w.value.string(caller.name)
        w.value.objectEnd()
        let outcome = w.value.withBytes { line in
            decisionLog.append(loop: context.index, ms: id.milliseconds, customer: Self.hash64(customer), address: Self.hash64(address), line: line)
        }
        switch outcome {
        case .recorded: return true
        case .dropped: return true
        case .refused: return false
        }
    }

    /// A subject's hash in the log, remembered for the next decision: the decisions of one
    /// customer on every channel, or in the customer view, come one after another.
    private func logHash(_ subject: Subject, _ context: LoopContext) -> [UInt8] {
        if let last = context.lastLogHash, last.subject == subject { return last.hash }
        let hash = context.logHasher.hash(subject)
        context.lastLogHash = (subject, hash)
        return hash
    }

    /// The first 64 bits of a hash, as the log's index keys it (0: none).
    static func hash64(_ hash: [UInt8]?) -> UInt64 {
        guard let hash else { return 0 }
        var value: UInt64 = 0
        for b in hash.prefix(8) { value = value << 8 | UInt64(b) }
        return value
    }

    /// What a decision that could not be recorded answers: `suppress`, `unavailable`, 503.
    static let unrecordedDetail = "the decision log cannot record decisions"

    /// A logged line as the API shows it: every member but the subject hashes.
    static func writeLogged(_ w: inout JSONWriter, _ line: [UInt8]) {
        guard case .object(let members)? = try? JSONParser.parse(line) else {
            w.objectStart(); w.objectEnd()
            return
        }
        w.objectStart()
        for (key, value) in members where key != "customer" && key != "address" {
            w.key(dynamic: key)
            w.value(value)
        }
        w.objectEnd()
    }
}

/// A `JSONWriter` a loop keeps for its log lines, reused from one decision to the next.
final class LogLineBuffer {
    var value = JSONWriter(capacity: 1024)
}
