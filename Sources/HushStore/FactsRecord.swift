import Foundation
import HushCore

/// The compact binary form of one customer's facts, stored in `customer_records` (in the row
/// of its `RecordKey`, beside any other ids that share it: `RecordRow`) so that a decision
/// needs one lookup. Written only by the writer, rebuilt from the source tables in
/// the transaction that changed them. Layout: a version byte, then fields in a fixed order;
/// integers as LEB128 varints (signed ones zigzag-encoded), strings as a length and UTF-8,
/// optional values with a presence byte or a length plus one.
enum FactsRecord {
    /// 2: erasure flags after the version byte.
    static let version: UInt8 = 2

    /// Bits of the erasure byte: the customer id, the profile's e-mail, the profile's phone.
    struct Erasure: OptionSet {
        let rawValue: UInt8
        static let customer = Erasure(rawValue: 1), email = Erasure(rawValue: 2), phone = Erasure(rawValue: 4)
    }

    static func encode(_ facts: Facts, erasure: Erasure) -> [UInt8] {
        var w = Encoder()
        w.byte(version)
        w.byte(erasure.rawValue)
        if let profile = facts.profile {
            w.byte(1)
            w.optional(profile.region); w.optional(profile.timeZone?.name); w.optional(profile.email); w.optional(profile.phone)
        } else {
            w.byte(0)
        }
        w.varint(UInt64(facts.cases.count))
        for c in facts.cases {
            w.string(c.id); w.byte(UInt8(Severity.allCases.firstIndex(of: c.severity)!)); w.byte(UInt8(CaseStatus.allCases.firstIndex(of: c.status)!))
            w.time(c.openedAt); w.optionalTime(c.closedAt)
            w.byte(c.resolution.map { UInt8(Resolution.allCases.firstIndex(of: $0)! + 1) } ?? 0); w.time(c.updatedAt)
        }
        w.varint(UInt64(facts.suppressions.count))
        for s in facts.suppressions {
            w.string(s.id)
            switch s.subject {
            case .customer(let id): w.byte(0); w.string(id)
            case .address(.email(let a)): w.byte(1); w.string(a)
            case .address(.phone(let a)): w.byte(2); w.string(a)
            }
            w.byte(UInt8(SuppressionKind.allCases.firstIndex(of: s.kind)!))
            w.optionalList(s.channels?.map(\.rawValue)); w.optionalList(s.purposes?.map(\.rawValue))
            w.optional(s.source); w.byte(s.confirmed ? 1 : 0); w.optionalTime(s.expiresAt)
        }
        w.varint(UInt64(facts.contacts.count))
        for c in facts.contacts { w.string(c.channel.rawValue); w.string(c.purpose.rawValue); w.time(c.at) }
        w.varint(UInt64(facts.interactions.count))
        for i in facts.interactions { w.string(i.type); w.signed(Int64(i.score)); w.time(i.at) }
        return w.bytes
    }

    /// Decodes a record: its facts with `customerErased` and `erasedAddresses` (the profile's)
    /// filled in from the erasure flags. Nil when it is malformed or of another version (the
    /// caller then reads the source tables).
    static func decode(_ bytes: UnsafeRawBufferPointer, customerID: String, zone: (UnsafeRawBufferPointer) -> TimeZone?) -> Facts? {
        var facts = Facts()
        return decode(bytes, customerID: customerID, zone: zone, into: &facts) ? facts : nil
    }

    /// Decodes a record into `facts` (which should be empty), without copying it; false when
    /// the record is malformed or of another version, leaving `facts` partly filled.
    static func decode(_ bytes: UnsafeRawBufferPointer, customerID: String, zone: (UnsafeRawBufferPointer) -> TimeZone?,
                       into facts: inout Facts) -> Bool {
        var r = Decoder(bytes: bytes)
        guard r.byte() == version else { return false }
        let erasure = Erasure(rawValue: r.byte())
        facts.customerErased = erasure.contains(.customer)
        if r.byte() == 1 {
            // Read straight into place (arguments are evaluated in order; a profile built apart
            // and then stored would be copied), the zone looked up by its name's bytes.
            facts.profile = Profile(customerID: customerID, region: r.optional(), timeZone: r.optionalBytes().flatMap(zone),
                                    email: r.optional(), phone: r.optional())
            if erasure.contains(.email), let email = facts.profile?.email { facts.erasedAddresses.insert(.email(email)) }
            if erasure.contains(.phone), let phone = facts.profile?.phone { facts.erasedAddresses.insert(.phone(phone)) }
        }
        for _ in 0..<r.count() {
            let id = r.string(), severity = Severity.allCases[safe: r.byte()], status = CaseStatus.allCases[safe: r.byte()]
            let openedAt = r.time(), closedAt = r.optionalTime(), resolution = r.byte(), updatedAt = r.time()
            guard let severity, let status else { return false }
            facts.cases.append(ServiceCase(id: id, customerID: customerID, severity: severity, status: status, openedAt: openedAt,
                                           closedAt: closedAt, resolution: resolution == 0 ? nil : Resolution.allCases[safe: resolution - 1],
                                           updatedAt: updatedAt))
        }
        for _ in 0..<r.count() {
            let id = r.string(), tag = r.byte(), value = r.string()
            let subject: Subject = switch tag {
            case 0: .customer(value)
            case 1: .address(.email(value))
            default: .address(.phone(value))
            }
            guard let kind = SuppressionKind.allCases[safe: r.byte()] else { return false }
            let channels = r.optionalList().map { Set($0.map(Channel.init(rawValue:))) }
            let purposes = r.optionalList().map { Set($0.map(Purpose.init(rawValue:))) }
            let source = r.optional(), confirmed = r.byte() == 1, expiresAt = r.optionalTime()
            facts.suppressions.append(Suppression(id: id, subject: subject, kind: kind, channels: channels, purposes: purposes,
                                                  source: source, confirmed: confirmed, expiresAt: expiresAt))
        }
        let contacts = r.count()
        if contacts > 0 { facts.contacts.reserveCapacity(contacts) }
        for _ in 0..<contacts {
            facts.contacts.append(Contact(channel: Channel(rawValue: r.string()), purpose: Purpose(rawValue: r.string()), at: r.time()))
        }
        let interactions = r.count()
        if interactions > 0 { facts.interactions.reserveCapacity(interactions) }
        for _ in 0..<interactions {
            let type = r.string(), score = Int(r.signed())
            facts.interactions.append(Interaction(type: type, score: score, at: r.time()))
        }
        return !r.failed
    }

    /// Appends the record's fields as bytes (varints, length-prefixed strings).
    struct Encoder {
        var bytes: [UInt8] = []
        mutating func byte(_ b: UInt8) { bytes.append(b) }
        mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            bytes.append(UInt8(v))
        }
        mutating func signed(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
        mutating func string(_ s: String) { varint(UInt64(s.utf8.count)); bytes.append(contentsOf: s.utf8) }
        mutating func optional(_ s: String?) {
            guard let s else { varint(0); return }
            varint(UInt64(s.utf8.count) + 1); bytes.append(contentsOf: s.utf8)
        }
        mutating func time(_ d: Date) { signed(Codec.millis(d)) }
        mutating func optionalTime(_ d: Date?) { if let d { byte(1); time(d) } else { byte(0) } }
        mutating func optionalList(_ values: [String]?) {
            guard let values else { varint(0); return }
            varint(UInt64(values.count) + 1)
            for v in values.sorted() { string(v) }
        }
    }

    /// Reads without ever trapping on bad input: past the end, every read yields zero and
    /// `failed` is set.
    struct Decoder {
        let bytes: UnsafeRawBufferPointer
        var index = 0
        var failed = false

        @inline(__always) mutating func byte() -> UInt8 {
            guard index < bytes.count else { failed = true; return 0 }
            defer { index += 1 }
            return bytes[index]
        }
        @inline(__always) mutating func varint() -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while shift < 64 {
                let b = byte()
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
            }
            failed = true
            return 0
        }
        @inline(__always) mutating func count() -> Int {
            let n = varint()
            guard n <= UInt64(bytes.count - min(index, bytes.count)) else { failed = true; return 0 }
            return Int(n)
        }
        @inline(__always) mutating func signed() -> Int64 { let v = varint(); return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }
        /// The next `length` bytes, valid as long as the record's; nil past the end.
        @inline(__always) mutating func rawBytes(_ length: Int) -> UnsafeRawBufferPointer? {
            guard length >= 0, index + length <= bytes.count else { failed = true; return nil }
            defer { index += length }
            return UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)])
        }
        @inline(__always) mutating func raw(_ length: Int) -> String { rawBytes(length).map { String(decoding: $0, as: UTF8.self) } ?? "" }
        @inline(__always) mutating func string() -> String { raw(count()) }
        /// An optional string's bytes, valid as long as the record's.
        @inline(__always) mutating func optionalBytes() -> UnsafeRawBufferPointer? {
            let n = count()
            return n == 0 ? nil : rawBytes(n - 1)
        }
        @inline(__always) mutating func optional() -> String? {
            let n = count()
            return n == 0 ? nil : raw(n - 1)
        }
        @inline(__always) mutating func time() -> Date { Codec.date(signed()) }
        @inline(__always) mutating func optionalTime() -> Date? { byte() == 1 ? time() : nil }
        @inline(__always) mutating func optionalList() -> [String]? {
            let n = count()
            guard n > 0 else { return nil }
            return (0..<(n - 1)).map { _ in string() }
        }
    }
}

extension Array {
    subscript(safe index: UInt8) -> Element? { Int(index) < count ? self[Int(index)] : nil }
}
