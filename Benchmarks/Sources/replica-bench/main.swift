import Foundation
import HushAPI
import HushCore
import HushPostgres
import HushReplica
import HushStore

// The replicated store's figures, against a running PostgreSQL (Benchmarks/replica/replica.sh
// starts a primary with a synchronous standby and loads the seeded database into it):
//
//   snapshot --url U --image P     a new node's first image: time to load the slot's snapshot
//   reads --url U --image P        facts for one decision: from the node's SQLite image (P, as
//                                  loaded by `snapshot`) against straight from PostgreSQL, one
//                                  thread, random customers of C0000001…C<customers>
//   writes --url U                 a write's latency through a node (commit on the primary with
//                                  its synchronous standby, then applied in the node's image),
//                                  one at a time; then RATE writes/s for SECONDS through node A
//                                  with node B following: commit-to-applied lag on B, and A's
//                                  write latency under that load
//   follow --url U --load CMD      a node following while CMD (a shell command: pgbench at a
//                                  fixed rate, say) writes to the primary by itself: the
//                                  commit-to-applied lag of every transaction the node applied
//
// options: --customers N (1000000) --seconds S (10) --rate R (2000) --count N (2000) --runs R (5)

var command = "", url = "", imagePath = "", load = "", customers = 1_000_000, seconds = 10.0, rate = 2_000.0, count = 2_000, runs = 5
var arguments = CommandLine.arguments.dropFirst()
command = arguments.popFirst() ?? ""
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { fatalError("\(flag) needs a value") }
    switch flag {
    case "--url": url = value
    case "--image": imagePath = value
    case "--load": load = value
    case "--customers": customers = Int(value)!
    case "--seconds": seconds = Double(value)!
    case "--rate": rate = Double(value)!
    case "--count": count = Int(value)!
    case "--runs": runs = Int(value)!
    default: fatalError("unknown option \(flag)")
    }
}
guard !url.isEmpty else { fatalError("--url is required") }
MemoryTuning.apply()
setvbuf(stdout, nil, _IOLBF, 0)  // each line as it comes, into a file or a pipe too

let key = [UInt8](repeating: 7, count: 32)
let hasher = try SharedTombstoneHasher(key: key)
func customerID(_ i: Int) -> String { "C" + String(repeating: "0", count: max(0, 7 - String(i).count)) + String(i) }

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
}

func node(_ slot: String, image: String, maxLag: Double = 2) throws -> PostgresStore {
    var options = PostgresStore.Options(url: url, slot: slot)
    options.maxLag = maxLag
    options.report = { print("  \(slot): \($0)") }
    options.inform = options.report
    return try PostgresStore(options: options, imagePath: image, lookback: Policy.standard.longestWindow, tombstoneHash: { hasher.hash($0) },
                             renderHistory: Service.renderHistory)
}

func waitUntilCurrent(_ store: PostgresStore, timeout: Double = 3_600) -> Double? {
    let started = Date()
    while Date().timeIntervalSince(started) < timeout {
        if store.staleness(now: Date()) == nil { return Date().timeIntervalSince(started) }
        usleep(10_000)
    }
    return nil
}

func temporaryImage() -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-replica-bench-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent("image.db").path
}

switch command {
case "snapshot":
    guard !imagePath.isEmpty else { fatalError("--image is required") }
    let started = Date()
    let store = try node("bench_snapshot", image: imagePath)
    guard let ready = waitUntilCurrent(store) else { fatalError("the image did not load") }
    store.close()
    let bytes = (try? FileManager.default.attributesOfItem(atPath: imagePath)[.size] as? Int) ?? 0
    print(String(format: "snapshot: %.1f s from start to a current image (%.1f s of it waiting for the load), image %d MB",
                 Date().timeIntervalSince(started), ready, bytes >> 20))

case "reads":
    guard !imagePath.isEmpty else { fatalError("--image is required") }
    let image = try SQLiteStore(path: imagePath, tombstoneHash: hasher.hash, renderHistory: Service.renderHistory)
    let reader = try image.makeSQLiteReader()
    let db = try PGConnection(url)
    let direct = PostgresFacts(db: db)
    let at = Date(), lookback = Policy.standard.longestWindow
    var rng = SystemRandomNumberGenerator()
    func run(_ label: String, _ body: (String) throws -> Int) rethrows -> Double {
        var rates: [Double] = []
        for _ in 0..<runs {
            let started = DispatchTime.now().uptimeNanoseconds
            var n = 0, found = 0
            while Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 < seconds / Double(runs) {
                for _ in 0..<64 {
                    found += try body(customerID(Int.random(in: 1...customers, using: &rng)))
                    n += 1
                }
                reader.endSnapshot()
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            rates.append(Double(n) / elapsed)
            print(String(format: "%@ run: %.0f facts/s (%.1f us each), %d profiles found of %d", label, Double(n) / elapsed, elapsed * 1e6 / Double(n), found, n))
        }
        return percentile(rates, 0.5)
    }
    let local = try run("image (SQLite)") { id in
        try reader.withFacts(customerID: id, address: nil, channel: .email, at: at, lookback: lookback, holds: image.holds,
                             tombstoneHash: hasher.hash) { $0.profile == nil ? 0 : 1 }
    }
    let remote = try run("PostgreSQL directly") { id in
        try direct.facts(customerID: id, address: nil, channel: .email, at: at, lookback: lookback, tombstoneHash: hasher.hash).profile == nil ? 0 : 1
    }
    print(String(format: "reads: image %.0f/s, PostgreSQL directly %.0f/s (medians of %d): the image is %.1f times as fast", local, remote, runs, local / remote))
    image.close()

case "writes":
    let a = try node("bench_writer", image: temporaryImage()), b = try node("bench_follower", image: temporaryImage())
    guard waitUntilCurrent(a) != nil, waitUntilCurrent(b) != nil else { fatalError("the nodes did not turn current") }
    let actor = Actor(name: "bench", via: .cli)
    func contact(_ i: Int) -> @Sendable (any StoreTransaction) throws(StoreError) -> Void {
        { w throws(StoreError) in
            try w.recordContact(customerID: "W\(i % 10_000)", Contact(channel: .email, purpose: .marketing, at: Date()), campaignID: nil)
        }
    }
    // One at a time.
    var sequential: [Double] = []
    for i in 0..<count {
        let started = DispatchTime.now().uptimeNanoseconds
        try a.writeAndWait(as: actor, contact(i))
        sequential.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
    }
    print(String(format: "writes one at a time: p50 %.2f ms, p99 %.2f ms (%d writes; commit with a synchronous standby, then applied in the node's image)",
                 percentile(sequential, 0.5), percentile(sequential, 0.99), count))
    // At a steady rate, with B following.
    let lagsBefore = b.follower.recentApplyLags.count
    let latencies = DispatchQueue(label: "latencies")
    nonisolated(unsafe) var underLoad: [Double] = []
    nonisolated(unsafe) var failed = 0
    nonisolated(unsafe) var reasons: [String: Int] = [:]
    let group = DispatchGroup()
    let total = Int(rate * seconds)
    let started = DispatchTime.now().uptimeNanoseconds
    for i in 0..<total {
        let due = started + UInt64(Double(i) / rate * 1e9)
        let now = DispatchTime.now().uptimeNanoseconds
        if due > now { usleep(UInt32((due - now) / 1000)) }
        let sent = DispatchTime.now().uptimeNanoseconds
        group.enter()
        a.write(as: actor, contact(i), committed: { result, _ in
            let ms = Double(DispatchTime.now().uptimeNanoseconds - sent) / 1e6
            latencies.sync {
                switch result {
                case .success: underLoad.append(ms)
                case .failure(let error):
                    failed += 1
                    reasons[error.message, default: 0] += 1
                }
            }
            group.leave()
        })
    }
    group.wait()
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    Thread.sleep(forTimeInterval: 1)
    let lags = Array(b.follower.recentApplyLags.dropFirst(lagsBefore)).map { $0 * 1000 }
    print(String(format: "at %.0f writes/s offered (%.0f done/s, %d failed): write latency p50 %.2f ms, p99 %.2f ms; "
                 + "replication lag to another node's image p50 %.2f ms, p99 %.2f ms (%d transactions)",
                 rate, Double(total - failed) / elapsed, failed, percentile(underLoad, 0.5), percentile(underLoad, 0.99),
                 percentile(lags, 0.5), percentile(lags, 0.99), lags.count))
    a.close()
    b.close()
    for (reason, times) in reasons.sorted(by: { $0.value > $1.value }).prefix(3) { print("  failed \(times) times: \(reason)") }
    let db = try PGConnection(url)
    for slot in ["bench_writer", "bench_follower"] { _ = try? db.query("SELECT pg_drop_replication_slot($1)", [slot]) }

case "follow":
    guard !load.isEmpty else { fatalError("--load is required") }
    let b = try node("bench_follower", image: temporaryImage())
    guard waitUntilCurrent(b) != nil else { fatalError("the node did not turn current") }
    let lagsBefore = b.follower.recentApplyLags.count
    let loader = Process()
    loader.executableURL = URL(fileURLWithPath: "/bin/sh")
    loader.arguments = ["-c", load]
    let started = Date()
    try loader.run()
    loader.waitUntilExit()
    let elapsed = Date().timeIntervalSince(started)
    Thread.sleep(forTimeInterval: 1)
    let lags = Array(b.follower.recentApplyLags.dropFirst(lagsBefore)).map { $0 * 1000 }
    print(String(format: "follow: %d transactions in %.1f s (%.0f/s) committed by the load; replication lag to the node's image p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                 lags.count, elapsed, Double(lags.count) / elapsed, percentile(lags, 0.5), percentile(lags, 0.99), lags.max() ?? .nan))
    b.close()
    let db = try PGConnection(url)
    _ = try? db.query("SELECT pg_drop_replication_slot($1)", ["bench_follower"])
    guard loader.terminationStatus == 0 else { fatalError("the load command failed (status \(loader.terminationStatus))") }

default:
    fatalError("usage: replica-bench snapshot|reads|writes|follow --url URL [--image PATH] …")
}
