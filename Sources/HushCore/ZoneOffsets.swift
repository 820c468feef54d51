import Foundation

/// Time zones' offsets from UTC, remembered by one thread (an event loop) from one decision to
/// the next. Asking a `TimeZone` goes through ICU under a lock that every thread using the same
/// zone shares; a zone's offset stays the same from the instant it was asked for until the
/// zone's next transition, so it is asked again only for an instant outside that span.
/// Not shared between threads.
public final class ZoneOffsets {
    private struct Span {
        let identifier: String
        let offset: Int
        /// The offset holds over `from..<until`.
        let from: Date
        let until: Date
    }

    /// Zones remembered at most; past that, a zone not remembered is asked every time.
    public static let limit = 64
    /// Used on one thread only: no per-access exclusivity check.
    @exclusivity(unchecked) private var spans: [Span] = []

    public init() {}

    /// `zone.secondsFromGMT(for: date)`.
    public func secondsFromGMT(_ zone: TimeZone, for date: Date) -> Int {
        let identifier = zone.identifier
        var slot: Int?
        for i in spans.indices where spans[i].identifier == identifier {
            if date >= spans[i].from, date < spans[i].until { return spans[i].offset }
            slot = i
            break
        }
        let offset = zone.secondsFromGMT(for: date)
        let span = Span(identifier: identifier, offset: offset, from: date,
                        until: zone.nextDaylightSavingTimeTransition(after: date) ?? .distantFuture)
        if let slot {
            spans[slot] = span
        } else if spans.count < Self.limit {
            spans.append(span)
        }
        return offset
    }
}

extension TimeZone {
    /// The offset at `date`, through `offsets` when there are any.
    func secondsFromGMT(for date: Date, remembered offsets: ZoneOffsets?) -> Int {
        offsets?.secondsFromGMT(self, for: date) ?? secondsFromGMT(for: date)
    }
}
