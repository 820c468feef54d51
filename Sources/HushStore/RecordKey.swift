import HushCore

/// Where a customer's record lives in `customer_records`: SipHash-2-4 of the customer id under
/// the database's own random 128-bit key (made by the migration that made the table), cut to a
/// non-negative rowid. An integer key keeps the table's inner pages small (a handful for a
/// million customers) and its search free of string comparisons; the key being secret keeps
/// callers from choosing ids that share a row. Ids that do share one share it: a row holds
/// every entry that hashes there (`RecordRow`).
struct RecordKey: Sendable {
    let k0, k1: UInt64
    /// Bits kept: `standardBits`; tests keep fewer to make ids share rows.
    let bits: Int

    /// 48: a key is a 7-byte varint in SQLite's cells, where 63 bits would take 9, which are
    /// slower to decode at every step of a search. Ids then share a row more often, still
    /// rarely (among a million customers, one pair with a chance of about 1 in 500), and a
    /// shared row costs only a second entry in it. Records are stored under these keys: a
    /// change needs a migration that rebuilds them.
    static let standardBits = 48

    init(k0: UInt64, k1: UInt64, bits: Int = RecordKey.standardBits) {
        precondition((1...63).contains(bits))
        self.k0 = k0
        self.k1 = k1
        self.bits = bits
    }

    func callAsFunction(_ customerID: String) -> Int64 {
        let hash = customerID.withUTF8Bytes { SipHash.hash24(UnsafeRawBufferPointer($0), k0: k0, k1: k1) }
        return Int64(bitPattern: hash >> UInt64(64 - bits))
    }
}

/// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash of short inputs.
enum SipHash {
    static func hash24(_ message: UnsafeRawBufferPointer, k0: UInt64, k1: UInt64) -> UInt64 {
        var v0 = k0 ^ 0x736f_6d65_7073_6575, v1 = k1 ^ 0x646f_7261_6e64_6f6d
        var v2 = k0 ^ 0x6c79_6765_6e65_7261, v3 = k1 ^ 0x7465_6462_7974_6573
        @inline(__always) func round() {
            v0 &+= v1; v1 = v1.rotatedLeft(13); v1 ^= v0; v0 = v0.rotatedLeft(32)
            v2 &+= v3; v3 = v3.rotatedLeft(16); v3 ^= v2
            v0 &+= v3; v3 = v3.rotatedLeft(21); v3 ^= v0
            v2 &+= v1; v1 = v1.rotatedLeft(17); v1 ^= v2; v2 = v2.rotatedLeft(32)
        }
        let count = message.count, whole = count & ~7
        var i = 0
        while i < whole {
            let m = UInt64(littleEndian: message.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            v3 ^= m; round(); round(); v0 ^= m
            i += 8
        }
        var last = UInt64(truncatingIfNeeded: count) << 56
        for j in 0..<(count - whole) { last |= UInt64(message[whole + j]) << UInt64(8 * j) }
        v3 ^= last; round(); round(); v0 ^= last
        v2 ^= 0xFF
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

extension UInt64 {
    @inline(__always) fileprivate func rotatedLeft(_ n: UInt64) -> UInt64 { (self << n) | (self >> (64 - n)) }
}

/// One row of `customer_records`: the entries of every customer id whose `RecordKey` is the
/// row's, each an id and its `FactsRecord` (`varint length, id, varint length, record`), in no
/// particular order. Almost every row holds one.
enum RecordRow {
    enum Lookup { case found(UnsafeRawBufferPointer), absent, malformed }

    /// The record of `customerID` in `row` (found: bytes of `row`, valid as long as it is).
    static func find(_ row: UnsafeRawBufferPointer, customerID: String) -> Lookup {
        customerID.withUTF8Bytes { find(row, customerID: UnsafeRawBufferPointer($0)) }
    }

    static func find(_ row: UnsafeRawBufferPointer, customerID: UnsafeRawBufferPointer) -> Lookup {
        var r = FactsRecord.Decoder(bytes: row)
        while r.index < row.count {
            let id = r.rawBytes(r.count()), record = r.rawBytes(r.count())
            guard let id, let record, !r.failed else { return .malformed }
            if id.count == customerID.count, id.elementsEqual(customerID) { return .found(record) }
        }
        return .absent
    }

    /// `row` (nil: none yet) with the entry of `customerID` set to `record`, or removed when
    /// `record` is nil; nil when no entry is left. A row that does not parse is taken as empty.
    static func replacing(_ row: [UInt8]?, customerID: String, record: [UInt8]?) -> [UInt8]? {
        var w = FactsRecord.Encoder()
        if let row, entries(row) != nil {
            row.withUnsafeBytes { bytes in
                var r = FactsRecord.Decoder(bytes: bytes)
                while r.index < bytes.count {
                    let id = r.rawBytes(r.count())!, entry = r.rawBytes(r.count())!
                    if id.elementsEqual(customerID.utf8) { continue }
                    w.varint(UInt64(id.count)); w.bytes.append(contentsOf: id)
                    w.varint(UInt64(entry.count)); w.bytes.append(contentsOf: entry)
                }
            }
        }
        if let record {
            w.string(customerID)
            w.varint(UInt64(record.count)); w.bytes.append(contentsOf: record)
        }
        return w.bytes.isEmpty ? nil : w.bytes
    }

    /// How many entries `row` holds; nil when it does not parse.
    static func entries(_ row: [UInt8]) -> Int? {
        row.withUnsafeBytes { bytes in
            var r = FactsRecord.Decoder(bytes: bytes), n = 0
            while r.index < bytes.count {
                guard r.rawBytes(r.count()) != nil, r.rawBytes(r.count()) != nil, !r.failed else { return nil }
                n += 1
            }
            return n
        }
    }
}
