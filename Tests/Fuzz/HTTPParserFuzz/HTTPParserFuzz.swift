import HushHTTP

/// Fuzzes the request-head parser and the chunked decoder with one oracle besides "no crash":
/// the input fed in two pieces (split where its first byte says) must parse exactly as the
/// whole input does, because the server sees requests arrive in arbitrary pieces.
enum HTTPParserFuzz {
    static func run(_ input: UnsafeRawBufferPointer) {
        var limits = HTTPLimits()
        limits.maxRequestLineBytes = 512
        limits.maxHeaderBytes = 1024
        limits.maxHeaderCount = 16
        var whole = RequestHeadParser(limits: limits)
        let once = whole.parse(input)

        let split = input.isEmpty ? 0 : Int(input[0]) % (input.count + 1)
        var pieces = RequestHeadParser(limits: limits)
        var twice = pieces.parse(UnsafeRawBufferPointer(rebasing: input[0..<split]))
        if case .incomplete = twice { twice = pieces.parse(input) }
        precondition(summary(once) == summary(twice), "split parse differs: \(summary(once)) vs \(summary(twice))")

        guard case .complete(let head, let consumed) = once else { return }
        precondition(consumed <= input.count)
        for (name, value) in head.headers {
            precondition(!name.isEmpty && !value.utf8.contains(13) && !value.utf8.contains(10), "field with CR/LF")
        }
        if head.framing == .chunked {
            fuzzChunked(UnsafeRawBufferPointer(rebasing: input[consumed...]), limits: limits)
        }
    }

    static func fuzzChunked(_ body: UnsafeRawBufferPointer, limits: HTTPLimits) {
        var decoder = ChunkedDecoder(maxBodyBytes: 4096, limits: limits)
        var decoded: [UInt8] = []
        let outcome: String
        do {
            outcome = "\(try decoder.feed(body, into: &decoded))"
        } catch {
            outcome = "\(error)"
        }
        precondition(decoded.count <= 4096, "decoded past the body limit")
        // Byte by byte must agree with all at once.
        var slow = ChunkedDecoder(maxBodyBytes: 4096, limits: limits)
        var slowDecoded: [UInt8] = []
        var slowOutcome = "\(ChunkedDecoder.Progress.needMore)"
        for i in 0..<body.count {
            do {
                let progress = try slow.feed(UnsafeRawBufferPointer(rebasing: body[i..<(i + 1)]), into: &slowDecoded)
                if case .done(let n) = progress { slowOutcome = "\(ChunkedDecoder.Progress.done(consumed: i + n))"; break }
            } catch {
                slowOutcome = "\(error)"
                break
            }
        }
        precondition(outcome == slowOutcome, "chunked byte-by-byte differs: \(outcome) vs \(slowOutcome)")
        precondition(decoded == slowDecoded || outcome.hasPrefix("malformed") || outcome.hasPrefix("bodyTooLarge") || outcome.hasPrefix("headerTooLarge"))
    }

    static func summary(_ result: HeadParseResult) -> String {
        switch result {
        case .complete(let head, let consumed): "complete \(head.method) \(head.target) \(head.framing) \(head.keepAlive) \(consumed) \(head.headers.count)"
        case .incomplete: "incomplete"
        case .invalid(let error): "invalid \(error.status.code)"
        }
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    HTTPParserFuzz.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
import Foundation

/// Without -DFUZZING: replays corpus files or folders given as arguments through the same checks.
@main struct ReplayCorpus {
    static func main() throws {
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("no such file: \(argument)\n".utf8))
                exit(2)
            }
            let files = isDirectory.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: argument).map { argument + "/" + $0 }
                : [argument]
            for file in files {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                data.withUnsafeBytes { HTTPParserFuzz.run($0) }
                count += 1
            }
        }
        print("replayed \(count) inputs")
    }
}
#endif
