import Foundation
import HushAPI
import HushCore
import HushStore

// Decisions per second on one thread: facts from SQLite (one read transaction, every lookup a
// decision needs) plus decide(), for random customers of a generated 1,000,000-customer database.
// Beside it, the bare SQLite point-lookup rate on the same file: the ceiling.
//
// usage: decisions-bench [--db PATH] [--customers N] [--seconds S] [--runs R] [--iterations N] [--turn N]
//
// --turn is how many lookups share a read snapshot, as the requests one event-loop turn serves
// do (default 32; 1 gives every lookup its own read transaction).
//
// --iterations runs exactly N of each per run instead of timing: for instruction counts under
// valgrind's callgrind, where the difference between two counts divided by the difference in N
// is the cost of one.

var path = ".build-bench/bench.db", customers = 1_000_000, seconds = 5.0, runs = 5, iterations = 0, turn = 32
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { fatalError("\(flag) needs a value") }
    switch flag {
    case "--db": path = value
    case "--customers": customers = Int(value)!
    case "--seconds": seconds = Double(value)!
    case "--runs": runs = Int(value)!
    case "--iterations": iterations = Int(value)!
    case "--turn": turn = max(1, Int(value)!)
    default: fatalError("unknown option \(flag)")
    }
}

let now = ISO8601DateFormatter().date(from: "2026-11-24T12:00:00Z")!
func customerID(_ i: Int) -> String { "C" + String(repeating: "0", count: max(0, 7 - String(i).count)) + String(i) }

/// splitmix64: the same ids every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

// The real tombstone hash (HMAC-SHA256 through OpenSSL), as the server computes it, under the
// key the benchmark scripts give the server (HUSH_ERASURE_KEY), so that it reads the same tombstones.
let key = Array("benchmark-erasure-key-0123456789abcdef".utf8)
let hasher = try TombstoneHasher(key: key)
let writerHasher = try SharedTombstoneHasher(key: key)
func tombstoneHash(_ subject: Subject) -> [UInt8] { hasher.hash(subject) }

if !FileManager.default.fileExists(atPath: path) {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let started = Date()
    // A 256 MiB page cache for the writer: the records of 100,000 random customers a job land
    // all over the file (54 s for 1,000,000 customers with SQLite's default, 41 s with this).
    let store = try SQLiteStore(path: path, tombstoneHash: writerHasher.hash, renderHistory: Service.renderHistory, writerCacheKiB: 262_144)
    var rng = SplitMix(state: 42)
    let zones = ["America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Tokyo", "UTC"].map { TimeZone(identifier: $0)! }
    let regions = ["US-CA", "US-NY", "US-TX", "GB-LND", "DE-BE", "JP-13"]
    // Realistic proportions: every customer has a profile, 5 % a case (a third of them high or
    // critical, most closed), 20 % a suppression, about 1.5 marketing contacts and 0.5
    // interactions each in the last week, and 0.1 % are erased. In jobs of 100,000 customers,
    // each its own transaction: as one, 10,000,000 customers made a WAL the size of the database.
    /// Customers `range`, in one write job.
    func generate(_ w: any StoreTransaction, _ range: ClosedRange<Int>, _ rng: inout SplitMix) throws(StoreError) {
        for i in range {
            let id = customerID(i)
            let zone = zones[i % zones.count]
            try w.upsertProfile(Profile(customerID: id, region: regions[i % regions.count], timeZone: zone,
                                        email: "user\(i)@example.com", phone: "+1415\(1_000_000 + i)"), now: now)
            let roll = Int.random(in: 0..<1000, using: &rng)
            if roll < 50 {
                let severity: Severity = [.low, .medium, .medium, .high, .critical, .low][roll % 6]
                let closed = roll % 4 != 0
                _ = try w.upsertCase(ServiceCase(id: "K\(i)", customerID: id, severity: severity, status: closed ? .closed : .open,
                                                 openedAt: now.addingTimeInterval(-20 * 86_400), closedAt: closed ? now.addingTimeInterval(-Double(roll) * 3600) : nil,
                                                 resolution: closed ? (roll % 3 == 0 ? .positive : .neutral) : nil, updatedAt: now.addingTimeInterval(-86_400)))
            }
            if roll < 200 {
                let kind: SuppressionKind = [.optOut, .optOut, .doNotContact, .objection][roll % 4]
                let subject: Subject = roll % 5 == 0 ? .address(.email("user\(i)@example.com")) : .customer(id)
                _ = try w.addSuppression(Suppression(id: "", subject: subject, kind: kind, channels: roll % 2 == 0 ? ["email"] : nil,
                                                     confirmed: roll % 7 != 0), now: now)
            }
            for _ in 0..<(roll % 4) where roll % 2 == 0 || roll < 500 {
                let channel: Channel = ["email", "sms", "push"][Int.random(in: 0..<3, using: &rng)]
                try w.recordContact(customerID: id, Contact(channel: channel, purpose: .marketing,
                                                            at: now.addingTimeInterval(-Double.random(in: 0..<(7 * 86_400), using: &rng))), campaignID: "c\(roll % 20)")
            }
            if roll % 2 == 1 {
                try w.recordInteraction(customerID: id, Interaction(type: "complaint", score: roll % 10 == 1 ? -5 : 2,
                                                                    at: now.addingTimeInterval(-Double.random(in: 0..<(7 * 86_400), using: &rng))))
            }
        }
        for i in stride(from: 997, through: range.upperBound, by: 1000) where i >= range.lowerBound {
            _ = try w.erase(customerID: customerID(i), tombstoneHash: tombstoneHash)
        }
    }
    let chunk = 100_000
    for first in stride(from: 1, through: customers, by: chunk) {
        let range = first...min(customers, first + chunk - 1)
        nonisolated(unsafe) var chunkRNG = rng
        try store.writeAndWait(as: Actor(name: "bench", via: .cli)) { w throws(StoreError) in try generate(w, range, &chunkRNG) }
        rng = chunkRNG
        if range.upperBound % 1_000_000 == 0 { print(String(format: "  %d customers, %.0f s", range.upperBound, Date().timeIntervalSince(started))) }
    }
    try store.writeAndWait(as: Actor(name: "bench", via: .cli)) { w throws(StoreError) in
        _ = try w.createHold(Hold(id: "wildfire-ca", title: "California wildfire", reason: "no grilling promotions", regions: ["US-CA"],
                                  categories: ["grilling"], startsAt: now.addingTimeInterval(-86_400), endsAt: now.addingTimeInterval(7 * 86_400)), now: now, limit: 1000)
    }
    store.close()
    print(String(format: "generated %@ for %d customers in %.1f s", path, customers, Date().timeIntervalSince(started)))
}

let store = try SQLiteStore(path: path, tombstoneHash: writerHasher.hash, renderHistory: Service.renderHistory)
let reader = try store.makeSQLiteReader()
let holds = store.holds
let policy = Policy.standard
let lookback = policy.longestWindow
var rng = SplitMix(state: 7)
let ids = (0..<65_536).map { _ in customerID(Int.random(in: 1...customers, using: &rng)) }
let channels: [Channel] = ["email", "sms", "push"]

func measure(_ label: String, _ body: (Int) throws -> Int) rethrows -> [Double] {
    var rates: [Double] = []
    for _ in 0..<runs {
        var count = 0, suppressed = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        if iterations > 0 {
            for _ in 0..<iterations {
                suppressed += try body(count)
                count += 1
                if count % turn == 0 { reader.endSnapshot() }
            }
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        while iterations == 0 && elapsed < seconds {
            for _ in 0..<4096 {
                suppressed += try body(count)
                count += 1
                if count % turn == 0 { reader.endSnapshot() }
            }
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        reader.endSnapshot()
        rates.append(Double(count) / elapsed)
        print(String(format: "%@ run: %.0f per second (%.2f us each, %.1f %% suppressed)", label, Double(count) / elapsed,
                     elapsed * 1e6 / Double(count), 100 * Double(suppressed) / Double(count)))
    }
    return rates
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

// One pass over the customers before any run, so that the first run does not read their pages
// from disk where the file is larger than the page cache holds (50,000,000 customers: 40 GB),
// and every run measures what a server that has run a while does. Under --iterations it adds
// the same count to both runs, so the difference is unchanged.
for id in ids { _ = try reader.pointLookup(customerID: id) }
reader.endSnapshot()

let lookups = try measure("sqlite point lookup") { i in try reader.pointLookup(customerID: ids[i & 0xFFFF]) ? 0 : 1 }
let decisions = try measure("decision") { i in
    let id = ids[i & 0xFFFF]
    let channel = channels[i % 3]
    let facts = try reader.facts(customerID: id, address: nil, channel: channel, at: now, lookback: lookback,
                                 holds: holds, tombstoneHash: tombstoneHash)
    let request = DecisionRequest(customerID: id, channel: channel, categories: ["grilling"])
    return decide(request, facts: facts, policy: policy, now: now).allowed ? 0 : 1
}
print(String(format: "median of %d runs of %.0f s, %d lookups per snapshot: %.0f decisions/s, %.0f bare point lookups/s (ceiling); decisions are %.2f of the ceiling",
             runs, seconds, turn, median(decisions), median(lookups), median(decisions) / median(lookups)))
store.close()
