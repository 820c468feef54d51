import Foundation
import HushCore
import HushHTTP
import HushStore

/// Splits a streamed body into records: lines for NDJSON, and for CSV lines outside quoted
/// fields (a quoted field may hold a line break, RFC 4180). LF and CRLF both end a record.
/// Each record carries the number of the line it starts on; one longer than `maxRecordBytes`
/// is reported as overlong and skipped, without being held.
struct RecordSplitter {
    enum Format { case csv, ndjson }
    enum Record {
        case record(line: Int, bytes: [UInt8])
        case overlong(line: Int)
    }

    let format: Format
    let maxRecordBytes: Int
    private var current: [UInt8] = []
    private var inQuotes = false
    private var overlong = false
    /// The line the current record starts on, and the line being read.
    private var startLine = 1, line = 1

    init(format: Format, maxRecordBytes: Int) {
        self.format = format
        self.maxRecordBytes = maxRecordBytes
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Record) -> Void) {
        for b in bytes {
            if b == 0x0A {
                line += 1
                if !(format == .csv && inQuotes) {
                    end(emit)
                    continue
                }
            }
            if format == .csv, b == UInt8(ascii: "\"") { inQuotes.toggle() }
            if overlong { continue }
            if current.count >= maxRecordBytes {
                overlong = true
                current.removeAll()
                continue
            }
            current.append(b)
        }
    }

    /// The last record, when the body does not end with a line break.
    mutating func finish(_ emit: (Record) -> Void) {
        if !current.isEmpty || overlong { end(emit) }
    }

    private mutating func end(_ emit: (Record) -> Void) {
        if overlong {
            emit(.overlong(line: startLine))
        } else {
            if current.last == 0x0D { current.removeLast() }
            emit(.record(line: startLine, bytes: current))
        }
        current.removeAll(keepingCapacity: true)
        overlong = false
        inQuotes = false
        startLine = line
    }
}

enum CSV {
    /// The fields of one record (RFC 4180): quoted fields may hold commas, line breaks and `""`.
    /// An unquoted field, most of them, becomes its String straight from the record's bytes.
    static func fields(_ record: [UInt8]) throws(ValidationError) -> [String] {
        var fields: [String] = []
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
        func text(_ bytes: some Collection<UInt8>) throws(ValidationError) -> String {
            guard let value = String(validating: bytes, as: UTF8.self) else {
                throw ValidationError(field: "", message: "the line holds bytes that are not UTF-8")
            }
            return value
        }
        try record.withUnsafeBufferPointer { (bytes: UnsafeBufferPointer<UInt8>) throws(ValidationError) in
            let n = bytes.count
            var i = 0
            while true {
                if i < n, bytes[i] == quote {
                    var field: [UInt8] = []
                    var closed = false
                    i += 1
                    while i < n {
                        if bytes[i] == quote {
                            if i + 1 < n, bytes[i + 1] == quote {
                                field.append(quote)
                                i += 2
                                continue
                            }
                            closed = true
                            i += 1
                            break
                        }
                        field.append(bytes[i])
                        i += 1
                    }
                    guard closed else { throw ValidationError(field: "", message: "a quoted field is not closed") }
                    guard i == n || bytes[i] == comma else { throw ValidationError(field: "", message: "text after a closing quote") }
                    fields.append(try text(field))
                } else {
                    let start = i
                    while i < n, bytes[i] != comma {
                        guard bytes[i] != quote else {
                            throw ValidationError(field: "", message: "a quote inside an unquoted field (quote the whole field and double the quote)")
                        }
                        i += 1
                    }
                    fields.append(try text(UnsafeBufferPointer(rebasing: bytes[start..<i])))
                }
                guard i < n else { break }
                i += 1   // the comma; after a last one, an empty field
            }
        }
        return fields
    }
}

/// One bulk import (`POST /v1/import/suppressions|cases|customers`): validates every record as it
/// streams in, stages the valid rows on disk beside the database (up to `limits.maxImportRows`;
/// `ImportStage`), keeps the first 100 bad lines, and at the end writes all rows in one
/// transaction, in key order, or nothing.
final class ImportSink: BodySink {
    /// What an import holds; its name is the endpoint's last segment and `hush import`'s argument.
    enum Kind: String, CaseIterable { case suppressions, cases, customers }
    static let maxReportedLines = 100

    struct BadLine: Sendable {
        let line: Int
        let field: String?
        let message: String
    }

    private let api: API
    private let kind: Kind
    private let dryRun: Bool
    /// Who imports: the history records every row's change as theirs, by import.
    private let actor: Actor
    private let format: RecordSplitter.Format
    /// Feeding it calls back into `handle`, which must not touch it (exclusive access).
    private var splitter: RecordSplitter
    private var header: [String]?
    /// The stage of this import's kind, made at its first valid row.
    private var suppressions: ImportStage<Suppression>?
    private var cases: ImportStage<ServiceCase>?
    private var profiles: ImportStage<Profile>?
    /// Why rows could not be staged (the disk is full, the directory cannot be written): the
    /// import then writes nothing and answers 503 naming it.
    private var stageError: StoreError?
    /// Valid rows so far (staged while no line was bad).
    private var validRows = 0
    private var bad: [BadLine] = []
    private var badCount = 0
    private var tooMany = false
    private let now = Date()

    /// This import as `GET /v1/import/jobs/{id}` shows it.
    let job: ImportJob
    /// `Prefer: respond-async`: once every row is valid, answer 202 with the job and write after.
    private let respondAsync: Bool

    init(api: API, kind: Kind, format: RecordSplitter.Format, dryRun: Bool, actor: Actor, respondAsync: Bool = false) {
        self.api = api
        self.actor = actor
        self.kind = kind
        self.dryRun = dryRun
        self.format = format
        self.respondAsync = respondAsync
        splitter = RecordSplitter(format: format, maxRecordBytes: api.limits.maxImportLineBytes)
        job = ImportJob(kind: kind, dryRun: dryRun, actor: actor.name, now: now)
        api.importJobs.add(job)
    }

    deinit {
        // Released while still receiving: the client hung up mid-body.
        job.abandon("the upload ended before its body was complete; nothing was written")
    }

    static let listFields: Set<String> = ["channels", "purposes"]
    static let booleanFields: Set<String> = ["confirmed"]

    static let suppressionColumns = ["customer_id", "address", "kind", "channels", "purposes", "source", "confirmed", "expires_at"]
    static let caseColumns = ["case_id", "customer_id", "severity", "status", "opened_at", "closed_at", "resolution", "updated_at"]
    /// The fields of `PUT /v1/customers/{id}`, with the id as a column.
    static let customerColumns = ["customer_id", "region", "timezone", "email", "phone"]
    var columns: [String] {
        switch kind {
        case .suppressions: Self.suppressionColumns
        case .cases: Self.caseColumns
        case .customers: Self.customerColumns
        }
    }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        splitter.feed(bytes) { handle($0) }
        reportProgress()
    }

    /// Bad lines already handed to the job.
    private var reportedBad = 0

    private func reportProgress() {
        let rowsRead = self.rowsRead, validRows = self.validRows, badCount = self.badCount
        let newLines = badCount > reportedBad && reportedBad < Self.maxReportedLines ? Array(bad[min(reportedBad, bad.count)...]) : []
        reportedBad = badCount
        job.update { p in
            p.rowsRead = rowsRead
            p.rowsValid = validRows
            p.badLines = badCount
            p.lines += newLines
        }
    }

    private func reject(_ line: Int, _ error: ValidationError) {
        badCount += 1
        // The import will be refused: what was staged goes now, and nothing more is staged.
        if badCount == 1 { dropStages() }
        if bad.count < Self.maxReportedLines {
            bad.append(BadLine(line: line, field: error.field.isEmpty ? nil : error.field, message: error.message))
        }
    }

    private func handle(_ record: RecordSplitter.Record) {
        rowsRead += 1
        switch record {
        case .overlong(let line):
            reject(line, ValidationError(field: "", message: "the line is longer than 64 KiB"))
        case .record(let line, let bytes):
            // Blank lines (a trailing one, say) carry nothing.
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
            do throws(ValidationError) {
                try row(line: line, bytes)
            } catch {
                reject(line, error)
            }
        }
    }

    private func row(line: Int, _ bytes: [UInt8]) throws(ValidationError) {
        let value: JSONValue
        switch format {
        case .ndjson:
            do { value = try JSONParser.parse(bytes) } catch {
                throw ValidationError(field: "", message: "not a JSON object: \(error.description)")
            }
        case .csv:
            let cells = try CSV.fields(bytes)
            guard let header else {
                var seen: Set<String> = []
                for name in cells {
                    guard columns.contains(name) else {
                        throw ValidationError(field: name, message: "is not a column of this import; columns: \(columns.joined(separator: ", "))")
                    }
                    guard seen.insert(name).inserted else { throw ValidationError(field: name, message: "is a column twice") }
                }
                self.header = cells
                return
            }
            guard cells.count == header.count else {
                throw ValidationError(field: "", message: "has \(cells.count) fields; the header has \(header.count)")
            }
            var members: [(key: String, value: JSONValue)] = []
            for (name, cell) in zip(header, cells) where !cell.isEmpty {
                if Self.listFields.contains(name) {
                    members.append((name, .array(cell.split(separator: ";", omittingEmptySubsequences: false).map { .string(String($0)) })))
                } else if Self.booleanFields.contains(name) {
                    guard cell == "true" || cell == "false" else { throw ValidationError(field: name, message: "must be true or false") }
                    members.append((name, .bool(cell == "true")))
                } else {
                    members.append((name, .string(cell)))
                }
            }
            value = .object(members)
        }
        var reader = try FieldReader(value, what: "each line")
        switch kind {
        case .suppressions:
            let suppression = try api.suppression(&reader)
            stage(suppression, in: &suppressions)
        case .cases:
            let id = try Validate.identifier(try reader.requiredString("case_id"), field: "case_id")
            stage(try api.serviceCase(&reader, id: id, now: now), in: &cases)
        case .customers:
            let id = try Validate.identifier(try reader.requiredString("customer_id"), field: "customer_id")
            stage(try api.profile(&reader, customerID: id), in: &profiles)
        }
    }

    /// Counts a valid row and stages it, unless the import is already refused (a bad line, too
    /// many rows, or the stage failed): then it is only counted.
    private func stage<Row: StagedRow>(_ row: Row, in stage: inout ImportStage<Row>?) {
        guard stageError == nil, !tooMany else { return }
        guard validRows < api.limits.maxImportRows else {
            tooMany = true
            dropStages()
            return
        }
        validRows += 1
        guard badCount == 0 else { return }
        do throws(StoreError) {
            if stage == nil { stage = try ImportStage(beside: api.databasePath) }
            try stage!.append(row)
        } catch {
            stageError = StoreError(kind: .unavailable, message: "cannot stage the import's rows beside \(api.databasePath): \(error.message)")
            dropStages()
        }
    }

    /// Removes what was staged (the import will write nothing).
    private func dropStages() {
        suppressions?.remove()
        cases?.remove()
        profiles?.remove()
        suppressions = nil
        cases = nil
        profiles = nil
    }

    /// Rows read so far, good and bad (for `hush import`'s progress).
    private(set) var rowsRead = 0

    /// Why nothing will be written: too many rows, or bad lines (the first of them); nil when
    /// every row is good. Reads the body's last record first.
    func refusal() -> (message: String, lines: [BadLine])? {
        splitter.finish { handle($0) }
        reportProgress()
        let refusal: (message: String, lines: [BadLine])? =
            if let stageError { (stageError.message, []) }
            else if tooMany { ("an import holds at most \(api.limits.maxImportRows) rows; split the file", []) }
            else if badCount > 0 { ("\(badCount) line\(badCount == 1 ? " is" : "s are") invalid; nothing was imported", bad) }
            else { nil }
        if let refusal { job.finish(error: refusal.message) }
        return refusal
    }

    /// The write of every row, in one job: all or nothing; with `dryRun`, counted and rolled
    /// back. Hands the staged rows over (call once, after `refusal()`). The job may run more than
    /// once (a store retries one that failed before its commit), so it reads the stage and leaves
    /// it: `release` removes the file once the write is over, committed or failed.
    func writeJob() throws(StoreError) -> (write: @Sendable (any StoreTransaction) throws(StoreError) -> (imported: Int, unchanged: Int),
                                           release: @Sendable () -> Void) {
        let dryRun = self.dryRun, now = self.now
        let suppressions = self.suppressions, cases = self.cases, profiles = self.profiles
        self.suppressions = nil
        self.cases = nil
        self.profiles = nil
        do throws(StoreError) {
            try suppressions?.close()
            try cases?.close()
            try profiles?.close()
        } catch {
            job.finish(error: error.message)
            throw error
        }
        let job = self.job
        job.update { $0.state = .writing; $0.writingSince = Date() }
        let written: @Sendable (Int) -> Void = { n in job.update { $0.rowsWritten = n } }
        let release: @Sendable () -> Void = {
            suppressions?.remove()
            cases?.remove()
            profiles?.remove()
        }
        return ({ w throws(StoreError) -> (imported: Int, unchanged: Int) in
            // SQLite's page cache stays at its default during an import: with the rows and the
            // records written in key order, 256 MiB gained nothing on 1,000,000 rows (26.0 s
            // against 23.4 s) and took 2.7 times the memory.
            var counts = (imported: 0, unchanged: 0)
            if let suppressions { counts = try w.importSuppressions(ImportRows.stage(suppressions).counting(written), now: now) }
            if let cases { counts = try w.importCases(ImportRows.stage(cases).counting(written)) }
            if let profiles { counts = try w.importProfiles(ImportRows.stage(profiles).counting(written), now: now) }
            if dryRun { w.discardChanges() }
            return counts
        }, release)
    }

    func finish(_ request: Request, _ responder: Responder) {
        let api = self.api
        if let (message, lines) = refusal() {
            if let stageError { return responder.send(api.error(request, .store(stageError))) }
            if lines.isEmpty { return responder.send(api.error(request, .invalid(ValidationError(field: "", message: message)))) }
            return responder.send(badLinesResponse(request))
        }
        let dryRun = self.dryRun, job = self.job
        let write: @Sendable (any StoreTransaction) throws(StoreError) -> (imported: Int, unchanged: Int), release: @Sendable () -> Void
        do { (write, release) = try writeJob() } catch { return responder.send(api.error(request, .store(error))) }
        if respondAsync {
            api.store.write(as: actor, write) { result in
                release()
                switch result {
                case .success(let counts): job.finish(imported: counts.imported, unchanged: counts.unchanged)
                case .failure(let error): job.finish(error: error.message)
                }
            }
            let location = "/v1/import/jobs/\(job.id)"
            var answer = api.json(request, .accepted) { job.write(&$0) }
            answer.headers += [("Location", location), ("Preference-Applied", "respond-async")]
            return responder.send(answer)
        }
        // The stage's file goes before the answer (both hooks run before it is made).
        PreparedWrite(write, committed: { counts in release(); job.finish(imported: counts.imported, unchanged: counts.unchanged) },
                      failed: { error in release(); job.finish(error: error.message) }) { counts in
            api.json(request) { w in
                w.objectStart()
                if dryRun {
                    // Nothing was written: the count of what would be is named for it.
                    w.key("dry_run"); w.bool(true)
                    w.key("imported"); w.integer(0)
                    w.key("would_import"); w.integer(counts.imported)
                } else {
                    w.key("imported"); w.integer(counts.imported)
                }
                w.key("unchanged"); w.integer(counts.unchanged)
                w.objectEnd()
            }
        }.submit(api, request, actor, responder)
    }

    /// 400 naming the first bad lines (`{"line", "field", "message"}`, numbered as in the file).
    private func badLinesResponse(_ request: Request) -> Response {
        let bad = self.bad, badCount = self.badCount
        return api.json(request, .badRequest) { w in
            w.objectStart()
            API.writeError(&w, code: .invalidField, message: "\(badCount) line\(badCount == 1 ? " is" : "s are") invalid; nothing was imported",
                           field: bad.first?.field, more: { w in Self.writeLines(&w, bad) })
            w.objectEnd()
        }
    }

    /// `"lines": [{"line", "field", "message"}, …]`: in a refusal, and in the import's job.
    static func writeLines(_ w: inout JSONWriter, _ lines: [BadLine]) {
        w.key("lines")
        w.arrayStart()
        for line in lines {
            w.objectStart()
            w.key("line"); w.integer(line.line)
            w.key("field"); w.string(line.field)
            w.key("message"); w.string(line.message)
            w.objectEnd()
        }
        w.arrayEnd()
    }
}
