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

    /// A subject's hash as the log writes it, from its HMAC under the log key: the first 128
    /// bits, in hex.
    static func logHashHex(_ hmac: [UInt8]) -> String {
        Hex.encode(Array(hmac.prefix(logHashBytes)))
    }

    /// Records one decision on `context`'s loop. False when it could not be recorded (the log
    /// holds decisions back and has no room, or cannot write): the caller answers 503
    /// `unavailable` instead, so that no answer goes unrecorded. `made_at` is the millisecond
    /// the id was made at (a decision's id is made when it is).
    func record(_ decision: borrowing Decision, _ request: borrowing DecisionRequest, id: DecisionID, reserved: Bool?,
                caller: Actor, context: LoopContext) -> Bool {
        guard decisionLog.options.sink != .off else { return true }
        var erasedCustomer = false, erasedAddress = false
        for reason in decision.reasons where reason.code == .erased {
            if case .erasedAddress = reason.detail { erasedAddress = true } else { erasedCustomer = true }
        }
        let customer = erasedCustomer ? nil : request.customerID.map { logHash(.customer($0), context) }
        let address = erasedAddress ? nil : request.address.map { logHash(.address($0), context) }
        let outcome = context.logLine.render { w in
            w.reset()
            w.objectStart()
            w.key("decision_id"); w.string(id)
            w.key("made_at"); w.timeMillis(milliseconds: Int64(id.milliseconds))
            w.key("at"); w.time(decision.evaluatedAt)
            w.key("policy_version"); w.raw(policyVersionJSON)
            w.key("customer")
            if let customer { w.hex(high: customer.high, low: customer.low) } else { w.null() }
            if let address { w.key("address"); w.hex(high: address.high, low: address.low) }
            w.key("channel"); w.string(request.channel.rawValue)
            w.key("purpose"); w.string(request.purpose.rawValue)
            w.key("categories"); w.strings(request.categories)
            w.key("region"); w.string(request.region)
            w.key("decision"); if decision.allowed { w.raw(static: "\"allow\"") } else { w.raw(static: "\"suppress\"") }
            w.key("reasons")
            w.arrayStart()
            for reason in decision.reasons {
                w.objectStart()
                w.key("code"); w.string(reason.code.rawValue)
                w.key("ref")
                if reason.hasRef { w.string { reason.writeRef($0) } } else { w.null() }
                w.key("until"); w.time(reason.until)
                w.objectEnd()
            }
            w.arrayEnd()
            w.key("retry_after"); w.time(decision.retryAfter)
            w.key("reserved")
            if let reserved { w.bool(reserved) } else { w.null() }
            w.key("key"); w.string(caller.name)
            w.objectEnd()
            return w.withBytes { line in
                decisionLog.append(loop: context.index, ms: id.milliseconds, customer: customer?.high ?? 0, address: address?.high ?? 0, line: line)
            }
        }
        switch outcome {
        case .recorded: return true
        case .dropped: return true
        case .refused: return false
        }
    }

    /// A subject's hash in the log (its first 128 bits), remembered for the next decision: the
    /// decisions of one customer on every channel, or in the customer view, come one after another.
    private func logHash(_ subject: Subject, _ context: LoopContext) -> (high: UInt64, low: UInt64) {
        if let last = context.lastLogSubject, last == subject { return context.lastLogHash }
        let hash = context.logHasher.hash128(subject)
        context.lastLogSubject = subject
        context.lastLogHash = hash
        return hash
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
    private var value = JSONWriter(capacity: 1024)

    /// Lends the writer to `body`: one access for the whole line.
    func render<R>(_ body: (inout JSONWriter) -> R) -> R { body(&value) }
}
