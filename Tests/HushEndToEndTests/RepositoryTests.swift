import Foundation
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Docker is not available where the tests run, so the Dockerfile is checked for what can be
/// checked: every path it copies from the repository exists, and it builds the `hush` product.
@Test func dockerfile_CopiesOnlyPathsThatExist() throws {
    let text = try String(contentsOf: root.appendingPathComponent("Dockerfile"), encoding: .utf8)
    var copied = 0
    for line in text.split(separator: "\n") where line.hasPrefix("COPY ") && !line.contains("--from=") {
        let parts = line.split(separator: " ").dropFirst().filter { !$0.hasPrefix("--") }
        for source in parts.dropLast() {
            #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(String(source)).path), "COPY \(source)")
            copied += 1
        }
    }
    #expect(copied >= 4)
    #expect(text.contains("--product hush"))
}

@Test func readme_StartsWithTheRunAndTestCommands() throws {
    let text = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    let firstBlock = text.components(separatedBy: "```").dropFirst().first ?? ""
    #expect(firstBlock.contains("swift run hush"))
    #expect(firstBlock.contains("swift test"))
}
