import Foundation
import Testing
import HushTestSupport

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

/// A development database and its key stay out of `git status` and out of an image's context.
@Test func databasesAndKeys_AreIgnoredByGit_AndLeftOutOfTheDockerContext() throws {
    let paths = ["hush.db", "hush.db-wal", "hush.db-shm", "hush.db.erasure-key", "data/other.db.erasure-key", ".build"]
    let git = try Command.run("git", ["-C", root.path, "check-ignore", "--no-index", "--stdin"], input: paths.joined(separator: "\n") + "\n")
    let ignored = git.out.split(separator: "\n").map(String.init)
    #expect(ignored == paths, "\(git.err)")

    let docker = try String(contentsOf: root.appendingPathComponent(".dockerignore"), encoding: .utf8)
    let patterns = Set(docker.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.hasPrefix("#") })
    for needed in [".build", ".git", "**/*.db", "**/*.db-*", "**/*.db.*", "**/*.erasure-key"] {
        #expect(patterns.contains(needed), "\(needed)")
    }
}

/// The README is what a clone has: it names no file outside the repository, and every path of
/// the repository it names exists.
@Test func readme_StandsOnItsOwn() throws {
    let text = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    for outside in ["API.md", "DESIGN.md", "STYLE.md", "bench/anchors", "../shared", "RESULTS.md"] {
        #expect(!text.contains(outside), "\(outside)")
    }
    var named = 0
    for piece in text.components(separatedBy: "`").enumerated() where piece.offset % 2 == 1 {
        let token = piece.element
        guard ["Sources/", "Tests/", "Benchmarks/", "Config/", ".ci/"].contains(where: token.hasPrefix), !token.contains(" "),
              !token.contains("*"), !token.contains(".build") else { continue }
        let path = token.hasSuffix("/") ? String(token.dropLast()) : token
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path), "README names \(token)")
        named += 1
    }
    #expect(named >= 5)
}
