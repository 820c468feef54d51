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

/// The runtime image installs packages by name; a library the binary links that none of them
/// (nor what they depend on) provides would make the container fail at its first start. Each
/// library `ldd` resolves for the built binary is traced to its Debian package with `dpkg -S`,
/// and that package must be among the runtime stage's, or their dependencies (`dpkg-query`).
/// The Swift runtime's libraries are left out: the image's build links them statically
/// (`--static-swift-stdlib`). Checked on a Debian machine like the image's; skipped elsewhere.
@Test func theRuntimeImagesPackages_ProvideEveryLibraryTheBinaryLinks() throws {
    guard (try? Command.run("dpkg-query", ["--version"]))?.status == 0 else { return }
    let text = try String(contentsOf: root.appendingPathComponent("Dockerfile"), encoding: .utf8)
    let runtime = text.components(separatedBy: "\nFROM ").last ?? ""
    guard let install = runtime.range(of: "--no-install-recommends ") else {
        Issue.record("the runtime stage installs no packages with --no-install-recommends")
        return
    }
    let listed = runtime[install.upperBound...].prefix { $0 != "&" && $0 != "\\" }.split(separator: " ").map(String.init)
    #expect(listed.contains("libsqlite3-0") && listed.contains("libssl3") && listed.contains("libzstd1"), "\(listed)")
    // The packages and everything they depend on.
    var provided = Set<String>(), pending = listed
    while let package = pending.popLast() {
        guard provided.insert(package).inserted else { continue }
        let depends = try Command.run("dpkg-query", ["-W", "-f=${Depends}, ${Pre-Depends}", package])
        #expect(depends.status == 0, "\(package) is not installed here: \(depends.err)")
        for clause in depends.out.split(separator: ",") {
            for alternative in clause.split(separator: "|") {
                let name = alternative.trimmingCharacters(in: .whitespaces).prefix { $0 != " " && $0 != "(" && $0 != ":" }
                if !name.isEmpty { pending.append(String(name)) }
            }
        }
    }
    let ldd = try Command.run("ldd", [HushProcess.binary])
    #expect(ldd.status == 0, "\(ldd.err)")
    var checked = 0
    for line in ldd.out.split(separator: "\n") {
        // "\tlibssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x…)", or the loader's own line.
        let fields = line.split(separator: " ").map(String.init)
        guard let path = fields.first(where: { $0.hasPrefix("/") }), !path.contains("/lib/swift/") else { continue }
        #expect(!line.contains("not found"), "\(line)")
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var owner = ""
        for candidate in [path, real, "/usr" + path, "/usr" + real] where owner.isEmpty {
            let found = try Command.run("dpkg", ["-S", candidate])
            if found.status == 0 { owner = String(found.out.prefix { $0 != ":" }) }
        }
        let known = provided.contains(owner)
        #expect(known, "\(path) comes from \(owner.isEmpty ? "no package" : owner), not among \(listed.sorted())")
        checked += 1
    }
    #expect(checked >= 5, "libssl, libcrypto, libzstd, libsqlite3, libc at least: \(ldd.out)")
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
