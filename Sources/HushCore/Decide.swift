import Foundation

/// Decides whether `request` may be sent, given the customer's `facts` and the `policy`, at
/// `request.at` or else `now`. Pure: no I/O, no clock. Every reason that applies is listed.
public func decide(_ request: DecisionRequest, facts: Facts, policy: Policy, now: Date) -> Decision {
    let at = request.at ?? now
    var reasons: [Reason] = []
    // The context points at the caller's values for the length of this call: copying `Facts`,
    // the request and the policy would retain and release every array and string they hold.
    withUnsafePointer(to: request) { request in
        withUnsafePointer(to: facts) { facts in
            withUnsafePointer(to: policy) { policy in
                let context = DecisionContext(request: request, facts: facts, policy: policy, at: at)
                context.erasure(into: &reasons)
                context.suppressions(into: &reasons)
                context.cases(into: &reasons)
                context.holds(into: &reasons)
                context.quietHours(into: &reasons)
                context.frequencyCaps(into: &reasons)
                context.willingness(into: &reasons)
            }
        }
    }
    return Decision(reasons: reasons, evaluatedAt: at)
}

/// One decision's inputs, with the request's effective address, region and clock resolved.
/// Lives only inside `decide`, which keeps what the pointers point at alive and unchanged.
struct DecisionContext {
    private let requestPointer: UnsafePointer<DecisionRequest>
    private let factsPointer: UnsafePointer<Facts>
    private let policyPointer: UnsafePointer<Policy>
    let at: Date
    /// The addresses this send would go to: the request's (on whatever channel it names), and
    /// the profile's for the channel.
    let addresses: [Address]
    /// The policy rules that apply to the request's purpose (`PolicyRule.bit`).
    let rules: UInt8

    init(request: UnsafePointer<DecisionRequest>, facts: UnsafePointer<Facts>, policy: UnsafePointer<Policy>, at: Date) {
        requestPointer = request
        factsPointer = facts
        policyPointer = policy
        self.at = at
        var addresses: [Address] = []
        let channel = request.pointee.channel
        if let address = request.pointee.address { addresses.append(address) }
        if let address = facts.pointee.profile?.address(for: channel), !addresses.contains(address) { addresses.append(address) }
        self.addresses = addresses
        rules = policy.pointee.rules(for: request.pointee.purpose)
    }

    var request: DecisionRequest { _read { yield requestPointer.pointee } }
    var facts: Facts { _read { yield factsPointer.pointee } }
    var policy: Policy { _read { yield policyPointer.pointee } }

    var region: String? { request.region ?? facts.profile?.region }
    var timeZone: TimeZone { request.timeZone ?? facts.profile?.timeZone ?? policy.defaultTimeZone }

    func applies(_ rule: PolicyRule) -> Bool { rules & rule.bit != 0 }

    // MARK: Records

    /// An erasure tombstone covers every purpose, for the customer id and for any address it
    /// names, on the channels that use that address.
    func erasure(into reasons: inout [Reason]) {
        if facts.customerErased, request.customerID != nil {
            reasons.append(Reason(code: .erased, detail: .erasedCustomer))
        } else if !facts.erasedAddresses.isEmpty,
                  addresses.contains(where: { facts.erasedAddresses.contains($0) && $0.channels.contains(request.channel) }) {
            reasons.append(Reason(code: .erased, detail: .erasedAddress))
        }
    }

    func suppressions(into reasons: inout [Reason]) {
        for suppression in facts.suppressions where covers(suppression) {
            let code: ReasonCode = switch suppression.kind {
            case .doNotContact: .doNotContact
            case .optOut: .optedOut
            case .objection: .objected
            }
            reasons.append(Reason(code: code, detail: .suppression(suppression), until: suppression.expiresAt.map(Timestamp.ceilingSecond)))
        }
    }

    /// DESIGN.md "What a record covers": subject, expiry, channels, purposes, and the broad
    /// reading of an unconfirmed single-channel opt-out.
    func covers(_ suppression: Suppression) -> Bool {
        if let expiresAt = suppression.expiresAt, at >= expiresAt { return false }
        // Whether the broad reading below may reach the request's channel: every channel of a
        // customer, and of an address the channels that use it.
        let broadReaches: Bool
        switch suppression.subject {
        case .customer(let id):
            guard id == request.customerID else { return false }
            broadReaches = true
        case .address(let address):
            guard addresses.contains(address) else { return false }
            broadReaches = address.channels.contains(request.channel)
            // The profile's addresses are matched by channel; the request's own on any channel
            // (an e-mail address named on a push still meets its suppressions).
            if !broadReaches, address != request.address { return false }
        }
        let purposes = suppression.purposes ?? suppression.kind.defaultPurposes
        // transactional only where named, only by a do_not_contact, and only once confirmed.
        let purposeCovered = request.purpose == .transactional
            ? purposes.contains(.transactional) && suppression.kind == .doNotContact && suppression.confirmed
            : purposes.contains(request.purpose)
        if purposeCovered, suppression.channels?.contains(request.channel) ?? true { return true }
        // Read broadly until confirmed: every channel of the subject, for marketing.
        let broad = !suppression.confirmed && policy.broadUnconfirmedOptOut && suppression.kind == .optOut && suppression.channels != nil
        return broad && broadReaches && request.purpose == .marketing
    }

    func cases(into reasons: inout [Reason]) {
        for serviceCase in facts.cases where serviceCase.severity >= policy.caseSeverityThreshold {
            switch serviceCase.status {
            case .open, .pending:
                guard applies(.openCase) else { continue }
                reasons.append(Reason(code: .openCase, detail: .openCase(serviceCase)))
            case .closed:
                guard applies(.caseCooloff), serviceCase.resolution != .positive, let closedAt = serviceCase.closedAt else { continue }
                let ends = closedAt.addingTimeInterval(policy.caseCoolOff)
                guard at < ends else { continue }
                reasons.append(Reason(code: .caseCooloff, detail: .caseCooloff(serviceCase, closedAt: closedAt), until: Timestamp.ceilingSecond(ends)))
            }
        }
    }

    func holds(into reasons: inout [Reason]) {
        for hold in facts.holds where matches(hold) {
            reasons.append(Reason(code: .environmentalHold, detail: .hold(hold), until: hold.endsAt.map(Timestamp.ceilingSecond)))
        }
    }

    func matches(_ hold: Hold) -> Bool {
        guard hold.isActive(at: at) else { return false }
        if let channels = hold.channels, !channels.contains(request.channel) { return false }
        guard request.purpose != .transactional, hold.purposes?.contains(request.purpose) ?? (request.purpose == .marketing) else { return false }
        if let regions = hold.regions {
            guard let region else { return false }
            guard regions.contains(where: { Region.covers($0, region) }) else { return false }
        }
        if let categories = hold.categories, categories.isDisjoint(with: request.categories) { return false }
        return true
    }
}

/// ISO 3166 region codes, matched hierarchically.
public enum Region {
    /// `US` covers `US` and `US-CA`; `US-CA` covers only `US-CA`. Case-insensitive.
    public static func covers(_ outer: String, _ inner: String) -> Bool {
        // ASCII case-insensitive, without building upper-cased copies: this runs per hold per decision.
        func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }
        var o = outer.utf8.makeIterator(), i = inner.utf8.makeIterator()
        while let a = o.next() {
            guard let b = i.next(), lower(a) == lower(b) else { return false }
        }
        guard let next = i.next() else { return true }
        return next == UInt8(ascii: "-")
    }
}
