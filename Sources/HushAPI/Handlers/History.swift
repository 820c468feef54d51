import Foundation
import HushCore
import HushHTTP
import HushStore

/// `GET /v1/{cases,suppressions,holds}/{id}/history`: every change of one record, oldest
/// first, also after the record was deleted.
extension API {
    func recordHistory(_ request: Request, _ kind: HistoryEntry.Kind, parameter name: String) throws(APIError) -> Response {
        let id = try parameter(request, name)
        let (limit, cursor) = try page(request.query)
        let after = try validating { () throws(ValidationError) -> Int64 in
            if cursor.isEmpty { return 0 }
            guard let seq = Int64(cursor), seq > 0 else {
                throw ValidationError(field: "cursor", message: "must be the next_cursor of a page of this history")
            }
            return seq
        }
        let reader = try self.context(for: request).reader
        let found: [HistoryEntry], known: Bool
        do throws(StoreError) {
            found = try reader.history(of: kind, id: id, after: after, limit: limit + 1)
            // No change recorded: a record kept from before the history began has an empty
            // one; no record and no history at all is unknown.
            known = found.isEmpty && after == 0 ? try exists(kind, id: id, reader: reader) : true
        } catch { throw .store(error) }
        guard known else { throw .notFound("no \(kind.rawValue) \(id), and no history of one") }
        return json(request) { w in writePage(&w, found, limit: limit, id: { String($0.seq) }) { $0.historyEntry($1) } }
    }

    private func exists(_ kind: HistoryEntry.Kind, id: String, reader: any StoreReader) throws(StoreError) -> Bool {
        switch kind {
        case .case: try reader.serviceCase(id: id) != nil
        case .suppression: try reader.suppression(id: id) != nil
        case .hold: store.holds.contains { $0.id == id }
        case .profile, .erasure: false
        }
    }
}

extension JSONWriter {
    /// One change: `{"seq", "at", "actor", "via", "operation", "before", "after"}`, the records
    /// as they were shown.
    mutating func historyEntry(_ entry: HistoryEntry) {
        objectStart()
        key("seq"); integer(entry.seq)
        key("record"); string(entry.kind.rawValue)
        key("at"); time(entry.at)
        key("actor"); string(entry.actor)
        key("via"); string(entry.via.rawValue)
        key("operation"); string(entry.operation.rawValue)
        key("before"); if let before = entry.before { raw(Array(before.utf8)) } else { null() }
        key("after"); if let after = entry.after { raw(Array(after.utf8)) } else { null() }
        objectEnd()
    }
}
