import ArgumentParser
import Foundation
import HushCore
import HushLog

/// `hush decision-log`: reads the decision log's files offline, changing nothing, also beside
/// a serving hush: one decision by id, a customer's decisions, or every line.
struct DecisionLogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decision-log",
        abstract: "Read the decision log's files (the file sink) without a running server.",
        discussion: """
            The directory is decision_log.directory, or <database>.decisions beside the database, \
            from the same configuration, HUSH_* variables and flags as serve. Looking up a customer \
            needs the erasure key the decisions were logged under (HUSH_ERASURE_KEY, erasure_key, or \
            the development key beside the database).
            """,
        subcommands: [Get.self, Customer.self, Cat.self])

    struct Location: ParsableArguments {
        /// `--config` and `--database` (beside which the log is kept), as for serve.
        @OptionGroup var store: StoreLocation

        @Option(help: ArgumentHelp("The log directory itself, instead of the one the configuration names.", valueName: "path"))
        var directory: String?

        func settings() -> Settings { store.settings() }

        /// The log, opened to read.
        func open() -> (DecisionLog, Settings) {
            let settings = settings()
            var options = DecisionLog.Options()
            options.directory = directory ?? settings.config.decisionLog.directory(database: settings.config.server.database)
            options.readOnly = true
            do { return (try DecisionLog(options: options), settings) } catch { fail(error.message) }
        }
    }

    /// `--from` / `--to` as milliseconds; whole range when absent.
    struct Range: ParsableArguments {
        @Option(help: ArgumentHelp("Only decisions made at or after this RFC 3339 time.", valueName: "time"))
        var from: String?

        @Option(help: ArgumentHelp("Only decisions made at or before this RFC 3339 time.", valueName: "time"))
        var to: String?

        var milliseconds: (UInt64, UInt64) {
            func parse(_ text: String?, _ name: String, _ otherwise: UInt64) -> UInt64 {
                guard let text else { return otherwise }
                guard let date = Timestamp.parse(text) else { fail("--\(name) must be an RFC 3339 time, not \(text)") }
                return API.milliseconds(date)
            }
            let range = (parse(from, "from", 0), parse(to, "to", .max - 999))
            if range.0 > range.1 { fail("--from must not be after --to") }
            return (range.0, range.1 == .max - 999 ? .max : range.1 + 999)
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one decision, as GET /v1/decisions/{id} answers it.")
        @OptionGroup var location: Location
        @Argument(help: "The decision_id an answer carried.") var decisionID: String

        func run() throws {
            guard let id = DecisionID(decisionID) else { fail("\(decisionID) is not a decision id (a UUIDv7)") }
            let (log, _) = location.open()
            let line: [UInt8]?
            do { line = try log.line(id: id.text, ms: id.milliseconds) } catch { fail(error.message) }
            guard let line else { fail("no decision \(id.text) in \(log.options.directory)") }
            var w = JSONWriter()
            API.writeLogged(&w, line)
            print(String(decoding: JSONPretty.format(w.bytes), as: UTF8.self))
        }
    }

    struct Customer: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a customer's decisions, newest first, one JSON line each.")
        @OptionGroup var location: Location
        @OptionGroup var range: Range
        @Option(help: "At most this many.") var limit = 1000
        @Argument(help: "The customer id.") var customerID: String

        func run() throws {
            let (log, settings) = location.open()
            let key: [UInt8]
            if let configured = settings.config.erasureKey {
                key = Array(configured.utf8)
            } else {
                let path = settings.config.server.database + ".erasure-key"
                guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                      let bytes = Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                    fail("no erasure key: set HUSH_ERASURE_KEY (or erasure_key), or keep the development key \(path)")
                }
                key = bytes
            }
            let hex: String
            do {
                let hasher = try TombstoneHasher(key: try API.decisionLogKey(erasureKey: key))
                hex = API.logHashHex(hasher.hash(.customer(customerID)))
            } catch { fail("the erasure key cannot be used: \(error.message)") }
            let (from, to) = range.milliseconds
            do {
                for line in try log.lines(customer: hex, fromMs: from, toMs: to, before: nil, limit: max(1, limit)) {
                    var w = JSONWriter()
                    API.writeLogged(&w, line)
                    print(String(decoding: w.bytes, as: UTF8.self))
                }
            } catch { fail(error.message) }
        }
    }

    struct Cat: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every retained line as it is kept (subjects as keyed hashes), oldest segment first.")
        @OptionGroup var location: Location
        @OptionGroup var range: Range

        func run() throws {
            let (log, _) = location.open()
            let (from, to) = range.milliseconds
            // Written in large pieces: a day of decisions is millions of lines.
            var pending: [UInt8] = []
            func drain() {
                FileHandle.standardOutput.write(Data(pending))
                pending.removeAll(keepingCapacity: true)
            }
            do {
                try log.forEachLine(fromMs: from, toMs: to) { line in
                    pending.append(contentsOf: line)
                    pending.append(0x0A)
                    if pending.count > 1 << 20 { drain() }
                }
            } catch { fail(error.message) }
            drain()
        }
    }
}
