import Foundation
import HushCore
import HushPostgres
import HushStore

/// Suppressions in bulk on PostgreSQL: every row is copied (`COPY`) into a temporary table and
/// merged in a few set-based statements, rather than four round trips a row. The outcome is the
/// row-by-row import's: a row whose identity (subject, kind, channels, purposes) is stored, or
/// came earlier in the file, with the same source, confirmation and expiry is unchanged; the
/// last row of an identity is what is stored; every record created or changed has its entry in
/// the history (one for the import, the record before and after).
extension PGTransaction {
    /// The identity of a suppression, as the unique index `suppressions_identity` has it.
    private static func identity(_ table: String) -> String {
        "coalesce(\(table).customer_id, ''), coalesce(\(table).address, ''), \(table).kind, coalesce(\(table).channels, '*'), coalesce(\(table).purposes, '*')"
    }

    /// History entries are written in groups of this many rows (rendered here, copied in).
    static let historyBatch = 5000

    func importSuppressions(_ input: ImportRows<Suppression>, now: Date) throws(StoreError) -> (imported: Int, unchanged: Int) {
        try run("""
            CREATE TEMP TABLE hush_import (seq bigint NOT NULL, id text NOT NULL, customer_id text, address text, address_kind text,
            kind text NOT NULL, channels text, purposes text, source text, confirmed boolean NOT NULL, expires_at bigint) ON COMMIT DROP
            """)
        // The rows, validated as the row-by-row import validates them, each with the id it gets if it is new.
        var total = 0
        try copy("COPY hush_import FROM STDIN") { writer in
            try input.forEach { row throws(StoreError) in
                do throws(ValidationError) { try row.validate() } catch {
                    throw StoreError(kind: .conflict, message: "\(error.field) \(error.message)")
                }
                total += 1
                let (customerID, address, addressKind) = StoreRows.subjectColumns(row.subject)
                do throws(PGError) {
                    try writer.row([String(total), StoreRows.newID(now: now), customerID, address, addressKind, row.kind.rawValue,
                                    Codec.joined(row.channels?.map(\.rawValue)), Codec.joined(row.purposes?.map(\.rawValue)),
                                    row.source, row.confirmed ? "t" : "f", row.expiresAt.map { String(Codec.millis($0)) }])
                } catch {
                    throw Self.storeError(error)
                }
            }
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
        try run("""
            DECLARE hush_changes NO SCROLL CURSOR FOR
            SELECT coalesce(stored_id, id), customer_id, address, address_kind, kind, channels, purposes, source, confirmed::int, expires_at,
                   stored_id IS NOT NULL, s_source, s_confirmed::int, s_expires_at
            FROM hush_final WHERE \(differs("hush_final")) ORDER BY coalesce(stored_id, id)
            """)
        let at = String(Codec.millis(clock()))
        while true {
            let batch = try self.rows("FETCH \(Self.historyBatch) FROM hush_changes", [])
            if batch.isEmpty { break }
            var entries: [[String?]] = []
            for row in batch {
                let after = try StoreRows.suppression(row)
                var before: Suppression?
                if row.text(10) == "t" {
                    before = after
                    before!.source = row.text(11)
                    before!.confirmed = row.text(12) == "1"
                    before!.expiresAt = Codec.date(row.integer(13))
                }
                guard let change = HistoryChange(before: before.map(HistoryRecord.suppression), after: .suppression(after), render: renderHistory) else { continue }
                entries.append([change.kind.rawValue, change.recordID, change.customerID, change.address, at, actor.name,
                                actor.via.rawValue, change.operation.rawValue, change.before, change.after])
            }
            changed += try copy("COPY history (record_kind, record_id, customer_id, address, at, actor, via, operation, before, after) FROM STDIN") { writer in
                for entry in entries { try writer.row(entry) }
            }
        }
        try run("CLOSE hush_changes")
        return (total - unchanged, unchanged)
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
