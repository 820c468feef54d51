import Foundation
import Testing
@testable import HushHTTP

/// Parses `bytes` in one go with a fresh parser.
func parseOnce(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits()) -> HeadParseResult {
    var parser = RequestHeadParser(limits: limits)
    return bytes.withUnsafeBytes { parser.parse($0) }
}

extension HeadParseResult {
    var head: RequestHead? { if case .complete(let head, _) = self { head } else { nil } }
    var consumed: Int? { if case .complete(_, let consumed) = self { consumed } else { nil } }
    var error: HTTPParseError? { if case .invalid(let error) = self { error } else { nil } }
    var isIncomplete: Bool { if case .incomplete = self { true } else { false } }
}

struct ValidCase: Sendable, CustomStringConvertible {
    let name: String
    let bytes: String
    let method: HTTPMethod
    let target: String
    let version: HTTPVersion
    let framing: BodyFraming
    let keepAlive: Bool
    var expectContinue = false
    var description: String { name }
}

let validCases: [ValidCase] = [
    .init(name: "simple GET", bytes: "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", method: .get, target: "/healthz", version: .http11, framing: .none, keepAlive: true),
    .init(name: "HTTP/1.0 without Host closes", bytes: "GET / HTTP/1.0\r\n\r\n", method: .get, target: "/", version: .http10, framing: .none, keepAlive: false),
    .init(name: "HTTP/1.0 keep-alive", bytes: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", method: .get, target: "/", version: .http10, framing: .none, keepAlive: true),
    .init(name: "Connection close in a list", bytes: "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, close\r\n\r\n", method: .get, target: "/", version: .http11, framing: .none, keepAlive: false),
    .init(name: "Content-Length", bytes: "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", method: .post, target: "/x", version: .http11, framing: .length(12), keepAlive: true),
    .init(name: "equal Content-Length twice", bytes: "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n", method: .post, target: "/x", version: .http11, framing: .length(3), keepAlive: true),
    .init(name: "equal Content-Length list", bytes: "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", method: .post, target: "/x", version: .http11, framing: .length(3), keepAlive: true),
    .init(name: "chunked any case", bytes: "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", method: .put, target: "/x", version: .http11, framing: .chunked, keepAlive: true),
    .init(name: "Expect 100-continue", bytes: "PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", method: .put, target: "/x", version: .http11, framing: .length(1), keepAlive: true, expectContinue: true),
    .init(name: "leading empty lines are skipped", bytes: "\r\n\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\n", method: .get, target: "/a", version: .http11, framing: .none, keepAlive: true),
    .init(name: "absolute-form", bytes: "GET http://a:80/p?q=1 HTTP/1.1\r\nHost: a:80\r\n\r\n", method: .get, target: "http://a:80/p?q=1", version: .http11, framing: .none, keepAlive: true),
    .init(name: "asterisk for OPTIONS", bytes: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", method: .options, target: "*", version: .http11, framing: .none, keepAlive: true),
    .init(name: "unknown method token", bytes: "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n", method: .other("PURGE"), target: "/x", version: .http11, framing: .none, keepAlive: true),
    .init(name: "empty value and tabs", bytes: "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n", method: .get, target: "/", version: .http11, framing: .none, keepAlive: true),
    .init(name: "obs-text in a value", bytes: "GET / HTTP/1.1\r\nHost: a\r\nX-Name: Jos\u{e9}\r\n\r\n", method: .get, target: "/", version: .http11, framing: .none, keepAlive: true),
]

@Test(arguments: validCases)
func validRequests_ParseToTheirHead(_ c: ValidCase) throws {
    let bytes = Array(c.bytes.utf8)
    let result = parseOnce(bytes)
    let head = try #require(result.head, "\(c.name): \(result.error?.message ?? "incomplete")")
    #expect(head.method == c.method)
    #expect(head.target == c.target)
    #expect(head.version == c.version)
    #expect(head.framing == c.framing)
    #expect(head.keepAlive == c.keepAlive)
    #expect(head.expectContinue == c.expectContinue)
    #expect(result.consumed == bytes.count)
}

@Test(arguments: validCases)
func validRequests_StayIncompleteUntilTheirLastByte_AtEverySplit(_ c: ValidCase) throws {
    let bytes = Array(c.bytes.utf8)
    for split in 1..<bytes.count {
        // One parser fed a growing prefix, as the connection does.
        var parser = RequestHeadParser(limits: HTTPLimits())
        let first = bytes[0..<split].withUnsafeBytes { parser.parse($0) }
        #expect(first.isIncomplete, "\(c.name): prefix of \(split) bytes should be incomplete")
        let whole = bytes.withUnsafeBytes { parser.parse($0) }
        #expect(whole.head?.target == c.target, "\(c.name): split at \(split)")
        #expect(whole.consumed == bytes.count)
    }
}

@Test func headerFields_KeepDuplicatesInOrder_AndCompareNamesCaseInsensitively() throws {
    let head = try #require(parseOnce(Array("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nX-B:  spaced value  \r\n\r\n".utf8)).head)
    #expect(head.headers.values("X-A") == ["1", "2"])
    #expect(head.headers.first("x-b") == "spaced value")
    #expect(head.headers.first("x-c") == nil)
    #expect(head.headers.count == 4)
    #expect(head.headers[1].name == "X-A")
}

@Test func bodyBytes_AreNotPartOfTheHead() throws {
    let text = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    let result = parseOnce(Array(text.utf8))
    #expect(result.consumed == text.utf8.count - 5)
}

struct MalformedHead: Sendable, CustomStringConvertible {
    let name: String
    let bytes: [UInt8]
    let status: Int
    var description: String { name }
}

/// Every malformed case of the corpus whose fault lies in the head (the body ones need a server).
func corpus(_ folder: String) -> [(name: String, bytes: [UInt8])] {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus/\(folder)")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.sorted().map { name in
        (String(name.dropLast(5)), Array((try? Data(contentsOf: directory.appendingPathComponent(name))) ?? Data()))
    }
}

@Test func malformedCorpus_HasAtLeast25Cases() {
    #expect(corpus("malformed").count >= 25)
}

@Test func malformedHeads_AreRefusedWithTheirStatus() throws {
    let bodyFaults = ["413-", "400-bad-chunk", "400-chunk", "400-trailer", "400-bad-percent"]
    var checked = 0
    for (name, bytes) in corpus("malformed") where !bodyFaults.contains(where: { name.hasPrefix($0) }) {
        let status = Int(name.prefix(3))!
        let result = parseOnce(bytes)
        let error = try #require(result.error, "\(name) should be refused, was accepted")
        #expect(error.status.code == status, "\(name): \(error)")
        checked += 1
    }
    #expect(checked >= 25)
}

@Test func validCorpus_Parses() {
    for (name, bytes) in corpus("valid") {
        #expect(parseOnce(bytes).head != nil, "\(name)")
    }
}

@Test func requestLineLimit_Is414_EvenBeforeTheLineEnds() {
    var limits = HTTPLimits()
    limits.maxRequestLineBytes = 64
    let result = parseOnce(Array(("GET /" + String(repeating: "a", count: 100)).utf8), limits: limits)
    #expect(result.error == .requestLineTooLong)
    // Exactly at the limit is fine.
    let line = "GET /" + String(repeating: "a", count: 64 - 14) + " HTTP/1.1"
    #expect(line.utf8.count == 64)
    #expect(parseOnce(Array((line + "\r\nHost: a\r\n\r\n").utf8), limits: limits).head != nil)
}

@Test func headerLimits_Are431() {
    var limits = HTTPLimits()
    limits.maxHeaderCount = 3
    let four = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
    #expect(parseOnce(Array(four.utf8), limits: limits).error?.status == .headerTooLarge)
    let three = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"
    #expect(parseOnce(Array(three.utf8), limits: limits).head != nil)
    limits.maxHeaderBytes = 32
    let big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 40)
    #expect(parseOnce(Array(big.utf8), limits: limits).error?.status == .headerTooLarge)
}

@Test func contentLength_ParsesDigitsOnly() {
    func parse(_ s: String) -> Int? { HeadSemantics.parseContentLength(ArraySlice(s.utf8)) }
    #expect(parse("0") == 0)
    #expect(parse("9223372036854775807") == Int.max)
    #expect(parse("9223372036854775808") == nil)
    #expect(parse("1 2") == nil)
    #expect(parse("") == nil)
    #expect(parse("7,") == nil)
    #expect(parse(" 7 , 7 ") == 7)
    #expect(parse("12,12,12") == 12)
    #expect(parse("7,8") == nil)
    #expect(parse(",7") == nil)
    // A value is a slice of the header bytes: indices do not start at 0.
    let line = Array("Content-Length: 42, 42".utf8)
    #expect(HeadSemantics.parseContentLength(line[16...]) == 42)
    #expect(HeadSemantics.parseContentLength(line[15...]) == 42)
}

/// Field values are checked eight bytes at a time: a control byte or DEL at any position of a
/// long value is still refused, and tabs, obs-text and every visible byte still pass.
@Test func fieldValues_ControlBytesAreRefusedAtEveryPosition() {
    let visible = (0x20...0x7E).map { UInt8($0) } + [0x09, 0x80, 0xFF]
    for length in [7, 8, 9, 16, 23, 40] {
        let fine = (0..<length).map { i in visible[(i * 7 + length) % visible.count] }
        // A value may not start or end with whitespace in the parsed slot, but it may hold some.
        let ok = Array("GET / HTTP/1.1\r\nHost: a\r\nX-Long: v".utf8) + fine + Array("v\r\n\r\n".utf8)
        #expect(parseOnce(ok).head != nil, "length \(length)")
        for position in 0..<length {
            for bad: UInt8 in [0x00, 0x01, 0x0B, 0x1F, 0x7F] {
                var value = fine
                value[position] = bad
                let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nX-Long: v".utf8) + value + Array("v\r\n\r\n".utf8)
                #expect(parseOnce(bytes).error != nil, "byte \(bad) at \(position) of \(length)")
            }
        }
    }
}

/// A parser reuses its field storage for the next head: a head still held keeps its own fields
/// while the next is parsed, and a head parsed after the first is dropped is read right too.
@Test func fieldStorage_IsReused_WithoutChangingAHeadStillHeld() throws {
    var parser = RequestHeadParser(limits: HTTPLimits())
    func parse(_ text: String) throws -> RequestHead {
        let bytes = Array(text.utf8)
        let result = bytes.withUnsafeBytes { parser.parse($0) }
        parser.reset()
        return try #require(result.head, "\(text)")
    }
    let first = try parse("GET /a HTTP/1.1\r\nHost: one\r\nX-A: first value\r\n\r\n")
    let second = try parse("POST /b HTTP/1.1\r\nHost: two.example\r\nContent-Length: 0\r\nX-B: 2\r\n\r\n")
    #expect(first.headers.first("host") == "one" && first.headers.first("x-a") == "first value" && first.headers.count == 2)
    #expect(second.headers.first("host") == "two.example" && second.headers.first("x-b") == "2" && second.headers.count == 3)
    var third: RequestHead? = try parse("GET /c HTTP/1.1\r\nHost: three\r\n\r\n")
    #expect(third?.headers.first("host") == "three" && third?.headers.count == 1)
    third = nil
    let fourth = try parse("GET /d HTTP/1.1\r\nHost: four\r\nAccept: */*\r\n\r\n")
    #expect(fourth.headers.first("host") == "four" && fourth.headers.first("accept") == "*/*" && fourth.headers.count == 2)
    #expect(second.headers.first("host") == "two.example", "an older head is untouched")
    // A head larger than what is kept is read whole, and the next one after it too.
    let big = try parse("GET /e HTTP/1.1\r\nHost: five\r\nX-Big: " + String(repeating: "b", count: 4000) + "\r\n\r\n")
    #expect(big.headers.first("x-big")?.count == 4000)
    #expect(try parse("GET /f HTTP/1.1\r\nHost: six\r\n\r\n").headers.first("host") == "six")
}
