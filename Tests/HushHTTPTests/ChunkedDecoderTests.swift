import Testing
@testable import HushHTTP

func decodeChunked(_ text: String, maxBody: Int = 1 << 20, splitAt split: Int? = nil) throws(HTTPParseError) -> (body: String, consumed: Int)? {
    var decoder = ChunkedDecoder(maxBodyBytes: maxBody, limits: HTTPLimits())
    var body: [UInt8] = []
    let bytes = Array(text.utf8)
    let cut = split ?? bytes.count
    var offset = 0
    for part in [bytes[0..<cut], bytes[cut...]] where !part.isEmpty {
        let copy = Array(part)
        let progress: ChunkedDecoder.Progress
        do {
            progress = try copy.withUnsafeBytes { buffer in try decoder.feed(buffer, into: &body) }
        } catch let error as HTTPParseError {
            throw error
        } catch {
            preconditionFailure("unexpected \(error)")
        }
        if case .done(let consumed) = progress { return (String(decoding: body, as: UTF8.self), offset + consumed) }
        offset += part.count
    }
    return nil
}

@Test func chunkedBody_DecodesWithExtensionsAndTrailers() throws {
    let text = "5;name=\"a;b\"\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT"
    let result = try #require(try decodeChunked(text))
    #expect(result.body == "hello world")
    #expect(result.consumed == text.utf8.count - 4)
}

@Test func chunkedBody_DecodesTheSameAtEverySplit() throws {
    let text = "a\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n"
    for split in 0...text.utf8.count {
        let result = try #require(try decodeChunked(text, splitAt: split), "split \(split)")
        #expect(result.body == "0123456789x")
        #expect(result.consumed == text.utf8.count)
    }
}

@Test func chunkedBody_LeadingZerosInSizeAreFine() throws {
    #expect(try decodeChunked("0000000000000000000003\r\nabc\r\n0\r\n\r\n")?.body == "abc")
}

@Test func chunkedBody_OverTheLimitIs413() {
    #expect(throws: HTTPParseError.bodyTooLarge(limit: 4)) { try decodeChunked("5\r\nhello\r\n0\r\n\r\n", maxBody: 4) }
    #expect(throws: HTTPParseError.bodyTooLarge(limit: 4)) { try decodeChunked("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", maxBody: 4) }
    #expect(throws: HTTPParseError.bodyTooLarge(limit: 100)) { try decodeChunked("1000000000000000\r\n", maxBody: 100) }
}

@Test(arguments: [
    "\r\n",               // no size
    "g\r\n",              // not hex
    "3\nabc\r\n0\r\n\r\n", // bare LF
    "3\r\nabcd\r\n",      // data longer than its size
    "3\r\nabc\n",         // no CR after data
    "3;\u{1}\r\nabc\r\n0\r\n\r\n", // control in extension
    "0\r\nBad Name: v\r\n\r\n",    // space in a trailer name
])
func chunkedBody_Malformed_IsRefused(_ text: String) {
    #expect(throws: HTTPParseError.self) { try decodeChunked(text) }
}
