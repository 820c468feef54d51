import Testing
import HushCore
@testable import HushAPI

private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

@Test func hmac_MatchesRFC4231() throws {
    // RFC 4231 test case 6: a 131-byte key of 0xaa.
    let hasher = try TombstoneHasher(key: [UInt8](repeating: 0xaa, count: 131))
    let message = Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
    #expect(hex(hasher.hmac(message)) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    // The same again: re-initialising keeps the key.
    #expect(hex(hasher.hmac(message)) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
}

@Test func tombstones_SeparateIdsFromAddresses_AndDependOnTheKey() throws {
    let a = try TombstoneHasher(key: [UInt8](repeating: 1, count: 32))
    let b = try TombstoneHasher(key: [UInt8](repeating: 2, count: 32))
    #expect(a.hash(.customer("x@example.com")) != a.hash(.address(.email("x@example.com"))))
    #expect(a.hash(.customer("c-1")) == a.hash(.customer("c-1")))
    #expect(a.hash(.customer("c-1")) != b.hash(.customer("c-1")))
    #expect(a.hash(.customer("c-1")).count == 32)
    // The stored form: HMAC of "<kind>\0<value>"; changing it would orphan every tombstone.
    #expect(a.hash(.customer("c-1")) == a.hmac(Array("customer\u{0}c-1".utf8)))
    #expect(a.hash(.address(.phone("+14155550100"))) == a.hmac(Array("phone\u{0}+14155550100".utf8)))
}

@Test func shortKeys_AreRefused() {
    #expect(throws: ValidationError.self) { try TombstoneHasher(key: [UInt8](repeating: 1, count: 31)) }
}
