// swift-tools-version:6.1
// hush: may we contact this customer, on this channel, for this purpose, now?
//
// Dependencies point one way: hush → HushAPI → {HushHTTP, HushStore, HushCore, HushLog, HushReplica},
// HushReplica → {HushStore, HushPostgres}, HushStore → HushCore. HushHTTP and HushCore never import each other.
import PackageDescription

let package = Package(
    name: "hush",
    products: [
        .executable(name: "hush", targets: ["hush"]),
        // Library products so that the fuzz and benchmark packages can link the modules.
        .library(name: "HushHTTP", targets: ["HushHTTP"]),
        .library(name: "HushCore", targets: ["HushCore"]),
        .library(name: "HushStore", targets: ["HushStore"]),
        .library(name: "HushAPI", targets: ["HushAPI"]),
        .library(name: "HushLog", targets: ["HushLog"]),
        .library(name: "HushPostgres", targets: ["HushPostgres"]),
        .library(name: "HushReplica", targets: ["HushReplica"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // For the tests only: validates the OpenAPI document as OpenAPI 3.1.
        .package(url: "https://github.com/mattpolzin/OpenAPIKit", from: "6.4.0", traits: []),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CPostgres", path: "Sources/CPostgres", providers: [.apt(["libpq-dev"])]),
        .target(name: "HushHTTP", dependencies: ["CLinux", "COpenSSL"]),
        .target(name: "HushCore"),
        // The decision log's files: buffers, segments, compression, retention, reading back.
        .target(name: "HushLog", dependencies: ["CZstd", "CLinux"]),
        // PostgreSQL through libpq: connections, parameterised statements, typed errors.
        // A node's SQLite image kept current from PostgreSQL's logical replication.
        .target(name: "HushReplica", dependencies: ["HushStore", "HushPostgres", "HushCore"]),
        .target(name: "HushPostgres", dependencies: ["CPostgres"], resources: [
            .embedInCode("Migrations/pg-0001-facts.sql"),
            .embedInCode("Migrations/pg-0002-nodes.sql"),
            .embedInCode("Migrations/pg-0003-log-erasures.sql"),
            .embedInCode("Migrations/pg-0004-retention-indexes.sql"),
        ]),
        // A VFS over SQLite's own that maps a database file whole, past Debian's 2 GiB cap.
        // Debug information as DWARF 4, like the Swift code's: valgrind 3.19 (Debian 12) cannot read clang's DWARF 5.
        .target(name: "CHushVFS", cSettings: [.unsafeFlags(["-gdwarf-4"])], linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(name: "HushStore", dependencies: ["HushCore", "CSQLite", "CHushVFS", "CLinux"], resources: [
            .embedInCode("Migrations/migration-0001-facts.sql"),
            .embedInCode("Migrations/migration-0002-customer-records.sql"),
            .embedInCode("Migrations/migration-0003-record-keys.sql"),
            .embedInCode("Migrations/migration-0004-records-built-for.sql"),
            .embedInCode("Migrations/migration-0005-history.sql"),
            .embedInCode("Migrations/migration-0006-history-retention.sql"),
            .embedInCode("Migrations/migration-0007-checks-without-in-lists.sql"),
            .embedInCode("Migrations/migration-0008-retention-indexes.sql"),
        ]),
        // The OpenAPI document is a file, embedded in the binary and served at /openapi.json.
        .target(name: "HushAPI", dependencies: ["HushHTTP", "HushStore", "HushCore", "HushLog", "HushReplica", "HushPostgres", "COpenSSL", "CLinux",
                                                .product(name: "ArgumentParser", package: "swift-argument-parser")],
                resources: [.embedInCode("Resources/openapi.json")]),
        .executableTarget(name: "hush", dependencies: ["HushAPI"]),
        // libFuzzer target for the HTTP parser when built with -DFUZZING (see README, "Fuzzing");
        // a corpus replayer otherwise.
        .executableTarget(name: "hush-fuzz-http", dependencies: ["HushHTTP"], path: "Tests/Fuzz/HTTPParserFuzz"),

        // Raw-socket client and process helpers shared by the test targets.
        .target(name: "HushTestSupport", dependencies: ["CLinux"], path: "Tests/HushTestSupport"),
        .testTarget(name: "HushHTTPTests", dependencies: ["HushHTTP", "HushTestSupport", "COpenSSL"], exclude: ["Corpus"]),
        .testTarget(name: "HushCoreTests", dependencies: ["HushCore"]),
        .testTarget(name: "HushStoreTests", dependencies: ["HushStore", "CSQLite", "CHushVFS"]),
        .testTarget(name: "HushLogTests", dependencies: ["HushLog"]),
        // Against throw-away PostgreSQL clusters on loopback (`PostgresCluster`).
        .testTarget(name: "HushPostgresTests", dependencies: ["HushPostgres", "HushTestSupport"]),
        .testTarget(name: "HushReplicaTests", dependencies: ["HushReplica", "HushPostgres", "HushStore", "HushCore", "HushTestSupport"]),
        .testTarget(name: "HushAPITests", dependencies: ["HushAPI", "HushLog", "HushTestSupport",
                                                         .product(name: "OpenAPIKit", package: "OpenAPIKit")]),
        // Starts the built `hush` binary and talks to it over sockets; imports nothing of ours.
        .testTarget(name: "HushEndToEndTests", dependencies: ["hush", "HushTestSupport"]),
    ]
)
