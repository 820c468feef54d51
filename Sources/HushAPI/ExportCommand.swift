import ArgumentParser
import Foundation
import HushCore
import HushStore
#if canImport(Glibc)
import Glibc
#endif

/// `hush export suppressions|cases|holds`: every row, from one snapshot, streamed to standard
/// output in the import's format (CSV with its header, or NDJSON), so that an export imports
/// back unchanged.
struct Export: ParsableCommand {
    enum Kind: String, ExpressibleByArgument, CaseIterable { case suppressions, cases, holds }
    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, ndjson }

    static let configuration = CommandConfiguration(
        abstract: "Write every suppression, case or hold to standard output, from one consistent snapshot, in the import's format.",
        discussion: """
            Suppressions and cases come in the columns POST /v1/import/… takes (CSV: lists joined by \
            semicolons; times in RFC 3339, to the millisecond where they have one), so an export \
            imports back unchanged. Holds, which have no import, come in the fields POST /v1/holds \
            takes. Suppressions are in the order of who and what they suppress (their ids are not             exported), cases and holds in id order; a serving hush goes on writing meanwhile.
            """)

    @Argument(help: ArgumentHelp("What to export: suppressions, cases or holds.", valueName: "kind"))
    var kind: Kind

    @Option(help: ArgumentHelp("csv (the default) or ndjson.", valueName: "format"))
    var format: Format = .csv

    @OptionGroup var location: StoreLocation

    func run() throws {
        let path = location.settings().config.server.database
        let snapshot: DatabaseSnapshot
        do { snapshot = try DatabaseSnapshot(path: path) } catch { fail(error.message) }
        var out = ExportWriter(format: format)
        do {
            switch kind {
            case .suppressions:
                out.header(ImportSink.suppressionColumns)
                try snapshot.suppressions { out.row(Self.fields(of: $0)) }
            case .cases:
                out.header(ImportSink.caseColumns)
                try snapshot.cases { out.row(Self.fields(of: $0)) }
            case .holds:
                out.header(Self.holdColumns)
                try snapshot.holds { out.row(Self.fields(of: $0)) }
            }
        } catch {
            fail(error.message)
        }
        out.flush()
    }

    static let holdColumns = ["id", "title", "reason", "regions", "channels", "purposes", "categories", "starts_at", "ends_at"]

    /// A field's value: absent (null in NDJSON, an empty cell in CSV), text, a list or a boolean.
    enum Field {
        case null, text(String), list([String]), bool(Bool)
        static func time(_ date: Date?) -> Field { date.map { .text(exportTime($0)) } ?? .null }
        static func text(_ value: String?) -> Field { value.map { .text($0) } ?? .null }
        static func list<S: Sequence>(_ values: S?) -> Field where S.Element == String { values.map { .list($0.sorted()) } ?? .null }
    }

    /// RFC 3339 in UTC, with the milliseconds the store keeps when there are any, so that a
    /// time read back is the time written.
    static func exportTime(_ date: Date) -> String {
        let whole = Timestamp.format(date)
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded()) % 1000
        guard milliseconds != 0 else { return whole }
        let digits = String(milliseconds)
        return String(whole.dropLast()) + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    static func fields(of s: Suppression) -> [Field] {
        var customer: String?, address: String?
        switch s.subject {
        case .customer(let id): customer = id
        case .address(let value): address = value.value
        }
        return [.text(customer), .text(address), .text(s.kind.rawValue), .list(s.channels?.map(\.rawValue)), .list(s.purposes?.map(\.rawValue)),
                .text(s.source), .bool(s.confirmed), .time(s.expiresAt)]
    }

    static func fields(of c: ServiceCase) -> [Field] {
        [.text(c.id), .text(c.customerID), .text(c.severity.rawValue), .text(c.status.rawValue), .time(c.openedAt), .time(c.closedAt),
         .text(c.resolution?.rawValue), .time(c.updatedAt)]
    }

    static func fields(of h: Hold) -> [Field] {
        [.text(h.id), .text(h.title), .text(h.reason), .list(h.regions), .list(h.channels?.map(\.rawValue)), .list(h.purposes?.map(\.rawValue)),
         .list(h.categories), .time(h.startsAt), .time(h.endsAt)]
    }
}

/// Rows to standard output, 64 KiB at a time.
struct ExportWriter: ~Copyable {
    let format: Export.Format
    private var columns: [String] = []
    private var buffer: [UInt8] = []

    init(format: Export.Format) { self.format = format }

    mutating func header(_ names: [String]) {
        columns = names
        if format == .csv { line(names.map(Self.csvCell).joined(separator: ",")) }
    }

    mutating func row(_ fields: [Export.Field]) {
        switch format {
        case .csv:
            line(fields.map { field in
                switch field {
                case .null: ""
                case .text(let text): Self.csvCell(text)
                case .list(let items): Self.csvCell(items.joined(separator: ";"))
                case .bool(let value): value ? "true" : "false"
                }
            }.joined(separator: ","))
        case .ndjson:
            var w = JSONWriter(capacity: 256)
            w.objectStart()
            for (name, field) in zip(columns, fields) {
                w.key(dynamic: name)
                switch field {
                case .null: w.null()
                case .text(let text): w.string(text)
                case .list(let items): w.strings(items)
                case .bool(let value): w.bool(value)
                }
            }
            w.objectEnd()
            buffer += w.bytes
            buffer.append(0x0A)
            if buffer.count >= 1 << 16 { flush() }
        }
    }

    /// RFC 4180: quoted when it holds a comma, a quote or a line break, quotes doubled.
    static func csvCell(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private mutating func line(_ text: String) {
        buffer += Array(text.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { fail("cannot write to standard output: \(String(cString: strerror(errno)))") }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
