#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HushCore

/// Time zones by IANA name, found by the name's bytes. A customer's record names its zone, and
/// building a String from it and hashing that for a dictionary costs more per decision than
/// the decision's rules; here a lookup is an FNV-1a hash of the bytes and a `memcmp`. Names
/// live in one byte array, so probing retains nothing. Bounded: at most `limit` names are kept
/// (the IANA database has about 600); past that, names are resolved each time.
struct ZoneTable {
    static let limit = 1024
    /// Open addressing with linear probing; twice `limit`, so probes stay short.
    private static let slotCount = 2048
    private var slots: [Slot]
    private var names: [UInt8] = []
    private var zones: [TimeZone] = []

    private struct Slot {
        /// 1 + the index into `zones`; 0 marks an empty slot.
        var entry: Int32 = 0
        var nameStart: Int32 = 0
        var nameLength: Int32 = 0
    }

    init() {
        slots = Array(repeating: Slot(), count: Self.slotCount)
    }

    var count: Int { zones.count }

    /// The zone named by `name` (UTF-8), or nil when no zone has that name.
    mutating func zone(_ name: UnsafeRawBufferPointer) -> TimeZone? {
        guard !name.isEmpty, let base = name.baseAddress else { return nil }
        var hash: UInt32 = 2_166_136_261
        for byte in name { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let mask = Self.slotCount - 1
        var i = Int(hash) & mask
        let found: Int? = slots.withUnsafeBufferPointer { slots in
            names.withUnsafeBufferPointer { names in
                while slots[i].entry != 0 {
                    let slot = slots[i]
                    if Int(slot.nameLength) == name.count, memcmp(names.baseAddress! + Int(slot.nameStart), base, name.count) == 0 {
                        return Int(slot.entry) - 1
                    }
                    i = (i + 1) & mask
                }
                return nil
            }
        }
        if let found { return zones[found] }
        guard let zone = TimeZone(identifier: String(decoding: name, as: UTF8.self)) else { return nil }
        if zones.count < Self.limit {
            slots[i] = Slot(entry: Int32(zones.count + 1), nameStart: Int32(names.count), nameLength: Int32(name.count))
            names.append(contentsOf: name)
            zones.append(zone)
        }
        return zone
    }

    /// `zone(_:)` for a name held as a String.
    mutating func zone(_ name: String) -> TimeZone? {
        name.withUTF8Bytes { zone(UnsafeRawBufferPointer($0)) }
    }
}
