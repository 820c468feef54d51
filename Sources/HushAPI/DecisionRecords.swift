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
        let outcome = context.logLine.render { w, runs in
            Self.writeLogLine(&w, &runs, decision, request, id: id, reserved: reserved, customer: customer, address: address,
                              key: caller.name, policyVersion: policyVersionJSON)
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

    /// One decision's log line, from the start: `customer` and `address` are the subjects' hashes
    /// (nil for none, or an erased one). The runs that repeat from one line to the next come from
    /// `runs` when they were written for the same values.
    static func writeLogLine(_ w: inout JSONWriter, _ runs: inout LogLineRuns, _ decision: borrowing Decision,
                             _ request: borrowing DecisionRequest, id: DecisionID, reserved: Bool?,
                             customer: (high: UInt64, low: UInt64)?, address: (high: UInt64, low: UInt64)?,
                             key: String, policyVersion: [UInt8]) {
        w.reset()
        w.objectStart()
        w.key("decision_id"); w.string(id)
        runs.times(&w, ms: id.milliseconds, at: decision.evaluatedAt, policyVersion: policyVersion)
        if let customer { w.hex(high: customer.high, low: customer.low) } else { w.null() }
        if let address { w.key("address"); w.hex(high: address.high, low: address.low) }
        runs.attributes(&w, request)
        if decision.allowed { w.raw(static: "\"allow\"") } else { w.raw(static: "\"suppress\"") }
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
        runs.end(&w, key: key)
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

/// A `JSONWriter` a loop keeps for its log lines, reused from one decision to the next, and the
/// runs of a line that repeat from one decision to the next, kept as written and written again
/// as they are: the times and the policy version (the same for a millisecond's decisions, a
/// batch's items), the request's attributes (the last few kinds of request), and the key's name.
/// Each is kept with what it was written from, and written afresh when that differs.
final class LogLineBuffer {
    /// A loop's own, used on its thread only: no per-access exclusivity check.
    @exclusivity(unchecked) private var value = JSONWriter(capacity: 1024)
    @exclusivity(unchecked) private var runs = LogLineRuns()

    /// Lends the writer and the runs to `body`: one access to each for the whole line.
    func render<R>(_ body: (inout JSONWriter, inout LogLineRuns) -> R) -> R { body(&value, &runs) }
}

/// The runs of a log line that repeat from one decision to the next (see `LogLineBuffer`).
struct LogLineRuns {
    /// `,"made_at":…,"at":…,"policy_version":…,"customer":`
    private var timesRun: [UInt8] = []
    private var timesMs = UInt64.max, timesAt = Date.distantPast, timesVersion: [UInt8] = []

    /// `,"channel":…,"purpose":…,"categories":[…],"region":…,"decision":`
    private struct Attributes {
        var channel: Channel, purpose: Purpose, categories: [String], region: String?
        var run: [UInt8]
    }
    private var attributeRuns: [Attributes] = []
    private var nextAttributes = 0
    static let attributeRunsKept = 4

    /// `,"key":…}`
    private var keyName: String?
    private var keyRun: [UInt8] = []

    /// `made_at`, `at`, `policy_version` and the key `customer`, after the decision id.
    mutating func times(_ w: inout JSONWriter, ms: UInt64, at: Date, policyVersion: [UInt8]) {
        if ms == timesMs, at == timesAt, policyVersion == timesVersion {
            w.splice(timesRun, endsWithValue: false)
            return
        }
        let start = w.position
        w.key("made_at"); w.timeMillis(milliseconds: Int64(ms))
        w.key("at"); w.time(at)
        w.key("policy_version"); w.raw(policyVersion)
        w.key("customer")
        w.copy(from: start, into: &timesRun)
        (timesMs, timesAt, timesVersion) = (ms, at, policyVersion)
    }

    /// `channel`, `purpose`, `categories`, `region` and the key `decision`, after the subjects.
    mutating func attributes(_ w: inout JSONWriter, _ request: borrowing DecisionRequest) {
        for i in attributeRuns.indices
        where attributeRuns[i].channel == request.channel && attributeRuns[i].purpose == request.purpose
            && attributeRuns[i].region == request.region && attributeRuns[i].categories == request.categories {
            w.splice(attributeRuns[i].run, endsWithValue: false)
            return
        }
        let start = w.position
        w.key("channel"); w.string(request.channel.rawValue)
        w.key("purpose"); w.string(request.purpose.rawValue)
        w.key("categories"); w.strings(request.categories)
        w.key("region"); w.string(request.region)
        w.key("decision")
        // Into a free entry, or over the oldest, reusing its run's memory.
        let slot: Int
        if attributeRuns.count < Self.attributeRunsKept {
            attributeRuns.append(Attributes(channel: request.channel, purpose: request.purpose, categories: request.categories,
                                            region: request.region, run: []))
            slot = attributeRuns.count - 1
        } else {
            slot = nextAttributes
            nextAttributes = (nextAttributes + 1) % Self.attributeRunsKept
            (attributeRuns[slot].channel, attributeRuns[slot].purpose) = (request.channel, request.purpose)
            (attributeRuns[slot].categories, attributeRuns[slot].region) = (request.categories, request.region)
        }
        w.copy(from: start, into: &attributeRuns[slot].run)
    }

    /// The member `key` and the line's closing brace.
    mutating func end(_ w: inout JSONWriter, key name: String) {
        if name == keyName {
            w.splice(keyRun, endsWithValue: true)
            return
        }
        let start = w.position
        w.key("key"); w.string(name)
        w.objectEnd()
        w.copy(from: start, into: &keyRun)
        keyName = name
    }
}
