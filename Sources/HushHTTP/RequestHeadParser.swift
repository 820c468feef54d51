#if canImport(Glibc)
import Glibc
#endif

/// The outcome of one call to `RequestHeadParser.parse`: picohttpparser's n / -2 / -1.
public enum HeadParseResult: Sendable {
    /// A whole head was read; the body (if any) starts `consumed` bytes into the input.
    case complete(RequestHead, consumed: Int)
    /// More bytes are needed.
    case incomplete
    /// The bytes can never become a valid request.
    case invalid(HTTPParseError)
}

/// A strict RFC 9112 request-head parser over bytes. It never copies until the head is whole,
/// and it remembers how far it scanned, so feeding it one more byte costs one more byte of work
/// (picohttpparser's `last_len`, "a fast countermeasure against slowloris").
public struct RequestHeadParser: Sendable {
    public let limits: HTTPLimits
    /// Bytes already scanned for line ends.
    private var scanned = 0
    /// Where the line being scanned starts.
    private var lineStart = 0
    /// Bytes of empty lines before the request line (RFC 9112 §2.2 lets a server skip them).
    private var leading = 0
    /// Offset just past the request line's CRLF, once seen.
    private var requestLineEnd = 0
    /// The last head's field storage, shared with its `HeaderFields`. Once that request is
    /// gone (the usual case on a keep-alive connection) the next head's fields are written
    /// into it instead of two new allocations; while it is still in use, copy-on-write gives
    /// the next head storage of its own. Not kept past `keptFieldBytes` or `keptFieldSlots`,
    /// so an idle connection holds little.
    private var fieldBytes: [UInt8] = []
    private var fieldSlots: [HeaderFields.Slot] = []
    static let keptFieldBytes = 2048, keptFieldSlots = 32

    public init(limits: HTTPLimits) {
        self.limits = limits
    }

    /// Forgets everything scanned, ready for the next request.
    public mutating func reset() {
        scanned = 0; lineStart = 0; leading = 0; requestLineEnd = 0
    }

    /// Parses `input`, which starts at the first byte of a request and may grow between calls
    /// (the same prefix each time, plus new bytes).
    public mutating func parse(_ input: UnsafeRawBufferPointer) -> HeadParseResult {
        let n = input.count
        var i = scanned
        while i < n {
            guard let lf = findLF(input, from: i) else { i = n; break }
            // RFC 9112 §2.2: a line ends in CRLF; a bare LF is refused rather than tolerated.
            if lf == lineStart || input[lf - 1] != ASCII.cr {
                return .invalid(.malformed("a line ends in LF without CR"))
            }
            let lineBytes = lf - 1 - lineStart
            if requestLineEnd == 0 {
                if lineBytes == 0 {
                    leading = lf + 1
                } else if lineBytes > limits.maxRequestLineBytes {
                    return .invalid(.requestLineTooLong)
                } else {
                    requestLineEnd = lf + 1
                }
            } else if lineBytes == 0 {
                if lf + 1 - requestLineEnd > limits.maxHeaderBytes + 2 {
                    return .invalid(.headerTooLarge("the header section is larger than \(limits.maxHeaderBytes) bytes"))
                }
                return finish(input, end: lf + 1)
            }
            lineStart = lf + 1
            i = lf + 1
            if let error = overLimit(upTo: i) { return .invalid(error) }
        }
        scanned = i
        if let error = overLimit(upTo: n) { return .invalid(error) }
        return .incomplete
    }

    private func overLimit(upTo n: Int) -> HTTPParseError? {
        if requestLineEnd == 0 {
            if leading > limits.maxRequestLineBytes { return .malformed("too many empty lines before the request line") }
            if n - leading > limits.maxRequestLineBytes + 2 { return .requestLineTooLong }
        } else if n - requestLineEnd > limits.maxHeaderBytes + 2 {
            return .headerTooLarge("the header section is larger than \(limits.maxHeaderBytes) bytes")
        }
        return nil
    }

    private func findLF(_ input: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < input.count, let base = input.baseAddress else { return nil }
        guard let hit = memchr(base + start, Int32(ASCII.lf), input.count - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    // MARK: - The whole head is here

    private mutating func finish(_ input: UnsafeRawBufferPointer, end: Int) -> HeadParseResult {
        let line: RequestLine
        switch parseRequestLine(input, leading, requestLineEnd - 2) {
        case .success(let parsed): line = parsed
        case .failure(let error): return .invalid(error)
        }
        let fieldsStart = requestLineEnd, fieldsEnd = end - 2
        fieldBytes.removeAll(keepingCapacity: fieldBytes.capacity <= Self.keptFieldBytes)
        fieldSlots.removeAll(keepingCapacity: fieldSlots.capacity <= Self.keptFieldSlots)
        if let error = parseFields(input, fieldsStart, fieldsEnd, limits: limits, bytes: &fieldBytes, slots: &fieldSlots) {
            return .invalid(error)
        }
        let headers = HeaderFields(bytes: fieldBytes, slots: fieldSlots)
        switch HeadSemantics.resolve(line: line, headers: headers) {
        case .success(let head): return .complete(head, consumed: end)
        case .failure(let error): return .invalid(error)
        }
    }

    struct RequestLine {
        var method: HTTPMethod
        var target: String
        var version: HTTPVersion
    }

    /// request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
    private func parseRequestLine(_ input: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Result<RequestLine, HTTPParseError> {
        var i = start
        while i < end, ASCII.isTchar(input[i]) { i += 1 }
        guard i > start, i < end, input[i] == ASCII.sp else {
            return .failure(.malformed("the request line must be: method SP request-target SP HTTP-version"))
        }
        let method = HTTPMethod(token: UnsafeRawBufferPointer(rebasing: input[start..<i]))
        let targetStart = i + 1
        i = targetStart
        // RFC 9112 §3.2: the target holds visible ASCII only (RFC 3986); no spaces, no CTLs.
        var fragment = false
        while i < end, input[i] > 0x20, input[i] < 0x7F {
            if input[i] == UInt8(ascii: "#") { fragment = true }
            i += 1
        }
        guard i > targetStart, i < end, input[i] == ASCII.sp else {
            return .failure(.malformed("the request target is missing or holds a byte that is not visible ASCII"))
        }
        if fragment { return .failure(.malformed("the request target must not hold a fragment (#)")) }
        let target = String(decoding: UnsafeRawBufferPointer(rebasing: input[targetStart..<i]), as: UTF8.self)
        let versionStart = i + 1
        let versionBytes = UnsafeRawBufferPointer(rebasing: input[versionStart..<end])
        let http: StaticString = "HTTP/"
        guard versionBytes.count == 8, memcmp(versionBytes.baseAddress!, http.utf8Start, 5) == 0,
              isDigit(versionBytes[5]), versionBytes[6] == UInt8(ascii: "."), isDigit(versionBytes[7]) else {
            return .failure(.malformed("the request line must end in HTTP/1.1 or HTTP/1.0"))
        }
        // RFC 9112 §2.3: a version we do not speak is 505, not 400.
        guard versionBytes[5] == UInt8(ascii: "1"), versionBytes[7] <= UInt8(ascii: "1") else {
            return .failure(.unsupportedVersion)
        }
        let version: HTTPVersion = versionBytes[7] == UInt8(ascii: "1") ? .http11 : .http10
        if let error = checkTarget(target, method: method) { return .failure(error) }
        return .success(RequestLine(method: method, target: target, version: version))
    }

    /// RFC 9112 §3.2: origin-form, absolute-form, and asterisk-form for OPTIONS; a fragment never.
    private func checkTarget(_ target: String, method: HTTPMethod) -> HTTPParseError? {
        // A fragment (#) was refused while the target's bytes were read.
        if target.utf8.first == UInt8(ascii: "/") { return nil }
        if target == "*" { return method == .options ? nil : .malformed("the target * is only for OPTIONS") }
        if RequestTarget.absolutePath(of: target) != nil { return nil }
        return .malformed("the request target must be a path starting with / or an absolute http(s) URI")
    }

    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
}

/// field-line = field-name ":" OWS field-value OWS, one per CRLF-ended line (RFC 9112 §5).
/// Shared by the head parser and the chunked trailer section.
func parseFieldLine(_ input: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Result<HeaderFields.Slot, HTTPParseError> {
    guard start < end else { return .failure(.malformed("empty header field line")) }
    // RFC 9112 §5.2: obsolete line folding is refused, not unfolded.
    if ASCII.isOWS(input[start]) {
        return .failure(.malformed("a header field line starts with whitespace (obsolete line folding)"))
    }
    var i = start
    while i < end, ASCII.isTchar(input[i]) { i += 1 }
    guard i < end, input[i] == ASCII.colon else {
        if i < end, ASCII.isOWS(input[i]) {
            // RFC 9112 §5.1: whitespace between a field name and its colon is a 400.
            return .failure(.malformed("whitespace between a header field name and its colon"))
        }
        return .failure(.malformed("a header field name holds a byte that is not a token character"))
    }
    guard i > start else { return .failure(.malformed("a header field has an empty name")) }
    let nameEnd = i
    var valueStart = i + 1
    while valueStart < end, ASCII.isOWS(input[valueStart]) { valueStart += 1 }
    var valueEnd = end
    while valueEnd > valueStart, ASCII.isOWS(input[valueEnd - 1]) { valueEnd -= 1 }
    var j = valueStart
    // Eight bytes at a time while none is a control or DEL (the usual value); the first word
    // that holds one, tab included, is left to the byte loop below to judge.
    let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
    while j + 8 <= valueEnd {
        let w = UInt64(littleEndian: input.loadUnaligned(fromByteOffset: j, as: UInt64.self))
        let below20 = (w &- ones &* 0x20) & ~w & highs
        let x = w ^ (ones &* 0x7F)
        let isDEL = (x &- ones) & ~x & highs
        if below20 | isDEL != 0 { break }
        j += 8
    }
    while j < valueEnd {
        // RFC 9110 §5.5: CR, LF, NUL and other controls are never part of a field value.
        guard ASCII.isFieldByte(input[j]) else {
            return .failure(.malformed("a header field value holds a control character"))
        }
        j += 1
    }
    return .success(.init(nameStart: Int32(start), nameEnd: Int32(nameEnd), valueStart: Int32(valueStart), valueEnd: Int32(valueEnd)))
}

/// Parses the field lines in `input[start..<end]` (each ending in CRLF) into `bytes` and
/// `slots` (both empty) for a `HeaderFields`; the error when a line is not a valid field.
func parseFields(_ input: UnsafeRawBufferPointer, _ start: Int, _ end: Int, limits: HTTPLimits,
                 bytes: inout [UInt8], slots: inout [HeaderFields.Slot]) -> HTTPParseError? {
    if slots.capacity < 8 { slots.reserveCapacity(8) }
    var lineStart = start
    while lineStart < end {
        guard let hit = memchr(input.baseAddress! + lineStart, Int32(ASCII.lf), end - lineStart) else { break }
        let lineEnd = input.baseAddress!.distance(to: UnsafeRawPointer(hit)) - 1 // the CR; bare LFs were refused while scanning
        switch parseFieldLine(input, lineStart, lineEnd) {
        case .success(var slot):
            guard slots.count < limits.maxHeaderCount else {
                return .headerTooLarge("more than \(limits.maxHeaderCount) header fields")
            }
            slot.nameStart -= Int32(start); slot.nameEnd -= Int32(start)
            slot.valueStart -= Int32(start); slot.valueEnd -= Int32(start)
            slots.append(slot)
        case .failure(let error):
            return error
        }
        lineStart = lineEnd + 2
    }
    // A bare CR inside a line (not followed by LF) fails the control-character check above.
    bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start..<end]))
    return nil
}
