import Foundation
import Testing
import HushCore
@testable import HushAPI

private func parse(_ text: String, maxDepth: Int = 32) throws(JSONSyntaxError) -> JSONValue {
    try JSONParser.parse(Array(text.utf8), maxDepth: maxDepth)
}

@Test(arguments: [
    (#"{"a": 1, "b": [true, false, null], "c": "x"}"#, JSONValue.object([("a", .integer(1)), ("b", .array([.bool(true), .bool(false), .null])), ("c", .string("x"))])),
    (" \t\r\n[]\n", .array([])),
    ("{}", .object([])),
    ("-0", .integer(0)),
    ("9223372036854775807", .integer(.max)),
    ("9223372036854775808", .number(9223372036854775808)),
    ("1.5e3", .number(1500)),
    ("-2.25", .number(-2.25)),
    (#""\u00e9\ud83d\ude00\n\"\\\/""#, .string("é😀\n\"\\/")),
    (#""zoë""#, .string("zoë")),
])
func jsonParser_AcceptsValidDocuments(text: String, expected: JSONValue) throws {
    #expect(try parse(text) == expected)
}

@Test(arguments: [
    ("", "the body is empty"), ("   ", "no value"), ("{", "expected a key"), (#"{"a":1,}"#, "expected a key"),
    ("[1,]", "unexpected character"), ("01", "must not start with 0"), ("1.", "a digit must follow '.'"), ("1e", "exponent"),
    ("+1", "unexpected character"), ("NaN", "unexpected character"), ("1e400", "out of range"), ("tru", "unexpected character"),
    (#""a"#, "not closed"), ("\"a\u{01}\"", "control character"), (#""\x""#, "unknown escape"), (#""\ud800""#, "high surrogate"),
    (#""\udc00""#, "low surrogate"), (#""\u12g4""#, "four hex digits"), (#"{"a":1,"a":2}"#, #"the key "a" appears twice"#),
    ("[1] [2]", "unexpected text after"), ("{'a':1}", "expected a key"), ("[1 2]", "expected ',' or ']'"), (#"{"a" 1}"#, "expected ':'"),
])
func jsonParser_RefusesInvalidDocuments_SayingWhy(text: String, reason: String) {
    #expect { try parse(text) } throws: { ($0 as? JSONSyntaxError)?.message.contains(reason) == true }
}

@Test func jsonParser_RefusesBytesThatAreNotUTF8_AndNestingPastTheLimit() {
    #expect { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) } throws: { ($0 as? JSONSyntaxError)?.message.contains("UTF-8") == true }
    #expect { try JSONParser.parse([0x22, 0x5C, 0x6E, 0xFF, 0x22]) } throws: { ($0 as? JSONSyntaxError)?.message.contains("UTF-8") == true }
    let deep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
    #expect { try parse(deep) } throws: { ($0 as? JSONSyntaxError)?.message.contains("deeper than 32") == true }
    #expect(throws: Never.self) { try parse(String(repeating: "[", count: 32) + String(repeating: "]", count: 32)) }
    // Duplicate keys in a large object (the set path) are found too.
    let many = (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
    #expect { try parse("{\(many),\"k39\":0}") } throws: { ($0 as? JSONSyntaxError)?.message.contains(#""k39" appears twice"#) == true }
}

@Test func jsonWriter_EscapesStrings_AndRoundTripsThroughTheParser() throws {
    var w = JSONWriter()
    w.objectStart()
    w.key("text"); w.string("quote \" backslash \\ newline \n tab \t bell \u{07} é 😀")
    w.key("numbers"); w.arrayStart(); w.integer(0); w.integer(-42); w.integer(Int64.min); w.integer(Int64.max); w.number(2.5); w.number(3); w.arrayEnd()
    w.key("flags"); w.arrayStart(); w.bool(true); w.bool(false); w.null(); w.arrayEnd()
    w.key("empty"); w.objectStart(); w.objectEnd()
    w.key("time"); w.time(Date(timeIntervalSince1970: 1_795_000_000.9))
    w.key("times"); w.arrayStart()
    w.time(Date(timeIntervalSince1970: 253_402_300_800)); w.time(Date(timeIntervalSince1970: 1_795_046_400)); w.time(nil)
    w.timeMillis(Date(timeIntervalSince1970: 1_795_046_400.25)); w.timeMillis(Date(timeIntervalSince1970: 253_402_300_800.5))
    w.timeMillis(milliseconds: -1); w.timeMillis(milliseconds: 0); w.timeMillis(milliseconds: 1_795_046_400_999)
    w.arrayEnd()
    w.objectEnd()
    let text = String(decoding: w.bytes, as: UTF8.self)
    #expect(text.contains(#"bell \u0007 é 😀","#))
    #expect(text.contains(#"[0,-42,-9223372036854775808,9223372036854775807,2.5,3]"#))
    #expect(text.contains(#""time":"2026-11-18T11:06:40Z""#), "fractions truncated")
    #expect(text.contains(#""times":["10000-01-01T00:00:00Z","2026-11-19T00:00:00Z",null,"2026-11-19T00:00:00.250Z","10000-01-01T00:00:00.500Z","1969-12-31T23:59:59.999Z","1970-01-01T00:00:00.000Z","2026-11-19T00:00:00.999Z"]"#),
            "a year past 9999, then the next day, each with and without milliseconds; milliseconds before, at and after 1970")
    let parsed = try JSONParser.parse(w.bytes)
    guard case .object(let members) = parsed else { Issue.record("not an object"); return }
    #expect(members.first?.value == .string("quote \" backslash \\ newline \n tab \t bell \u{07} é 😀"))
    // Pretty output parses to the same value.
    #expect(try JSONParser.parse(JSONPretty.format(w.bytes)) == parsed)
    #expect(String(decoding: JSONPretty.format(Array(#"{"a":[1,{}],"b":"x,y:{"}"#.utf8)), as: UTF8.self)
            == "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": \"x,y:{\"\n}\n")
}

@Test func fieldReader_NamesTheField_AndRefusesUnknownOnes() throws {
    var reader = try FieldReader(try JSONParser.parse(Array(#"{"channel": 3, "chanel": "email"}"#.utf8)), prefix: "requests[2].")
    #expect { try reader.string("channel") } throws: { ($0 as? ValidationError) == ValidationError(field: "requests[2].channel", message: "must be a string, not a number") }
    #expect { try reader.finish() } throws: { ($0 as? ValidationError)?.field == "requests[2].chanel" }
    var lists = try FieldReader(try JSONParser.parse(Array(#"{"channels": [], "purposes": ["a", 1]}"#.utf8)))
    #expect { try lists.strings("channels") } throws: { ($0 as? ValidationError)?.message.contains("must not be empty") == true }
    #expect { try lists.strings("purposes") } throws: { ($0 as? ValidationError)?.field == "purposes[1]" }
    #expect { try FieldReader(.array([])) } throws: { ($0 as? ValidationError)?.message == "the body must be a JSON object, not an array" }
}

/// Members are marked read by position, the first 64 as bits and any past them apart: an
/// unread member is named wherever it stands, and an object read whole passes.
@Test func fieldReader_NamesTheUnreadMember_BeforeAndPastTheSixtyFourth() throws {
    let object = "{" + (0..<100).map { #""f\#($0)": \#($0)"# }.joined(separator: ",") + "}"
    for unread in [0, 1, 62, 63, 64, 65, 80, 99] {
        var reader = try FieldReader(try JSONParser.parse(Array(object.utf8)), prefix: "x.")
        for i in 0..<100 where i != unread { _ = try reader.integer("f\(i)", in: 0...1_000) }
        #expect { try reader.finish() } throws: { ($0 as? ValidationError)?.field == "x.f\(unread)" }
        _ = try reader.integer("f\(unread)", in: 0...1_000)
        try reader.finish()
    }
}

@Test func validate_Identifiers_Regions_AndZones() throws {
    #expect(try Validate.identifier("c-1042", field: "customer_id") == "c-1042")
    #expect(throws: ValidationError.self) { try Validate.identifier("", field: "id") }
    #expect(throws: ValidationError.self) { try Validate.identifier(String(repeating: "x", count: 129), field: "id") }
    #expect(throws: ValidationError.self) { try Validate.identifier("a\u{0}b", field: "id") }
    #expect(throws: ValidationError.self) { try Validate.identifier(" a", field: "id") }
    #expect(try Validate.region("us-ca", field: "region") == "US-CA")
    #expect(throws: ValidationError.self) { try Validate.region("USA", field: "region") }
    #expect(try Validate.timeZone("America/Los_Angeles", field: "timezone").identifier == "America/Los_Angeles")
    #expect { try Validate.timeZone("Mars/Olympus", field: "timezone") } throws: { ($0 as? ValidationError)?.message.contains("Mars/Olympus") == true }
}

/// Strings are scanned eight bytes at a time for bytes to escape: one at any position of a
/// string of any length is still escaped, and the text still round-trips.
@Test func jsonWriter_EscapesABytePlacedAnywhereInALongString() throws {
    let plain = Array("abcdefghijklmnopqrstuvwxyz0123456789-é".utf8)
    for length in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 33] {
        let base = String(decoding: plain[0..<min(length, plain.count - 2)], as: UTF8.self)
        var cases = [base]
        for special in ["\"", "\\", "\n", "\u{01}", "\u{1F}"] where !base.isEmpty {
            for position in 0...base.count {
                var text = base
                text.insert(contentsOf: special, at: text.index(text.startIndex, offsetBy: position))
                cases.append(text)
            }
        }
        for text in cases {
            var w = JSONWriter()
            w.string(text)
            #expect(try JSONParser.parse(w.bytes) == .string(text), "\(text.debugDescription)")
        }
    }
}

/// Every member reserves its room once, comma and quotes included: written from the smallest
/// buffer, which grows at nearly every step, and in arrays (a comma before each element), the
/// text must still be exactly the values written.
@Test func jsonWriter_GrowsFromTheSmallestBuffer_WritingEveryMemberWhole() throws {
    let id = DecisionID(milliseconds: 1_795_514_400_123, randA: 0x0abc, randB: 0x0123_4567_89ab_cdef)
    let strings = (0...40).map { String(repeating: "x", count: $0) } + ["a\"b", "tab\tend-of-a-long-string", "é😀", ""]
    var w = JSONWriter(capacity: 16)
    w.objectStart()
    w.key("strings"); w.strings(strings)
    w.key("id"); w.string(id)
    w.key("ids"); w.arrayStart(); w.string(id); w.string(id); w.arrayEnd()
    w.key("hex"); w.arrayStart(); w.hex(high: 1, low: 2); w.hex(high: .max, low: 0); w.arrayEnd()
    w.key("times"); w.arrayStart(); w.time(Date(timeIntervalSince1970: 0)); w.timeMillis(milliseconds: 1_500); w.time(nil); w.arrayEnd()
    w.key("raw"); w.arrayStart(); w.raw(static: "\"allow\""); w.raw(static: "\"suppress\""); w.null(); w.arrayEnd()
    w.key("nested"); w.arrayStart(); w.objectStart(); w.key("a"); w.string(nil); w.objectEnd(); w.arrayStart(); w.arrayEnd(); w.arrayEnd()
    w.key("pieces"); w.string { part in for piece in ["x\"", "", "y"] { piece.withUTF8Bytes(part) } }
    w.objectEnd()
    let expected: JSONValue = .object([
        ("strings", .array(strings.map { .string($0) })),
        ("id", .string(id.text)),
        ("ids", .array([.string(id.text), .string(id.text)])),
        ("hex", .array([.string("00000000000000010000000000000002"), .string("ffffffffffffffff0000000000000000")])),
        ("times", .array([.string("1970-01-01T00:00:00Z"), .string("1970-01-01T00:00:01.500Z"), .null])),
        ("raw", .array([.string("allow"), .string("suppress"), .null])),
        ("nested", .array([.object([("a", .null)]), .array([])])),
        ("pieces", .string("x\"y")),
    ])
    #expect(try JSONParser.parse(w.bytes) == expected)
    #expect(String(decoding: w.bytes, as: UTF8.self).hasPrefix(#"{"strings":["","x","xx","xxx""#))
}

/// A string given in pieces is one JSON string, each piece escaped (a quote split from its
/// neighbours, a piece that is all escapes, an empty piece).
@Test func jsonWriter_AStringInPieces_IsOneEscapedString() throws {
    let pieces = ["Storm \"", "Ida\"", "", "\\\n", ": stay safe"]
    var w = JSONWriter()
    w.arrayStart()
    w.string { part in for piece in pieces { var piece = piece; piece.withUTF8(part) } }
    w.string { _ in }
    w.arrayEnd()
    #expect(try JSONParser.parse(w.bytes) == .array([.string(pieces.joined()), .string("")]))
}

/// The Content-Type check: application/json or any +json type, in any case, with parameters
/// and spaces around; nothing else.
@Test func contentType_IsJSON_InAnyCase_WithParameters() {
    for value in ["application/json", "Application/JSON", " application/json ; charset=utf-8", "application/problem+json",
                  "application/vnd.hush+JSON;v=1", "\tapplication/json\t"] {
        #expect(API.isJSON(value), "\(value)")
    }
    for value in ["", "json", "+json", "text/plain", "application/jsonx", "application/xjson", "xapplication/json",
                  "application/json-seq", "text/json; x=+json", "application/ json", "/x+json", "application/+json", "x+json"] {
        #expect(!API.isJSON(value), "\(value)")
    }
}

@Test func aCountedTime_MustFallInsideTheLongestWindowBackFromNow() throws {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = Policy.standard
    #expect(policy.longestWindow == 7 * 86_400)
    let edge = now.addingTimeInterval(-7 * 86_400)
    #expect(try Validate.counted(edge.addingTimeInterval(0.001), field: "at", now: now, policy: policy) == edge.addingTimeInterval(0.001))
    #expect(try Validate.counted(now.addingTimeInterval(86_400), field: "at", now: now, policy: policy) > now, "a later time is kept")
    #expect { try Validate.counted(edge, field: "at", now: now, policy: policy) } throws: { error in
        let e = error as? ValidationError
        return e?.field == "at" && e?.message.contains("more than 7 days ago") == true
    }
}

/// A CSV record's fields (RFC 4180): empty fields, a last comma, quoted commas, line breaks and
/// doubled quotes, UTF-8; and each malformed record refused with what is wrong.
@Test func csvFields_SplitAsRFC4180Says_AndRefuseWhatIsMalformed() throws {
    func fields(_ line: String) throws -> [String] { try CSV.fields(Array(line.utf8)) }
    #expect(try fields("") == [""])
    #expect(try fields("a") == ["a"])
    #expect(try fields("C00000001,opt_out,email;sms,registry") == ["C00000001", "opt_out", "email;sms", "registry"])
    #expect(try fields(",a,,b,") == ["", "a", "", "b", ""])
    #expect(try fields(#""x, y",z"#) == ["x, y", "z"])
    #expect(try fields("\"two\nlines\",\"\"") == ["two\nlines", ""])
    #expect(try fields(#""say ""hi""",é 😀"#) == [#"say "hi""#, "é 😀"])
    #expect(try fields(#"a,"""""#) == ["a", #"""#])
    for (line, message) in [(#""open"#, "not closed"), (#""a"b,c"#, "after a closing quote"), (#""a" ,c"#, "after a closing quote"),
                            (#"a"b"#, "quote inside an unquoted field"), (#"a,b""#, "quote inside an unquoted field")] {
        #expect(throws: ValidationError.self, "\(line)") { try fields(line) }
        #expect { try fields(line) } throws: { ($0 as? ValidationError)?.message.contains(message) == true }
    }
    for bytes: [UInt8] in [[0x61, 0x2C, 0xFF], [0x22, 0xC3, 0x22]] {
        #expect { try CSV.fields(bytes) } throws: { ($0 as? ValidationError)?.message.contains("not UTF-8") == true }
    }
}

/// A whole number may be written as JSON Schema's integer allows (3.0, 3e2, -0.0); a fraction,
/// a number past a double's exact range, or another type is refused, naming the value.
@Test func anIntegerField_TakesWholeNumbersInEveryJSONSpelling_AndRefusesFractions() throws {
    func score(_ text: String) throws(ValidationError) -> Int64? {
        var reader = try FieldReader(try! JSONParser.parse(Array(#"{"score": \#(text)}"#.utf8)))
        return try reader.integer("score", in: -1000...1000)
    }
    #expect(try score("7") == 7)
    #expect(try score("7.0") == 7)
    #expect(try score("-2e2") == -200)
    #expect(try score("-0.0") == 0)
    #expect { try score("7.5") } throws: { ($0 as? ValidationError)?.message == "must be a whole number, not 7.5" }
    #expect { try score("1e300") } throws: { ($0 as? ValidationError)?.message == "must be a whole number, not 1e+300" }
    #expect { try score("2e3") } throws: { ($0 as? ValidationError)?.message == "must be between -1000 and 1000" }
    #expect { try score("\"7\"") } throws: { ($0 as? ValidationError)?.message == "must be a whole number, not a string" }
}
