import Foundation
import Testing
@testable import HushAPI
import HushCore
import HushStore

private let shippedConfig = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Config/hush.json")

@Test func builtInDefault_EqualsTheShippedFile() throws {
    let shipped = try Config.parse(try Data(contentsOf: shippedConfig))
    #expect(shipped == Config.default)
}

@Test(arguments: [
    (#"{"servr": {}}"#, "unknown configuration key servr"),
    (#"{"server": {"prot": 1}}"#, "unknown configuration key server.prot"),
    (#"{"server": {"tls": {"certificate": "a", "private_key": "b", "x": 1}}}"#, "unknown configuration key server.tls.x"),
    (#"{"server": {"port": "8080"}}"#, "server.port must be an integer"),
    (#"{"server": {"port": 1.5}}"#, "server.port must be an integer"),
    (#"{"server": {"port": true}}"#, "server.port must be an integer"),
    (#"{"server": {"port": 70000}}"#, "server.port must be between 0 and 65535"),
    (#"{"server": {"tls": {"certificate": "a"}}}"#, "server.tls.private_key is required"),
    (#"{"limits": {"max_header_count": 0}}"#, "limits.max_header_count must be between 1 and 10000"),
    (#"{"limits": {"idle_timeout_ms": -1}}"#, "limits.idle_timeout_ms must be between 1 and 86400000"),
    (#"{"server": {"drain_grace_ms": -1}}"#, "server.drain_grace_ms must be between 0 and 600000"),
    (#"{"log": {"level": "verbose"}}"#, "log.level must be one of: error, warn, info, debug"),
    (#"{"log": {"access": "some"}}"#, "log.access must be all, errors, off, or a sampling rate"),
    (#"{"log": {"access": 1.5}}"#, "log.access must be all, errors, off, or a sampling rate"),
    (#"{"log": {"access": true}}"#, "log.access must be all, errors, off, or a sampling rate"),
    (#"{"log": {"acces": "all"}}"#, "unknown configuration key log.acces"),
    (#"{"retention": {"interval_minutes": -1}}"#, "retention.interval_minutes must be between 0 (off) and 1440"),
    (#"{"retention": {"interval_minutes": 1441}}"#, "retention.interval_minutes must be between 0 (off) and 1440"),
    (#"{"server": "#, "the configuration is not valid JSON"),
    (#"[]"#, "the configuration"),
])
func badConfig_IsRefusedNamingTheKey(json: String, message: String) {
    #expect { try Config.parse(Data(json.utf8)) } throws: { error in
        (error as? ConfigError)?.message.contains(message) == true
    }
}

@Test func logSettings_AreRead() throws {
    let sampled = try Config.parse(Data(#"{"log": {"level": "debug", "access": 0.25}, "server": {"drain_grace_ms": 0}}"#.utf8))
    #expect(sampled.log.level == .debug && sampled.log.access == .sampled(0.25))
    #expect(sampled.server.drainGraceMilliseconds == 0)
    #expect(try Config.parse(Data(#"{"log": {"access": "errors"}}"#.utf8)).log.access == .errors)
    #expect(try Config.parse(Data(#"{"log": {"access": "off"}}"#.utf8)).log == Config.LogSettings(level: .info, access: .off))
    #expect(Config.default.log.access == .sampled(0.01) && Config.default.server.drainGraceMilliseconds == 5000)
}

@Test func retention_PrunesEveryTenMinutesByDefault_EveryIntervalGiven_OrNotAtAll() throws {
    #expect(Config.default.retention.policy == RetentionPolicy(expiredDays: 90, interval: 600))
    let hourly = try Config.parse(Data(#"{"retention": {"interval_minutes": 60, "expired_days": 7}}"#.utf8))
    #expect(hourly.retention.policy == RetentionPolicy(expiredDays: 7, interval: 3600))
    #expect(try Config.parse(Data(#"{"retention": {"interval_minutes": 0}}"#.utf8)).retention.policy == nil)
}

@Test func partialConfig_KeepsDefaultsForTheRest() throws {
    let config = try Config.parse(Data(#"{"server": {"port": 9000}, "limits": {"max_body_bytes": 10, "body_timeout_ms": 1500, "max_holds": 7}}"#.utf8))
    #expect(config.server.port == 9000)
    #expect(config.server.host == "127.0.0.1")
    #expect(config.limits.http.maxBodyBytes == 10)
    #expect(config.limits.http.bodyTimeout == .milliseconds(1500))
    #expect(config.limits.http.headerTimeout == .seconds(10))
    #expect(config.limits.api.maxHolds == 7)
    #expect(config.limits.api.maxBatchRequests == 10_000)
}

/// Every configurable limit reads back what was set, and its default is the struct's own.
@Test func everyLimitKey_SetsItsField() throws {
    for key in Limits.keys {
        let value = key.get(Limits()) + 1
        let config = try Config.parse(Data(#"{"limits": {"\#(key.name)": \#(value)}}"#.utf8))
        #expect(key.get(config.limits) == value, "\(key.name)")
        var expected = Limits()
        key.set(&expected, value)
        #expect(config.limits == expected, "\(key.name) set only its own field")
        #expect(key.range.contains(key.get(Limits())), "\(key.name)'s default is in its range")
    }
    #expect { try Config.parse(Data(#"{"limits": {"default_page_size": 50, "max_page_size": 20}}"#.utf8)) } throws: {
        ($0 as? ConfigError)?.message == "limits.default_page_size must be at most limits.max_page_size"
    }
}

@Test func settings_FileThenEnvironmentThenFlags() throws {
    let file = Data(#"{"server": {"port": 1000, "host": "10.0.0.1", "database": "file.db", "threads": 3}}"#.utf8)
    let read: (String) throws -> Data = { _ in file }
    var flags = CommandLineOptions()
    flags.configPath = "x.json"
    let fromFile = try Settings.resolve(flags, environment: [:], readFile: read)
    #expect(fromFile.config.server.port == 1000 && fromFile.config.server.threads == 3)
    #expect(fromFile.configSource == "x.json")

    let env = ["HUSH_PORT": "2000", "HUSH_HOST": "127.0.0.2", "HUSH_DATABASE": "env.db", "HUSH_THREADS": "2"]
    let fromEnv = try Settings.resolve(flags, environment: env, readFile: read)
    #expect(fromEnv.config.server.port == 2000)
    #expect(fromEnv.config.server.host == "127.0.0.2")
    #expect(fromEnv.config.server.database == "env.db")
    #expect(fromEnv.config.server.threads == 2)

    flags.port = 3000
    flags.database = "flag.db"
    let fromFlags = try Settings.resolve(flags, environment: env, readFile: read)
    #expect(fromFlags.config.server.port == 3000)
    #expect(fromFlags.config.server.database == "flag.db")
    #expect(fromFlags.config.server.host == "127.0.0.2")
}

@Test func settings_WithoutAFile_UseTheBuiltInDefault_UnlessAPathWasGiven() throws {
    let none = try Settings.resolve(CommandLineOptions(), environment: [:], fileExists: { _ in false })
    #expect(none.config == Config.default && none.configSource == nil)
    let empty = try Settings.resolve(CommandLineOptions(), environment: ["HUSH_CONFIG": ""], fileExists: { _ in false })
    #expect(empty.configSource == nil, "an empty HUSH_CONFIG is unset")
    #expect(throws: ConfigError.self) {
        try Settings.resolve(CommandLineOptions(), environment: ["HUSH_CONFIG": "/missing.json"], fileExists: { _ in false },
                             readFile: { _ in throw CocoaError(.fileNoSuchFile) })
    }
}

@Test func settings_BadEnvironmentValues_NameTheVariable() {
    #expect { try Settings.resolve(CommandLineOptions(), environment: ["HUSH_PORT": "x"], fileExists: { _ in false }) } throws: {
        ($0 as? ConfigError)?.message == #"HUSH_PORT must be an integer, not "x""#
    }
    #expect { try Settings.resolve(CommandLineOptions(), environment: ["HUSH_TLS_KEY": "k"], fileExists: { _ in false }) } throws: {
        ($0 as? ConfigError)?.message.contains("--tls-key needs --tls-cert") == true
    }
}

@Test func commandLine_ParsesFlagsAndCommands() throws {
    let serve = try #require(try HushCommand.parseAsRoot(["serve", "--port", "0", "--host=::1", "--threads", "4", "--tls-cert", "c", "--tls-key", "k"]) as? Serve)
    let options = serve.options
    #expect(options.port == 0 && options.host == "::1" && options.threads == 4)
    #expect(options.tlsCertificate == "c" && options.tlsKey == "k")
    // serve is the default: the same flags without it.
    #expect((try HushCommand.parseAsRoot(["--port", "0", "--database", "x.db"]) as? Serve)?.options.database == "x.db")
    #expect(try HushCommand.parseAsRoot([]) is Serve)
    #expect(try HushCommand.parseAsRoot(["hash-key"]) is HashKey)
    #expect(throws: (any Error).self) { try HushCommand.parseAsRoot(["--port"]) }
    #expect(throws: (any Error).self) { try HushCommand.parseAsRoot(["--threads", "x"]) }
    #expect(throws: (any Error).self) { try HushCommand.parseAsRoot(["frob"]) }
}

@Test func shippedPolicy_IsTheStandardPolicy() throws {
    let shipped = try Config.parse(try Data(contentsOf: shippedConfig))
    #expect(shipped.policy == Policy.standard)
}

@Test(arguments: [
    (#"{"policy": {"quiet_hourz": {}}}"#, "unknown configuration key policy.quiet_hourz"),
    (#"{"policy": {"quiet_hours": {"sms": {"start": "25:00", "end": "08:00"}}}}"#, "policy.quiet_hours.sms.start must be a time of day"),
    (#"{"policy": {"quiet_hours": {"fax": {"start": "21:00", "end": "08:00"}}}}"#, "policy.quiet_hours.fax is not a configured channel"),
    (#"{"policy": {"quiet_hours": {"sms": {"start": "21:00"}}}}"#, "policy.quiet_hours.sms.end is required"),
    (#"{"policy": {"case_severity_threshold": "severe"}}"#, "policy.case_severity_threshold must be low, medium, high or critical"),
    (#"{"policy": {"default_timezone": "Mars/Olympus"}}"#, "policy.default_timezone is not an IANA time zone"),
    (#"{"policy": {"rules": {"open_cases": ["marketing"]}}}"#, "policy.rules.open_cases is not a rule"),
    (#"{"policy": {"rules": {"open_case": ["sales"]}}}"#, "policy.rules.open_case names unknown purpose"),
    (#"{"policy": {"frequency_caps": [{"purpose": "marketing", "channel": "fax", "max": 1, "window_days": 1}]}}"#, "policy.frequency_caps[0].channel names unknown channel"),
    (#"{"policy": {"frequency_caps": [{"purpose": "marketing", "channel": "*", "max": 1, "window_days": 1, "x": 2}]}}"#, "unknown configuration key policy.frequency_caps"),
    (#"{"policy": {"willingness": {"threshold": "low"}}}"#, "must be an integer"),
    (#"{"policy": {"channels": ["email", "email"]}}"#, "policy.channels lists a channel twice"),
])
func badPolicy_IsRefusedNamingTheKey(json: String, message: String) {
    #expect { try Config.parse(Data(json.utf8)) } throws: { error in
        (error as? ConfigError)?.message.contains(message) == true
    }
}

@Test func policyKeys_Override() throws {
    let config = try Config.parse(Data(#"{"policy": {"case_cooloff_hours": 24, "willingness": {"threshold": -10}, "broad_unconfirmed_opt_out": false}}"#.utf8))
    #expect(config.policy.caseCoolOff == 24 * 3600)
    #expect(config.policy.willingnessThreshold == -10)
    #expect(!config.policy.broadUnconfirmedOptOut)
    #expect(config.policy.channels == Policy.standard.channels)
}

/// The README's configuration table lists every limit, each with the default `Limits` has.
@Test func theReadmesLimits_AreTheLimitsAndTheirDefaults() throws {
    let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")
    let text = try String(contentsOf: readme, encoding: .utf8)
    var listed: [String: Int] = [:]
    for line in text.split(separator: "\n") where line.hasPrefix("| `limits.") {
        let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`")) }
        listed[String(cells[0].dropFirst("limits.".count))] = Int(cells[1])
    }
    let defaults = Dictionary(uniqueKeysWithValues: Limits.keys.map { ($0.name, $0.get(Limits())) })
    #expect(listed == defaults)
}

/// A node's default replication slot keeps ASCII letters, lower-cased, and digits of the host's
/// name, writes `_` for every other byte (a slot name takes only `a-z`, `0-9` and `_`), and
/// stops at PostgreSQL's 63 bytes.
@Test func defaultSlot_TakesOnlyWhatASlotNameMayHold() {
    #expect(Service.defaultSlot(host: Array("Node-1.Example".utf8), port: 8080) == "hush_node_1_example_8080")
    #expect(Service.defaultSlot(host: Array("n\u{00F6}de\u{0663}".utf8), port: 8080) == "hush_n__de___8080",
            "a letter and a digit outside ASCII are bytes a slot name cannot hold")
    let long = Service.defaultSlot(host: Array(repeating: UInt8(ascii: "a"), count: 255), port: 8080)
    #expect(long.utf8.count == 63)
    #expect(long.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) })
}
