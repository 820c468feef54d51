/// An incremental decoder of the chunked transfer coding (RFC 9112 §7.1). It is fed the bytes
/// that follow the header section, as they arrive, looks at each byte once, appends chunk data
/// to a body, and validates (then drops) chunk extensions and the trailer section.
public struct ChunkedDecoder: Sendable {
    public enum Progress: Sendable, Equatable {
        /// All input was used; more is needed.
        case needMore
        /// The last chunk and the trailer section ended, `consumed` bytes into this input.
        case done(consumed: Int)
    }

    private enum State: Sendable {
        case size(value: Int, digits: Int)
        case extensions(size: Int, inQuotes: Bool)
        case sizeLF(Int)
        case data(remaining: Int)
        case dataCR, dataLF
        case trailer
        case trailerLF
    }

    private let maxBodyBytes: Int
    private let limits: HTTPLimits
    private var state: State = .size(value: 0, digits: 0)
    private var lineBytes = 0
    private var trailerLine: [UInt8] = []
    private var trailerBytes = 0
    private var trailerCount = 0

    /// `maxBodyBytes` bounds the decoded body (413 past it); `limits` bounds the chunk-size
    /// lines and the trailer section.
    public init(maxBodyBytes: Int, limits: HTTPLimits) {
        self.maxBodyBytes = maxBodyBytes
        self.limits = limits
    }

    /// Decodes as much of `input` as it can, appending chunk data to `body`.
    public mutating func feed(_ input: UnsafeRawBufferPointer, into body: inout [UInt8]) throws(HTTPParseError) -> Progress {
        var i = 0
        let n = input.count
        while i < n {
            let b = input[i]
            switch state {
            case .size(let value, let digits):
                if let digit = hexDigit(b) {
                    // Leading zeros are not counted; 15 significant hex digits is 2^60, far past any
                    // body limit, so the value can never overflow.
                    let significant = value == 0 && digit == 0 ? digits : digits + 1
                    guard significant <= 15 else { throw .bodyTooLarge(limit: maxBodyBytes) }
                    state = .size(value: value << 4 | Int(digit), digits: significant)
                    lineBytes += 1
                    if lineBytes > limits.maxChunkLineBytes { throw .malformed("a chunk-size line is too long") }
                } else if lineBytes == 0 {
                    throw .malformed("a chunk must start with its size in hexadecimal")
                } else if b == ASCII.cr {
                    state = .sizeLF(value)
                } else if b == ASCII.semicolon || ASCII.isOWS(b) {
                    state = .extensions(size: value, inQuotes: false)
                    lineBytes += 1
                } else {
                    throw .malformed("a chunk size holds a byte that is not a hexadecimal digit")
                }
            case .extensions(let size, let inQuotes):
                lineBytes += 1
                if lineBytes > limits.maxChunkLineBytes { throw .malformed("a chunk-size line is too long") }
                if b == ASCII.cr, !inQuotes {
                    state = .sizeLF(size)
                } else if b == UInt8(ascii: "\"") {
                    state = .extensions(size: size, inQuotes: !inQuotes)
                } else if !ASCII.isFieldByte(b) {
                    throw .malformed("a chunk extension holds a control character")
                }
            case .sizeLF(let size):
                guard b == ASCII.lf else { throw .malformed("a chunk-size line must end in CRLF") }
                try checkSize(size, body: body)
                lineBytes = 0
                state = size == 0 ? .trailer : .data(remaining: size)
            case .data(let remaining):
                let take = min(remaining, n - i)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                state = take == remaining ? .dataCR : .data(remaining: remaining - take)
                continue
            case .dataCR:
                guard b == ASCII.cr else { throw .malformed("chunk data must be followed by CRLF") }
                state = .dataLF
            case .dataLF:
                guard b == ASCII.lf else { throw .malformed("chunk data must be followed by CRLF") }
                state = .size(value: 0, digits: 0)
            case .trailer:
                if b == ASCII.cr {
                    state = .trailerLF
                } else {
                    trailerLine.append(b)
                    trailerBytes += 1
                    if trailerBytes > limits.maxHeaderBytes {
                        throw .headerTooLarge("the trailer section is larger than \(limits.maxHeaderBytes) bytes")
                    }
                }
            case .trailerLF:
                guard b == ASCII.lf else { throw .malformed("a trailer line must end in CRLF") }
                if trailerLine.isEmpty { return .done(consumed: i + 1) }
                try checkTrailerLine()
                state = .trailer
            }
            i += 1
        }
        return .needMore
    }

    private func checkSize(_ size: Int, body: [UInt8]) throws(HTTPParseError) {
        if size > maxBodyBytes - body.count { throw .bodyTooLarge(limit: maxBodyBytes) }
    }

    private mutating func checkTrailerLine() throws(HTTPParseError) {
        trailerCount += 1
        if trailerCount > limits.maxHeaderCount {
            throw .headerTooLarge("more than \(limits.maxHeaderCount) trailer fields")
        }
        let result = trailerLine.withUnsafeBytes { parseFieldLine($0, 0, $0.count) }
        trailerLine.removeAll(keepingCapacity: true)
        if case .failure(let error) = result { throw error }
    }

    private func hexDigit(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
