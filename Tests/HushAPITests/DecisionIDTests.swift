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
