import Foundation
import Testing
@testable import HushAPI
import HushCore

@Test func decisionIDs_AreUUIDv7_CarryTheirMillisecond_AndReadBack() throws {
    var source = DecisionIDSource()
    let time = Date(timeIntervalSince1970: 1_795_514_400.123)
    let id = source.next(at: time)
    #expect(id.milliseconds == 1_795_514_400_123)
    let text = id.text
    #expect(text.count == 36)
    let characters = Array(text)
    #expect(characters[8] == "-" && characters[13] == "-" && characters[18] == "-" && characters[23] == "-")
    #expect(characters[14] == "7", "version 7")
    #expect("89ab".contains(characters[19]), "variant 10")
    #expect(DecisionID(text) == id)
    #expect(DecisionID(text.uppercased()) == id)
    // Our JSON writer writes the same text.
    var writer = JSONWriter()
    writer.string(id)
    #expect(String(decoding: writer.bytes, as: UTF8.self) == "\"\(text)\"")
}

/// The canonical text, and the JSON writer's 128-bit hex, against the digits of the bytes.
@Test func decisionIDText_AndHashHex_AreTheDigitsOfTheirBytes() {
    var generator = SystemRandomNumberGenerator()
    var pairs: [(UInt64, UInt64)] = [(0, 0), (.max, .max), (0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210)]
    pairs += (0..<500).map { _ in (UInt64.random(in: 0...UInt64.max, using: &generator), UInt64.random(in: 0...UInt64.max, using: &generator)) }
    for (high, low) in pairs {
        let digits = Hex.encode((0..<16).map { UInt8(truncatingIfNeeded: ($0 < 8 ? high : low) >> (56 - 8 * ($0 % 8))) })
        let bytes = Array(digits.utf8)
        let expected = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(decoding: bytes[$0], as: UTF8.self) }.joined(separator: "-")
        let text = [UInt8](unsafeUninitializedCapacity: 36) { buffer, count in
            DecisionID.write(high: high, low: low, into: buffer.baseAddress!)
            count = 36
        }
        #expect(String(decoding: text, as: UTF8.self) == expected)
        var writer = JSONWriter()
        writer.hex(high: high, low: low)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "\"\(digits)\"")
    }
}

@Test(arguments: ["", "not-a-uuid", "018f3a1c-7b2e-4d41-9c3e-5a6b7c8d9e0f", "018f3a1c-7b2e-7d41-1c3e-5a6b7c8d9e0f",
                  "018f3a1c7b2e7d419c3e5a6b7c8d9e0f0000", "018f3a1c-7b2e-7d41-9c3e-5a6b7c8d9e0g", "018f3a1c-7b2e-7d41-9c3e_5a6b7c8d9e0f"])
func decisionIDs_OtherTextIsRefused(text: String) {
    #expect(DecisionID(text) == nil, "\(text)")
}

@Test func decisionIDs_FromOneSource_AreUniqueAndOrderedByTime() {
    var source = DecisionIDSource()
    let start = Date(timeIntervalSince1970: 1_795_514_400)
    var seen = Set<DecisionID>()
    var last: UInt64 = 0
    for i in 0..<10_000 {
        let id = source.next(at: start.addingTimeInterval(Double(i / 100) / 1000))
        #expect(seen.insert(id).inserted)
        #expect(id.milliseconds >= last)
        last = id.milliseconds
    }
    var other = DecisionIDSource()
    #expect(!seen.contains(other.next(at: start)), "another source's first id")
}

@Test func policyVersion_FollowsThePolicy_NotTheOrderOfItsKeys() throws {
    let standard = Policy.standard
    var same = Policy.standard
    same.interactionScores = Dictionary(uniqueKeysWithValues: standard.interactionScores.reversed().map { ($0.key, $0.value) })
    #expect(same.canonicalText == standard.canonicalText)
    var changed = Policy.standard
    changed.willingnessThreshold -= 1
    #expect(changed.canonicalText != standard.canonicalText)
    var capped = Policy.standard
    capped.frequencyCaps[0].max += 1
    #expect(capped.canonicalText != standard.canonicalText)
}
