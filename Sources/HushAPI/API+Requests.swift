import Foundation
import HushCore
import HushHTTP
import HushStore

/// What the handlers share to read a request and page an answer.
extension API {
    /// Runs `body`, its validation error becoming `invalid_field`: the one bridge from the
    /// checks' errors to the API's.
    @discardableResult
    func validating<T>(_ body: () throws(ValidationError) -> T) throws(APIError) -> T {
        do throws(ValidationError) { return try body() } catch { throw .invalid(error) }
    }

    /// A path parameter, checked as an identifier.
    func parameter(_ request: Request, _ name: String) throws(APIError) -> String {
        try validating { () throws(ValidationError) in try Validate.identifier(request.pathParameters[name] ?? "", field: name) }
    }

    /// The body as a JSON object, ready to be read field by field.
    func object(_ request: Request) throws(APIError) -> FieldReader {
        try object(try body(request))
    }

    func object(_ value: JSONValue) throws(APIError) -> FieldReader {
        try validating { () throws(ValidationError) in try FieldReader(value) }
    }

    /// `{"deleted": true}`.
    func deleted(_ request: Request) -> Response {
        json(request) { $0.objectStart(); $0.key("deleted"); $0.bool(true); $0.objectEnd() }
    }

    func channels(_ names: [String]?, field: String) throws(ValidationError) -> Set<Channel>? {
        guard let names else { return nil }
        var out: Set<Channel> = []
        for (i, name) in names.enumerated() { out.insert(try Validate.channel(name, field: "\(field)[\(i)]", policy: policy)) }
        return out
    }

    func purposes(_ names: [String]?, field: String) throws(ValidationError) -> Set<Purpose>? {
        guard let names else { return nil }
        var out: Set<Purpose> = []
        for (i, name) in names.enumerated() { out.insert(try Validate.purpose(name, field: "\(field)[\(i)]", policy: policy)) }
        return out
    }

    /// A listing's `limit` (1 to `limits.maxPageSize`, default `limits.defaultPageSize`) and `cursor` (the
    /// last id of the page before; empty for the first page). Every listing pages by id.
    func page(_ query: QueryParameters) throws(APIError) -> (limit: Int, cursor: String) {
        try validating { () throws(ValidationError) -> (Int, String) in
            var limit = limits.defaultPageSize, cursor = ""
            if let text = query.first("limit") {
                guard let value = Int(text), (1...limits.maxPageSize).contains(value) else {
                    throw ValidationError(field: "limit", message: "must be a whole number from 1 to \(limits.maxPageSize)")
                }
                limit = value
            }
            if let text = query.first("cursor") { cursor = try Validate.identifier(text, field: "cursor") }
            return (limit, cursor)
        }
    }

    /// `{"items": [...], "next_cursor"}` from up to `limit + 1` found items: one more than
    /// asked means another page follows, after the last id written.
    func writePage<Items: BidirectionalCollection>(_ w: inout JSONWriter, _ found: Items, limit: Int, id: (Items.Element) -> String,
                                      _ write: (inout JSONWriter, Items.Element) -> Void) {
        let items = found.prefix(limit)
        w.objectStart()
        w.key("items")
        w.arrayStart()
        for item in items { write(&w, item) }
        w.arrayEnd()
        w.key("next_cursor"); w.string(found.count > limit ? items.last.map(id) : nil)
        w.objectEnd()
    }
}

extension API {
    /// A change to a stored record, made on the writer: the stored one is read, `apply` reads
    /// the body onto it (checked again, now against what is stored) and `update` writes it back.
    /// Answered with the record as stored, or 404 with `notFound`.
    func patchWrite<Record: Sendable>(_ request: Request, body: JSONValue, notFound: String,
                                      read: @escaping @Sendable (any StoreTransaction) throws(StoreError) -> Record?,
                                      apply: @escaping @Sendable (inout FieldReader, inout Record) throws(ValidationError) -> Void,
                                      update: @escaping @Sendable (any StoreTransaction, Record) throws(StoreError) -> Bool,
                                      answer: @escaping @Sendable (inout JSONWriter, Record) -> Void) -> PreparedWrite {
        PreparedWrite({ w throws(StoreError) -> Patched<Record> in
            guard var current = try read(w) else { return .missing }
            var reader = try! FieldReader(body)
            do throws(ValidationError) { try apply(&reader, &current) } catch { return .invalid(error) }
            return try update(w, current) ? .updated(current) : .missing
        }) { [self] (patched) throws(APIError) in
            let record = try patched.value(orNotFound: notFound)
            return json(request) { answer(&$0, record) }
        }
    }

    /// A deletion on the writer, answered `{"deleted": true}`, or 404 with `notFound`.
    func deleteWrite(_ request: Request, notFound: String,
                     _ delete: @escaping @Sendable (any StoreTransaction) throws(StoreError) -> Bool) -> PreparedWrite {
        PreparedWrite(delete) { [self] (deleted) throws(APIError) in
            guard deleted else { throw .notFound(notFound) }
            return self.deleted(request)
        }
    }
}

/// What a read-modify-write of a stored record found, inside the writer's transaction.
enum Patched<Record: Sendable>: Sendable {
    case missing
    /// The change does not fit the stored record (an end before its start).
    case invalid(ValidationError)
    case updated(Record)

    func value(orNotFound message: String) throws(APIError) -> Record {
        switch self {
        case .missing: throw .notFound(message)
        case .invalid(let error): throw .invalid(error)
        case .updated(let record): return record
        }
    }
}
