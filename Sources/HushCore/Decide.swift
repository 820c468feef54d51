import Foundation

/// Decides whether `request` may be sent, given the customer's `facts` and the `policy`, at
/// `request.at` or else `now`. Pure: no I/O, no clock. Every reason that applies is listed, in
/// DESIGN.md's order: erasure, suppressions, cases, holds, then the policy's own rules.
/// `offsets`: the calling thread's remembered zone offsets, if it keeps any.
public func decide(_ request: DecisionRequest, facts: Facts, policy: Policy, now: Date, offsets: ZoneOffsets? = nil) -> Decision {
    let at = request.at ?? now
    let rules = policy.rules(for: request.purpose)
    let addresses = request.addresses(with: facts.profile)
    var reasons: [Reason] = []

    if let erased = facts.erasure(of: request, addresses: addresses) { reasons.append(erased) }
    for suppression in facts.suppressions where suppression.covers(request, at: at, addresses: addresses, broadly: policy.broadUnconfirmedOptOut) {
        reasons.append(Reason(suppression))
    }
    for serviceCase in facts.cases where serviceCase.severity >= policy.caseSeverityThreshold {
        if let reason = serviceCase.reason(at: at, coolOff: policy.caseCoolOff, rules: rules) { reasons.append(reason) }
    }
    let region = request.region ?? facts.profile?.region
    for hold in facts.holds where hold.matches(request, region: region, at: at) {
        reasons.append(Reason(hold))
    }
    if rules.contains(.quietHours) {
        let zone = request.timeZone ?? facts.profile?.timeZone ?? policy.defaultTimeZone
        if let reason = policy.quietHours(on: request.channel, at: at, in: zone, offsets: offsets) { reasons.append(reason) }
    }
    if rules.contains(.frequencyCap) { policy.frequencyCaps(request, contacts: facts.contacts, at: at, into: &reasons) }
    if rules.contains(.lowWillingness), let reason = policy.willingness(facts.interactions, at: at) { reasons.append(reason) }
    return Decision(reasons: reasons, evaluatedAt: at)
}

extension DecisionRequest {
    /// The addresses this send would go to: the request's own (on whatever channel it names),
    /// and the profile's for the channel.
    func addresses(with profile: Profile?) -> SendAddresses {
        let own = profile?.address(for: channel)
        return SendAddresses(first: address, second: own == address ? nil : own)
    }
}

/// The addresses of one send: at most two, held inline (an array of them was an allocation
/// for every decision whose customer has an address for the channel).
struct SendAddresses {
    let first: Address?
    let second: Address?

    func contains(_ address: Address) -> Bool { first == address || second == address }

    func contains(where matches: (Address) -> Bool) -> Bool {
        if let first, matches(first) { return true }
        if let second, matches(second) { return true }
        return false
    }
}

extension Facts {
    /// An erasure tombstone covers every purpose, for the customer id and for any address it
    /// names, on the channels that use that address.
    func erasure(of request: DecisionRequest, addresses: SendAddresses) -> Reason? {
        if customerErased, request.customerID != nil { return Reason(code: .erased, detail: .erasedCustomer) }
        if !erasedAddresses.isEmpty, addresses.contains(where: { erasedAddresses.contains($0) && $0.channels.contains(request.channel) }) {
            return Reason(code: .erased, detail: .erasedAddress)
        }
        return nil
    }
}

extension Suppression {
    /// DESIGN.md "What a record covers": subject, expiry, channels, purposes, and (`broadly`)
    /// the broad reading of an unconfirmed single-channel opt-out.
    func covers(_ request: DecisionRequest, at: Date, addresses: SendAddresses, broadly: Bool) -> Bool {
        if let expiresAt, at >= expiresAt { return false }
        // Whether the broad reading below may reach the request's channel: every channel of a
        // customer, and of an address the channels that use it.
        let broadReaches: Bool
        switch subject {
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
        // The purposes named, or the kind's default (asked without building its set).
        func covers(_ purpose: Purpose) -> Bool { purposes?.contains(purpose) ?? kind.coversByDefault(purpose) }
        // transactional only where named, only by a do_not_contact, and only once confirmed.
        let purposeCovered = request.purpose == .transactional
            ? covers(.transactional) && kind == .doNotContact && confirmed
            : covers(request.purpose)
        if purposeCovered, channels?.contains(request.channel) ?? true { return true }
        // Read broadly until confirmed: every channel of the subject, for marketing.
        let broad = broadly && !confirmed && kind == .optOut && channels != nil
        return broad && broadReaches && request.purpose == .marketing
    }
}

extension ServiceCase {
    /// An open or pending case (`open_case`), or one closed without a positive resolution less
    /// than `coolOff` ago (`case_cooloff`), where the policy applies those rules.
    func reason(at: Date, coolOff: TimeInterval, rules: PolicyRules) -> Reason? {
        switch status {
        case .open, .pending:
            return rules.contains(.openCase) ? Reason(code: .openCase, detail: .openCase(self)) : nil
        case .closed:
            guard rules.contains(.caseCooloff), resolution != .positive, let closedAt else { return nil }
            let ends = closedAt.addingTimeInterval(coolOff)
            guard at < ends else { return nil }
            return Reason(code: .caseCooloff, detail: .caseCooloff(self, closedAt: closedAt), until: Timestamp.ceilingSecond(ends))
        }
    }
}

extension Hold {
    /// Active at `at`, and covering the request's channel, purpose (marketing when the hold
    /// names none; never transactional), region (`region`, hierarchically; unknown matches only
    /// holds without regions) and categories.
    func matches(_ request: DecisionRequest, region: String?, at: Date) -> Bool {
        guard isActive(at: at) else { return false }
        if let channels, !channels.contains(request.channel) { return false }
        guard request.purpose != .transactional, purposes?.contains(request.purpose) ?? (request.purpose == .marketing) else { return false }
        if let regions {
            guard let region, regions.contains(where: { Region.covers($0, region) }) else { return false }
        }
        if let categories, categories.isDisjoint(with: request.categories) { return false }
        return true
    }
}

extension Reason {
    /// The reason a suppression gives: its kind's code, until it expires.
    init(_ suppression: Suppression) {
        let code: ReasonCode = switch suppression.kind {
        case .doNotContact: .doNotContact
        case .optOut: .optedOut
        case .objection: .objected
        }
        self.init(code: code, detail: .suppression(suppression), until: suppression.expiresAt.map(Timestamp.ceilingSecond))
    }

    /// The reason a hold gives, until it ends.
    init(_ hold: Hold) {
        self.init(code: .environmentalHold, detail: .hold(hold), until: hold.endsAt.map(Timestamp.ceilingSecond))
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
