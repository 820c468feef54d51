// swift-tools-version:6.0
// hush's in-process benchmarks, kept out of the main package so its build and CI stay lean.
// Run from the repository root: see README, "Benchmarks".
import Foundation
import PackageDescription

// A path dependency is named after its folder, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "hush-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: root.path)],
    targets: [
        .executableTarget(name: "decisions-bench", dependencies: [
            .product(name: "HushCore", package: root.lastPathComponent),
            .product(name: "HushStore", package: root.lastPathComponent),
            .product(name: "HushAPI", package: root.lastPathComponent),
        ], swiftSettings: [.swiftLanguageMode(.v5)]), // a script-like main.swift with top-level state
        .executableTarget(name: "replica-bench", dependencies: [
            .product(name: "HushCore", package: root.lastPathComponent),
            .product(name: "HushStore", package: root.lastPathComponent),
            .product(name: "HushPostgres", package: root.lastPathComponent),
            .product(name: "HushReplica", package: root.lastPathComponent),
            .product(name: "HushAPI", package: root.lastPathComponent),
        ], swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(name: "decision-log-bench", dependencies: [
            .product(name: "HushLog", package: root.lastPathComponent),
        ], swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
