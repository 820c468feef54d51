/// The rules that need the whole header section: Host, message framing, persistence, Expect.
enum HeadSemantics {
    static func resolve(line: RequestHeadParser.RequestLine, headers: HeaderFields) -> Result<RequestHead, HTTPParseError> {
        var hostCount = 0
        var contentLength: Int?
        var codings: [String] = []
        var sawTransferEncoding = false
        var close = false, keepAliveToken = false, expectContinue = false

        for slot in headers.slots {
            let value = headers.valueBytes(slot)
            if headers.nameEquals(slot, lowercase: "host") {
                hostCount += 1
                guard isValidHost(value) else { return .failure(.malformed("the Host header is not a valid host")) }
            } else if headers.nameEquals(slot, lowercase: "content-length") {
                // RFC 9110 §8.6: a list of identical values may be read as one; differing values are an error.
                guard let length = parseContentLength(value) else {
                    return .failure(.malformed("Content-Length must be a decimal number that fits in 63 bits"))
                }
                if let previous = contentLength, previous != length {
                    return .failure(.malformed("differing Content-Length values"))
                }
                contentLength = length
            } else if headers.nameEquals(slot, lowercase: "transfer-encoding") {
                sawTransferEncoding = true
                codings += listElements(value).map { codingName($0) }
            } else if headers.nameEquals(slot, lowercase: "connection") {
                for token in listElements(value) {
                    if token == "close" { close = true }
                    if token == "keep-alive" { keepAliveToken = true }
                }
            } else if headers.nameEquals(slot, lowercase: "expect") {
                // RFC 9110 §10.1.1: other expectations may be ignored.
                if listElements(value).contains("100-continue") { expectContinue = true }
            }
        }

        // RFC 9112 §3.2: exactly one Host on HTTP/1.1; never more than one.
        if hostCount > 1 { return .failure(.malformed("more than one Host header")) }
        if hostCount == 0, line.version == .http11 { return .failure(.malformed("an HTTP/1.1 request must carry a Host header")) }

        let framing: BodyFraming
        switch resolveFraming(version: line.version, contentLength: contentLength, sawTransferEncoding: sawTransferEncoding, codings: codings) {
        case .success(let resolved): framing = resolved
        case .failure(let error): return .failure(error)
        }
        // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
        let keepAlive = line.version == .http11 ? !close : (keepAliveToken && !close)
        return .success(RequestHead(
            method: line.method, version: line.version, target: line.target, headers: headers,
            framing: framing, keepAlive: keepAlive, expectContinue: expectContinue && line.version == .http11))
    }

    private static func resolveFraming(version: HTTPVersion, contentLength: Int?, sawTransferEncoding: Bool, codings: [String]) -> Result<BodyFraming, HTTPParseError> {
        guard sawTransferEncoding else { return .success(contentLength.map { .length($0) } ?? .none) }
        // RFC 9112 §6.3: Transfer-Encoding with Content-Length is a smuggling attempt: refuse.
        if contentLength != nil { return .failure(.malformed("both Transfer-Encoding and Content-Length")) }
        // RFC 9112 §6.1: Transfer-Encoding on HTTP/1.0 means the framing is faulty.
        if version == .http10 { return .failure(.malformed("Transfer-Encoding on an HTTP/1.0 request")) }
        // RFC 9112 §6.3: a request whose final coding is not chunked has no determinable length.
        guard codings.last == "chunked" else {
            return .failure(.malformed("Transfer-Encoding must end with chunked"))
        }
        for coding in codings.dropLast() {
            // RFC 9112 §7: chunked must not be applied more than once.
            if coding == "chunked" { return .failure(.malformed("chunked applied more than once")) }
            return .failure(.unsupportedTransferCoding(coding))
        }
        return .success(.chunked)
    }

    /// 1*DIGIT, or a comma-separated list of equal ones; nil when malformed or past 2^63 - 1.
    /// One pass over the bytes (no list of elements is built: this runs for every request with a body).
    static func parseContentLength(_ bytes: ArraySlice<UInt8>) -> Int? {
        var result: Int?
        var start = bytes.startIndex
        while true {
            let end = bytes[start...].firstIndex(of: ASCII.comma) ?? bytes.endIndex
            let trimmed = trimOWS(bytes[start..<end])
            guard !trimmed.isEmpty, trimmed.count <= 19 else { return nil }
            var value = 0
            for b in trimmed {
                guard b >= 48, b <= 57 else { return nil }
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(b - 48))
                if o1 || o2 { return nil }
                value = sum
            }
            if let previous = result, previous != value { return nil }
            result = value
            guard end < bytes.endIndex else { return result }
            start = end + 1
        }
    }

    /// The lower-cased, non-empty elements of a comma-separated list (RFC 9110 §5.6.1).
    static func listElements(_ bytes: ArraySlice<UInt8>) -> [String] {
        bytes.split(separator: ASCII.comma).compactMap { element in
            let trimmed = trimOWS(element)
            return trimmed.isEmpty ? nil : String(decoding: trimmed.map(ASCII.lower), as: UTF8.self)
        }
    }

    /// A transfer coding without its parameters: `gzip;q=1` → `gzip`.
    private static func codingName(_ element: String) -> String {
        let name = element.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return String(name).trimmingOWS()
    }

    static func trimOWS(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = bytes.startIndex, e = bytes.endIndex
        while s < e, ASCII.isOWS(bytes[s]) { s += 1 }
        while e > s, ASCII.isOWS(bytes[e - 1]) { e -= 1 }
        return bytes[s..<e]
    }

    /// Host = uri-host [ ":" port ] (RFC 9110 §7.2), checked by bytes: reg-name, IPv4 or an IP literal.
    /// An empty Host is allowed by RFC 9112 §3.2 when the target has no authority.
    private static func isValidHost(_ bytes: ArraySlice<UInt8>) -> Bool {
        for b in bytes where !isHostByte(b) { return false }
        return true
    }

    /// unreserved / pct-encoded / sub-delims / ":" / "[" / "]" (RFC 3986 §3.2.2), as two 64-bit
    /// masks (bytes 0–63 and 64–127), like `ASCII.isTchar`: no lazily built table to reach.
    static let hostLow: UInt64 = 0x2FFF_7FF2_0000_0000, hostHigh: UInt64 = 0x47FF_FFFE_AFFF_FFFE

    @inline(__always) static func isHostByte(_ b: UInt8) -> Bool {
        b < 64 ? (hostLow >> UInt64(b)) & 1 != 0 : b < 128 && (hostHigh >> UInt64(b - 64)) & 1 != 0
    }
}

extension String {
    func trimmingOWS() -> String {
        String(decoding: HeadSemantics.trimOWS(ArraySlice(utf8)), as: UTF8.self)
    }
}
