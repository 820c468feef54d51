// A day of the decision log (10,000,000 decisions by default) written through the file sink,
// its 24 hourly segments closed, then: bytes per decision on disk, and the time to fetch one
// decision by id and one customer's decisions, as GET /v1/decisions/{id} and
// /v1/customers/{id}/decision-log do.
//
// usage: swift run -c release --package-path Benchmarks decision-log-bench [decisions] [directory]
// The lines have the API's shape (DecisionRecords.swift): a UUIDv7 id, times, the policy
// version, a 128-bit customer hash out of 1,000,000 customers, the request, and for about one
// decision in three a reason with its ref.
import Foundation
import HushLog
import Synchronization

let total = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000_000 : 10_000_000
let directory = CommandLine.arguments.count > 2 ? CommandLine.arguments[2]
    : FileManager.default.temporaryDirectory.appendingPathComponent("hush-log-bench-\(UUID().uuidString)").path
let customers = 1_000_000
let dayStart: UInt64 = 1_796_000_400_000 - 1_796_000_400_000 % 86_400_000   // a UTC midnight in 2026

final class Clock: Sendable {
    let ms = Atomic<UInt64>(0)
}
let clock = Clock()
var options = DecisionLog.Options()
options.directory = directory
options.loops = 2
options.clock = { clock.ms.load(ordering: .relaxed) }
options.retentionDays = 3650
let log = try DecisionLog(options: options)

var generator = SystemRandomNumberGenerator()
let hashes: [String] = (0..<customers).map { _ in
    (0..<2).map { _ in let v = String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 16); return String(repeating: "0", count: 16 - v.count) + v }.joined()
}
func hex(_ v: UInt64, _ digits: Int) -> String { let s = String(v, radix: 16); return String(repeating: "0", count: max(0, digits - s.count)) + s }
/// The second's text, made once a second of the day.
var secondText: (UInt64, String) = (.max, "")
func iso(_ ms: UInt64, millis: Bool) -> String {
    if secondText.0 != ms / 1000 {
        var t = tm(); var s = time_t(ms / 1000); gmtime_r(&s, &t)
        secondText = (ms / 1000, String(format: "%04d-%02d-%02dT%02d:%02d:%02d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec))
    }
    guard millis else { return secondText.1 + "Z" }
    let m = Int(ms % 1000)
    return secondText.1 + "." + String(m / 100) + String(m / 10 % 10) + String(m % 10) + "Z"
}
let channels = ["email", "sms", "push", "voice"], reasons = [("opted_out", "suppression:s-"), ("open_case", "case:"), ("frequency_cap", "policy:frequency_cap:marketing:")]
let loopBase = [UInt64.random(in: 0...UInt64.max), UInt64.random(in: 0...UInt64.max)]

var samples: [(id: String, ms: UInt64, customer: String)] = []
let perHour = total / 24
let started = Date()
var written = 0
for hour in 0..<24 {
    let hourStart = dayStart + UInt64(hour) * 3_600_000
    clock.ms.store(hourStart, ordering: .relaxed)
    for i in 0..<perHour {
        let ms = hourStart + UInt64(i) * 3_600_000 / UInt64(perHour)
        let loop = i & 1
        let counter = UInt64(written)
        let low = 0x8000_0000_0000_0000 | ((loopBase[loop] &+ counter) & 0x3FFF_FFFF_FFFF_FFFF)
        let high = ms << 16 | 0x7000 | (loopBase[loop] >> 52)
        let h = hex(high, 16), l = hex(low, 16)
        let id = "\(h.prefix(8))-\(h.dropFirst(8).prefix(4))-\(h.suffix(4))-\(l.prefix(4))-\(l.suffix(12))"
        let c = Int(UInt64.random(in: 0..<UInt64(customers), using: &generator))
        let suppressed = i % 3 == 0
        let reason = reasons[i % reasons.count]
        let reasonText = suppressed ? #"[{"code":"\#(reason.0)","ref":"\#(reason.1)\#(c % 9973)","until":null}]"# : "[]"
        let line = #"{"decision_id":"\#(id)","made_at":"\#(iso(ms, millis: true))","at":"\#(iso(ms, millis: false))","policy_version":"202635fdb0c0","customer":"\#(hashes[c])","channel":"\#(channels[i % 4])","purpose":"marketing","categories":[],"region":null,"decision":"\#(suppressed ? "suppress" : "allow")","reasons":\#(reasonText),"retry_after":null,"reserved":null,"key":"crm-sync"}"#
        let customerHash = UInt64(hashes[c].prefix(16), radix: 16)!
        _ = Array(line.utf8).withUnsafeBytes { log.append(loop: loop, ms: ms, customer: customerHash, address: 0, line: $0) }
        if i % (perHour / 50 + 1) == 7 { samples.append((id, ms, hashes[c])) }
        written += 1
    }
    log.flush()
}
clock.ms.store(dayStart + 86_400_000, ordering: .relaxed)
_ = Array(#"{"decision_id":"x"}"#.utf8).withUnsafeBytes { log.append(loop: 0, ms: dayStart + 86_400_000, customer: 0, address: 0, line: $0) }
log.flush()
let writeSeconds = Date().timeIntervalSince(started)
log.waitForMaintenance(seconds: 3600)
let closeSeconds = Date().timeIntervalSince(started) - writeSeconds

var zstBytes = 0, idxBytes = 0, segments = 0
for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
    let size = (try FileManager.default.attributesOfItem(atPath: directory + "/" + file)[.size] as? Int) ?? 0
    if file.hasSuffix(".ndjson.zst") { zstBytes += size; segments += 1 } else if file.hasSuffix(".idx") { idxBytes += size }
}
print("decisions: \(written) in \(segments) closed segments; appended in \(String(format: "%.1f", writeSeconds)) s (\(Int(Double(written) / writeSeconds)) lines/s), closed in \(String(format: "%.1f", closeSeconds)) s more")
print(String(format: "on disk: %.1f bytes a decision compressed + %.1f of index = %.1f (goal 80)",
             Double(zstBytes) / Double(written), Double(idxBytes) / Double(written), Double(zstBytes + idxBytes) / Double(written)))

func percentile(_ values: [Double], _ p: Double) -> Double { let s = values.sorted(); return s[min(s.count - 1, Int(Double(s.count) * p))] }
var byID: [Double] = []
for sample in samples.shuffled().prefix(1000) {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let found = try log.line(id: sample.id, ms: sample.ms)
    byID.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    precondition(found != nil, "decision \(sample.id) not found")
}
print(String(format: "fetch by id (%d lookups): median %.3f ms, p99 %.3f ms (goal < 10 ms)", byID.count, percentile(byID, 0.5), percentile(byID, 0.99)))
var byCustomer: [Double] = []
for sample in samples.shuffled().prefix(100) {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let found = try log.lines(customer: sample.customer, fromMs: 0, toMs: .max, before: nil, limit: 101)
    byCustomer.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    precondition(!found.isEmpty, "no decisions of a customer who has some")
}
print(String(format: "a customer's decisions over the day (%d listings): median %.2f ms, p99 %.2f ms", byCustomer.count, percentile(byCustomer, 0.5), percentile(byCustomer, 0.99)))
log.close()
if CommandLine.arguments.count <= 2 { try? FileManager.default.removeItem(atPath: directory) }
