import Foundation
import HushTestSupport

/// Runs `hush hash-key` with `key` on standard input.
func hashKey(_ key: String) throws -> (status: Int32, out: String) {
    let result = try HushProcess.run(["hash-key"], input: key + "\n")
    return (result.status, result.out.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// Starts hush with API keys (name → key and scope, each hashed by `hush hash-key`), metrics
/// behind the read scope, and an erasure key; `extra` is more of the configuration's top-level
/// members, as JSON text.
func startKeyedHush(_ keys: [String: (key: String, scope: String)], extra: String = "") throws -> HushProcess {
    var entries: [String] = []
    for (name, entry) in keys.sorted(by: { $0.key < $1.key }) {
        let hashed = try hashKey(entry.key)
        guard hashed.status == 0, hashed.out.count == 64 else { throw KeyedHushError(message: "hush hash-key failed: \(hashed.out)") }
        entries.append(#"{"name": "\#(name)", "sha256": "\#(hashed.out)", "scopes": ["\#(entry.scope)"]}"#)
    }
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-keyed-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let config = directory.appendingPathComponent("hush.json")
    let members = [#""auth": {"keys": [\#(entries.joined(separator: ","))], "protect_metrics": true}"#,
                   #""erasure_key": "0123456789abcdef0123456789abcdef""#] + (extra.isEmpty ? [] : [extra])
    try Data("{\(members.joined(separator: ", "))}".utf8).write(to: config)
    return try HushProcess(["--config", config.path], directory: directory)
}

struct KeyedHushError: Error { let message: String }
