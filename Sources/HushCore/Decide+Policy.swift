import Foundation

/// The rules that come from the policy rather than a record: quiet hours, caps, willingness.
extension Policy {
    /// `quiet_hours`: a send on `channel` inside its quiet window, local time in `zone`, waits
    /// until the window ends.
    func quietHours(on channel: Channel, at: Date, in zone: TimeZone, offsets: ZoneOffsets? = nil) -> Reason? {
        // A walk over the handful of channels that have quiet hours costs less than hashing
        // the channel's name for a dictionary lookup.
        var found: QuietHours?
        for (quietChannel, window) in quietHours where quietChannel == channel { found = window; break }
        guard let window = found, let ends = QuietClock.end(of: window, at: at, in: zone, offsets: offsets) else { return nil }
        return Reason(code: .quietHours, detail: .quietHours(channel: channel, window: window, zone: zone), until: Timestamp.ceilingSecond(ends))
    }

    /// `frequency_cap`: each cap on the request's purpose and channel (or every channel) that the
    /// contacts in its window `(at - window, at]` have reached.
    func frequencyCaps(_ request: DecisionRequest, contacts: [Contact], at: Date, into reasons: inout [Reason]) {
        for cap in frequencyCaps where cap.purpose == request.purpose && (cap.channel == nil || cap.channel == request.channel) {
            let from = at.addingTimeInterval(-cap.window)
            func counts(_ contact: Contact) -> Bool {
                contact.purpose == cap.purpose && (cap.channel == nil || contact.channel == cap.channel) && contact.at > from && contact.at <= at
            }
            // Count first; collect and sort only when the cap is reached.
            var count = 0
            for contact in contacts where counts(contact) { count += 1 }
            guard count >= cap.max else { continue }
            let counted = contacts.filter(counts).map(\.at).sorted()
            // Allowed again once enough of the oldest contacts have left the window.
            let leaves = counted[counted.count - cap.max].addingTimeInterval(cap.window)
            reasons.append(Reason(code: .frequencyCap, detail: .frequencyCap(cap, count: counted.count), until: Timestamp.ceilingSecond(leaves)))
        }
    }

    /// `low_willingness`: the scores of the interactions in the window `(at - window, at]` add
    /// up to less than the threshold; allowed again once enough negative ones have left it.
    func willingness(_ interactions: [Interaction], at: Date) -> Reason? {
        let from = at.addingTimeInterval(-willingnessWindow)
        var sum = 0
        for interaction in interactions where interaction.at > from && interaction.at <= at { sum += interaction.score }
        guard sum < willingnessThreshold else { return nil }
        let inWindow = interactions.filter { $0.at > from && $0.at <= at }.sorted { $0.at < $1.at }
        let score = sum
        // Walk the interactions out of the window, oldest first, until the sum recovers.
        var until: Date?
        for interaction in inWindow {
            sum -= interaction.score
            if sum >= willingnessThreshold {
                until = Timestamp.ceilingSecond(interaction.at.addingTimeInterval(willingnessWindow))
                break
            }
        }
        return Reason(code: .lowWillingness, detail: .lowWillingness(score: score, window: willingnessWindow, threshold: willingnessThreshold),
                      until: until)
    }
}

/// Local-time arithmetic for quiet hours, across midnight and daylight-saving changes.
enum QuietClock {
    /// When the window that `at` falls in ends (the first instant at which local time reaches
    /// `window.end` again), or nil when `at` is outside the window.
    static func end(of window: QuietHours, at: Date, in zone: TimeZone, offsets: ZoneOffsets? = nil) -> Date? {
        let start = window.start.secondsOfDay, end = window.end.secondsOfDay
        guard start != end else { return nil }
        let offset = zone.secondsFromGMT(for: at, remembered: offsets)
        let local = Int64(floor(at.timeIntervalSince1970)) + Int64(offset)
        let day = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let secondOfDay = Int(local - day * 86_400)
        let inside = start < end ? (secondOfDay >= start && secondOfDay < end) : (secondOfDay >= start || secondOfDay < end)
        guard inside else { return nil }
        let endDay = secondOfDay < end ? day : day + 1
        return instant(ofLocal: endDay * 86_400 + Int64(end), in: zone, offsetAfter: offset, offsets: offsets)
    }

    /// The first instant whose local time is `local` (seconds since the local epoch) or, when that
    /// local time does not exist (clocks jumped over it), the instant of the jump. `first` is the
    /// zone's offset at the instant the search starts from (already known to the caller).
    static func instant(ofLocal local: Int64, in zone: TimeZone, offsetAfter first: Int, offsets: ZoneOffsets? = nil) -> Date {
        var guess = Date(timeIntervalSince1970: TimeInterval(local - Int64(first)))
        let second = zone.secondsFromGMT(for: guess, remembered: offsets)
        if second != first {
            guess = Date(timeIntervalSince1970: TimeInterval(local - Int64(second)))
            if zone.secondsFromGMT(for: guess, remembered: offsets) != second {
                // In a spring-forward gap: the local time is skipped, so the window ends at the jump.
                let earlier = Date(timeIntervalSince1970: TimeInterval(local - Int64(max(first, second))))
                return zone.nextDaylightSavingTimeTransition(after: earlier.addingTimeInterval(-1)) ?? guess
            }
        }
        return guess
    }
}
