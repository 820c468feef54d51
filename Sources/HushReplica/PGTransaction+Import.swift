import Foundation
import HushCore
import HushPostgres
import HushStore

/// Suppressions, profiles and cases in bulk on PostgreSQL: every row is copied (`COPY`) into a
/// temporary table and merged in a few set-based statements, rather than a lock and four round
/// trips a row. The counts are the row-by-row import's; the last row of a key is what is stored;
/// every record created or changed has one entry in the history (the record before and after).
extension PGTransaction {
    /// The identity of a suppression, as the unique index `suppressions_identity` has it.
    private static func identity(_ table: String) -> String {
        "coalesce(\(table).customer_id, ''), coalesce(\(table).address, ''), \(table).kind, coalesce(\(table).channels, '*'), coalesce(\(table).purposes, '*')"
    }

    /// History entries are written in groups of this many rows (rendered here, copied in).
    static let historyBatch = 5000

    /// Copies every row of `input` into `table`, each as its number in the file (from 1) and
    /// `values`; returns how many.
    private func copyRows<Row>(_ input: ImportRows<Row>, into table: String,
                               _ values: (Row) throws(StoreError) -> [String?]) throws(StoreError) -> Int {
        var total = 0
        try copy("COPY \(table) FROM STDIN") { writer in
            try input.forEach { row throws(StoreError) in
                let fields = try values(row)
                total += 1
                do throws(PGError) { try writer.row([String(total)] + fields) } catch { throw Self.storeError(error) }
            }
        }
        return total
    }

    /// `columns` of `a` and `b` (prefixes: a table and a dot, or a column prefix) all equal, NULLs included.
    private static func same(_ columns: [String], _ a: String, _ b: String) -> String {
        columns.map { "\(a)\($0) IS NOT DISTINCT FROM \(b)\($0)" }.joined(separator: " AND ")
    }

    func importSuppressions(_ input: ImportRows<Suppression>, now: Date) throws(StoreError) -> (imported: Int, unchanged: Int) {
        try run("""
            CREATE TEMP TABLE hush_import (seq bigint NOT NULL, id text NOT NULL, customer_id text, address text, address_kind text,
            kind text NOT NULL, channels text, purposes text, source text, confirmed boolean NOT NULL, expires_at bigint) ON COMMIT DROP
            """)
        // The rows, validated as the row-by-row import validates them, each with the id it gets if it is new.
        let total = try copyRows(input, into: "hush_import") { row throws(StoreError) in
            do throws(ValidationError) { try row.validate() } catch {
                throw StoreError(kind: .conflict, message: "\(error.field) \(error.message)")
            }
            let (customerID, address, addressKind) = StoreRows.subjectColumns(row.subject)
            return [StoreRows.newID(now: now), customerID, address, addressKind, row.kind.rawValue,
                    Codec.joined(row.channels?.map(\.rawValue)), Codec.joined(row.purposes?.map(\.rawValue)),
                    row.source, row.confirmed ? "t" : "f", row.expiresAt.map { String(Codec.millis($0)) }]
        }
        guard total > 0 else { return (0, 0) }
        try run("ANALYZE hush_import")

        // Unchanged, row by row: the first row of an identity against what is stored, each later
        // one against the row before it.
        let unchangedRows = try rows("""
            SELECT count(*) FROM (
              SELECT h.n, h.source, h.confirmed, h.expires_at, h.p_source, h.p_confirmed, h.p_expires_at,
                     s.id AS s_id, s.source AS s_source, s.confirmed AS s_confirmed, s.expires_at AS s_expires_at
              FROM (SELECT hush_import.*, row_number() OVER w AS n, lag(source) OVER w AS p_source,
                           lag(confirmed) OVER w AS p_confirmed, lag(expires_at) OVER w AS p_expires_at
                    FROM hush_import WINDOW w AS (PARTITION BY \(Self.identity("hush_import")) ORDER BY seq)) h
              LEFT JOIN suppressions s ON (\(Self.identity("s"))) = (\(Self.identity("h")))
            ) x
            WHERE CASE WHEN n = 1 THEN s_id IS NOT NULL AND source IS NOT DISTINCT FROM s_source AND confirmed = s_confirmed
                                       AND expires_at IS NOT DISTINCT FROM s_expires_at
                       ELSE source IS NOT DISTINCT FROM p_source AND confirmed = p_confirmed AND expires_at IS NOT DISTINCT FROM p_expires_at END
            """, [])
        let unchanged = Int(unchangedRows.first?.text(0) ?? "") ?? 0

        // The last row of every identity, beside the stored suppression it may replace.
        try run("""
            CREATE TEMP TABLE hush_final ON COMMIT DROP AS
            SELECT f.*, s.id AS stored_id, s.source AS s_source, s.confirmed AS s_confirmed, s.expires_at AS s_expires_at
            FROM (SELECT DISTINCT ON (\(Self.identity("hush_import"))) * FROM hush_import
                  ORDER BY \(Self.identity("hush_import")), seq DESC) f
            LEFT JOIN suppressions s ON (\(Self.identity("s"))) = (\(Self.identity("f")))
            """)
        func differs(_ f: String) -> String {
            "(\(f).stored_id IS NULL OR \(f).source IS DISTINCT FROM \(f).s_source OR \(f).confirmed <> \(f).s_confirmed OR \(f).expires_at IS DISTINCT FROM \(f).s_expires_at)"
        }
        try run("""
            INSERT INTO suppressions (id, customer_id, address, address_kind, kind, channels, purposes, source, confirmed, expires_at, created_at)
            SELECT id, customer_id, address, address_kind, kind, channels, purposes, source, confirmed, expires_at, $1
            FROM hush_final WHERE stored_id IS NULL ORDER BY id
            """, [String(Codec.millis(now))])
        try run("""
            UPDATE suppressions s SET source = f.source, confirmed = f.confirmed, expires_at = f.expires_at
            FROM hush_final f WHERE s.id = f.stored_id AND \(differs("f"))
            """)

        // The history: one entry for each record created or changed, rendered as the API shows it.
        try copyHistory(of: """
            SELECT coalesce(stored_id, id), customer_id, address, address_kind, kind, channels, purposes, source, confirmed::int, expires_at,
                   stored_id IS NOT NULL, s_source, s_confirmed::int, s_expires_at
            FROM hush_final WHERE \(differs("hush_final")) ORDER BY coalesce(stored_id, id)
            """) { row throws(StoreError) in
            let after = try StoreRows.suppression(row)
            var before: Suppression?
            if row.text(10) == "t" {
                before = after
                before!.source = row.text(11)
                before!.confirmed = row.text(12) == "1"
                before!.expiresAt = Codec.date(row.integer(13))
            }
            return (before.map(HistoryRecord.suppression), .suppression(after))
        }
        return (total - unchanged, unchanged)
    }

    /// Profiles in bulk, as suppressions: copied into a temporary table and merged in a few
    /// statements. A row equal to the stored profile, or to the row of the same customer before
    /// it in the file, is unchanged; the last row of a customer is what is stored, and a customer
    /// whose stored profile changed, or who had none, has one entry in the history.
    func importProfiles(_ input: ImportRows<Profile>, now: Date) throws(StoreError) -> (imported: Int, unchanged: Int) {
        try run("""
            CREATE TEMP TABLE hush_profiles (seq bigint NOT NULL, customer_id text NOT NULL, region text, timezone text,
            email text, phone text) ON COMMIT DROP
            """)
        let total = try copyRows(input, into: "hush_profiles") { row in
            [row.customerID, row.region, row.timeZone?.identifier, row.email, row.phone]
        }
        guard total > 0 else { return (0, 0) }
        try run("ANALYZE hush_profiles")
        func same(_ a: String, _ b: String) -> String { Self.same(["region", "timezone", "email", "phone"], a, b) }
        // Unchanged, row by row: the first row of a customer against what is stored, each later
        // one against the row before it.
        let unchangedRows = try rows("""
            SELECT count(*) FROM (
              SELECT h.*, s.customer_id AS s_id, s.region AS s_region, s.timezone AS s_timezone, s.email AS s_email, s.phone AS s_phone
              FROM (SELECT hush_profiles.*, row_number() OVER w AS n, lag(region) OVER w AS p_region, lag(timezone) OVER w AS p_timezone,
                           lag(email) OVER w AS p_email, lag(phone) OVER w AS p_phone
                    FROM hush_profiles WINDOW w AS (PARTITION BY customer_id ORDER BY seq)) h
              LEFT JOIN profiles s ON s.customer_id = h.customer_id
            ) x
            WHERE CASE WHEN n = 1 THEN s_id IS NOT NULL AND \(same("", "s_")) ELSE \(same("", "p_")) END
            """, [])
        let unchanged = Int(unchangedRows.first?.text(0) ?? "") ?? 0

        // The last row of every customer, beside the stored profile, where they differ.
        try run("""
            CREATE TEMP TABLE hush_profiles_final ON COMMIT DROP AS
            SELECT f.customer_id, f.region, f.timezone, f.email, f.phone, s.customer_id IS NOT NULL AS stored,
                   s.region AS s_region, s.timezone AS s_timezone, s.email AS s_email, s.phone AS s_phone
            FROM (SELECT DISTINCT ON (customer_id) * FROM hush_profiles ORDER BY customer_id, seq DESC) f
            LEFT JOIN profiles s ON s.customer_id = f.customer_id
            WHERE s.customer_id IS NULL OR NOT (\(same("f.", "s.")))
            """)
        try run("""
            INSERT INTO profiles (customer_id, region, timezone, email, phone, updated_at)
            SELECT customer_id, region, timezone, email, phone, $1 FROM hush_profiles_final ORDER BY customer_id
            ON CONFLICT (customer_id) DO UPDATE
            SET region = excluded.region, timezone = excluded.timezone, email = excluded.email, phone = excluded.phone,
                updated_at = excluded.updated_at
            """, [String(Codec.millis(now))])

        // The history: one entry a customer created or changed, rendered as the API shows it.
        try copyHistory(of: """
            SELECT customer_id, region, timezone, email, phone, stored, s_region, s_timezone, s_email, s_phone
            FROM hush_profiles_final ORDER BY customer_id
            """) { row throws(StoreError) in
            func profile(_ first: Int32) -> Profile {
                Profile(customerID: row.text(0) ?? "", region: row.text(first), timeZone: row.text(first + 1).flatMap(TimeZone.init(identifier:)),
                        email: row.text(first + 2), phone: row.text(first + 3))
            }
            return (row.text(5) == "t" ? .profile(profile(6)) : nil, .profile(profile(1)))
        }
        return (total - unchanged, unchanged)
    }

    /// Cases in bulk, as suppressions and profiles, with the row-by-row import's outcome. There a
    /// row is unchanged when it equals the case as it stands, or is older than it (`updated_at`);
    /// otherwise it replaces it. Set-based: the case as it stands before a row is the last row
    /// of its id before it that was not older than what came before, or the stored case; and
    /// what came before a row is the latest `updated_at` of the stored case and the rows before
    /// it. The last such row of an id is stored, with one history entry a case created or changed.
    func importCases(_ input: ImportRows<ServiceCase>) throws(StoreError) -> (imported: Int, unchanged: Int) {
        try run("""
            CREATE TEMP TABLE hush_cases (seq bigint NOT NULL, case_id text NOT NULL, customer_id text NOT NULL, severity text NOT NULL,
            status text NOT NULL, opened_at bigint NOT NULL, closed_at bigint, resolution text, updated_at bigint NOT NULL) ON COMMIT DROP
            """)
        let total = try copyRows(input, into: "hush_cases") { row in
            [row.id, row.customerID, row.severity.rawValue, row.status.rawValue, String(Codec.millis(row.openedAt)),
             row.closedAt.map { String(Codec.millis($0)) }, row.resolution?.rawValue, String(Codec.millis(row.updatedAt))]
        }
        guard total > 0 else { return (0, 0) }
        try run("ANALYZE hush_cases")
        let columns = ["customer_id", "severity", "status", "opened_at", "closed_at", "resolution", "updated_at"]
        func same(_ a: String, _ b: String) -> String { Self.same(columns, a, b) }
        let stored = columns.map { "s.\($0) AS s_\($0)" }.joined(separator: ", ")
        // Each row beside the stored case, and whether it is older than what came before it.
        try run("""
            CREATE TEMP TABLE hush_case_rows ON COMMIT DROP AS
            SELECT h.*, s.case_id IS NOT NULL AS stored, \(stored),
                   coalesce(greatest(s.updated_at, max(h.updated_at) OVER (PARTITION BY h.case_id ORDER BY h.seq
                                                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) > h.updated_at,
                            false) AS older
            FROM hush_cases h LEFT JOIN cases s ON s.case_id = h.case_id
            """)
        let previous = columns.map { "lag(\($0)) OVER w AS p_\($0)" }.joined(separator: ", ")
        let unchangedRows = try rows("""
            SELECT (SELECT count(*) FROM hush_case_rows WHERE older) + (SELECT count(*) FROM (
              SELECT hush_case_rows.*, row_number() OVER w AS n, \(previous)
              FROM hush_case_rows WHERE NOT older WINDOW w AS (PARTITION BY case_id ORDER BY seq)) x
              WHERE CASE WHEN n = 1 THEN stored AND \(same("", "s_")) ELSE \(same("", "p_")) END)
            """, [])
        let unchanged = Int(unchangedRows.first?.text(0) ?? "") ?? 0

        // The last row of every id that was not older, where it differs from the stored case.
        try run("""
            CREATE TEMP TABLE hush_cases_final ON COMMIT DROP AS
            SELECT * FROM (SELECT DISTINCT ON (case_id) * FROM hush_case_rows WHERE NOT older ORDER BY case_id, seq DESC) f
            WHERE NOT stored OR NOT (\(same("", "s_")))
            """)
        try run("""
            INSERT INTO cases (\(StoreRows.caseColumns))
            SELECT \(StoreRows.caseColumns) FROM hush_cases_final ORDER BY case_id
            ON CONFLICT (case_id) DO UPDATE
            SET \(columns.map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
            """)

        // The history: one entry a case created or changed, rendered as the API shows it.
        try copyHistory(of: """
            SELECT \(StoreRows.caseColumns), stored, case_id, \(columns.map { "s_\($0)" }.joined(separator: ", "))
            FROM hush_cases_final ORDER BY case_id
            """) { row throws(StoreError) in
            guard let after = StoreRows.serviceCase(row) else {
                throw StoreError(kind: .internalError, message: "an imported case row holds an unknown severity or status")
            }
            let before = row.text(8) == "t" ? StoreRows.serviceCase(TextRow(Array(row.values[9...]))) : nil
            return (before.map(HistoryRecord.serviceCase), .serviceCase(after))
        }
        return (total - unchanged, unchanged)
    }

    /// Writes one history entry for each row of `query` that `change` makes a change of (its
    /// record before, or nil, and after), fetched through a cursor `historyBatch` rows at a time
    /// and copied in, under this transaction's actor and one time.
    private func copyHistory(of query: String, _ change: (TextRow) throws(StoreError) -> (before: HistoryRecord?, after: HistoryRecord)) throws(StoreError) {
        try run("DECLARE hush_history NO SCROLL CURSOR FOR " + query)
        let at = String(Codec.millis(clock()))
        while true {
            let batch = try rows("FETCH \(Self.historyBatch) FROM hush_history", [])
            if batch.isEmpty { break }
            var entries: [[String?]] = []
            for row in batch {
                let (before, after) = try change(row)
                guard let change = HistoryChange(before: before, after: after, render: renderHistory) else { continue }
                entries.append([change.kind.rawValue, change.recordID, change.customerID, change.address, at, actor.name,
                                actor.via.rawValue, change.operation.rawValue, change.before, change.after])
            }
            changed += try copy("COPY history (record_kind, record_id, customer_id, address, at, actor, via, operation, before, after) FROM STDIN") { writer in
                for entry in entries { try writer.row(entry) }
            }
        }
        try run("CLOSE hush_history")
    }

    /// `PGConnection.copyIn`, its failures as store errors (a PostgreSQL one kept for the retry).
    @discardableResult
    private func copy(_ sql: String, _ body: (PGCopyWriter) throws -> Void) throws(StoreError) -> Int {
        do {
            return try db.copyIn(sql, body)
        } catch let error as StoreError {
            throw error
        } catch let error as PGError {
            failure = error
            throw Self.storeError(error)
        } catch {
            throw StoreError(kind: .internalError, message: "\(error)")
        }
    }
}
