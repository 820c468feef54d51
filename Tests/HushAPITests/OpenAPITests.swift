import Foundation
import Testing
@testable import HushAPI
import OpenAPIKit

/// The OpenAPI document and the router describe the same API.
@Test func theOpenAPIDocument_AndTheRouter_ListTheSameRoutes() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-openapi-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var config = Config()
    config.server.port = 0
    config.server.threads = 1
    config.server.database = directory.appendingPathComponent("hush.db").path
    config.erasureKey = String(repeating: "o", count: 32)
    config.log.access = .off
    config.log.level = .error
    let service = try Service(settings: Settings(config: config, configSource: nil))
    defer { service.shutdown() }

    let document = try JSONParser.parse(Array(OpenAPIDocument.json.utf8))
    guard case .object(let top) = document, case .object(let paths)? = top.first(where: { $0.key == "paths" })?.value else {
        Issue.record("the document has no paths")
        return
    }
    #expect(top.first { $0.key == "openapi" }?.value == .string("3.1.0"))
    var documented: Set<String> = []
    for (path, item) in paths {
        guard case .object(let operations) = item else { continue }
        for (method, _) in operations where ["get", "put", "post", "patch", "delete"].contains(method) {
            documented.insert("\(method.uppercased()) \(path)")
        }
    }
    let routed = Set(service.routes)
    #expect(routed.subtracting(documented).sorted() == [], "routes the document lacks")
    #expect(documented.subtracting(routed).sorted() == [], "documented paths with no route")
    #expect(routed.count == service.routes.count)
}

/// Every `$ref` in the document points at a schema it defines.
@Test func theOpenAPIDocument_DefinesEverySchemaItRefersTo() throws {
    let text = OpenAPIDocument.json
    let refs = Set(text.components(separatedBy: "\"#/components/schemas/").dropFirst().map { String($0.prefix { $0 != "\"" }) })
    guard case .object(let top) = try JSONParser.parse(Array(text.utf8)),
          case .object(let components)? = top.first(where: { $0.key == "components" })?.value,
          case .object(let schemas)? = components.first(where: { $0.key == "schemas" })?.value else {
        Issue.record("no components.schemas")
        return
    }
    let defined = Set(schemas.map(\.key))
    #expect(refs.subtracting(defined).sorted() == [])
    #expect(!refs.isEmpty)
}

/// The document is OpenAPI 3.1 as OpenAPIKit reads it: it decodes, and passes OpenAPIKit's
/// validation (unique operation ids, references that resolve, parameters that fit their paths,
/// at least one response per operation). Its version is the binary's.
@Test func theOpenAPIDocument_IsValidOpenAPI31() throws {
    let document = try JSONDecoder().decode(OpenAPI.Document.self, from: Data(OpenAPIDocument.json.utf8))
    #expect(document.openAPIVersion == .v3_1_0)
    #expect(document.info.version == Hush.version)
    try document.validate()
    #expect(document.allOperationIds.count == document.routes.reduce(0) { $0 + $1.pathItem.endpoints.count })
}

/// The schemas of every configured name (`x-hush-vocabulary`) in the document a server serves:
/// each lists that server's channels or purposes as its `enum`, and the document is still valid.
@Test func theServedDocument_ListsThePolicysChannelsAndPurposes_InEveryVocabularySchema() throws {
    let text = OpenAPIDocument.served(channels: ["email", "carrier_pigeon"], purposes: ["marketing", "care"],
                                      interactionTypes: ["complaint", "purchase"])
    var channels = 0, purposes = 0, types = 0
    func walk(_ value: JSONValue) {
        switch value {
        case .object(let members):
            if let vocabulary = members.first(where: { $0.key == "x-hush-vocabulary" })?.value {
                let names = members.first { $0.key == "enum" }?.value
                switch vocabulary {
                case .string("channel"):
                    channels += 1
                    #expect(names == .array([.string("email"), .string("carrier_pigeon")]))
                case .string("purpose"):
                    purposes += 1
                    #expect(names == .array([.string("marketing"), .string("care")]))
                case .string("interaction_type"):
                    types += 1
                    #expect(names == .array([.string("complaint"), .string("purchase")]))
                default: Issue.record("unknown vocabulary \(vocabulary)")
                }
            }
            for (_, member) in members { walk(member) }
        case .array(let items): items.forEach(walk)
        default: break
        }
    }
    walk(try JSONParser.parse(Array(text.utf8)))
    // Every channel and purpose a request names: the decision's, the batch item's, a
    // suppression's and a hold's lists, a contact's, and the query parameters.
    #expect(channels == 8)
    #expect(purposes == 9)
    #expect(types == 1)
    #expect(!OpenAPIDocument.json.contains("\"enum\": [\"email\""))
    let document = try JSONDecoder().decode(OpenAPI.Document.self, from: Data(text.utf8))
    try document.validate()
    // With no scored types the document is still valid, and says every interaction needs a score.
    let unscored = OpenAPIDocument.served(channels: ["email"], purposes: ["marketing"], interactionTypes: [])
    #expect(unscored.contains(#""x-hush-vocabulary": "interaction_type", "not": {}"#))
    try JSONDecoder().decode(OpenAPI.Document.self, from: Data(unscored.utf8)).validate()
}

/// The pattern the document gives identifiers accepts what `Validate.identifier` accepts and
/// refuses what it refuses, at the ends and in the middle, in ASCII and beyond.
@Test func theDocumentsIdentifierPattern_AgreesWithTheServersCheck() throws {
    try expectPattern(of: "ContactBody", "customer_id", samples: [
        "c-1042", "a", "C0001234", "client 42", " c", "c ", "c\t", "\tc", "a\u{0}b", "a\u{7F}b", "a\u{85}b", "a\u{9F}b",
        "\u{A0}c", "c\u{A0}", "c\u{3000}", "\u{2003}c", "é", "客户-1", "a\u{A0}b", "😀", "x😀y", "\u{1}", "a\nb",
        String(repeating: "x", count: 128),
    ]) { (try? Validate.identifier($0, field: "customer_id")) != nil }
}

/// The pattern the document gives a region accepts what `Validate.region` accepts, and only that.
@Test func theDocumentsRegionPattern_AgreesWithTheServersCheck() throws {
    try expectPattern(of: "DecisionRequest", "region", samples: [
        "US", "us", "US-CA", "GB-ENG", "FR-75", "DE-BY1", "U", "USA", "US-", "US-CAXX", "US_CA", "U1", "12", "", "US-C", "ÜS",
        "US-ÇA", "US CA", "US-CA ",
    ]) { (try? Validate.region($0, field: "region")) != nil }
}

/// Expects the `pattern` of `schema`'s `property` to match exactly the samples the server
/// `accepts`, and the samples to hold both kinds.
private func expectPattern(of schema: String, _ property: String, samples: [String], accepts: (String) -> Bool) throws {
    guard let pattern = try pattern(of: schema, property) else {
        Issue.record("\(schema).\(property) has no pattern")
        return
    }
    let regex = try NSRegularExpression(pattern: pattern)
    for sample in samples {
        let accepted = accepts(sample)
        let matched = regex.firstMatch(in: sample, range: NSRange(sample.startIndex..., in: sample)) != nil
        #expect(accepted == matched, "\(sample.unicodeScalars.map { String($0.value, radix: 16) }): server \(accepted), pattern \(matched)")
    }
    let kinds = Set(samples.map(accepts))
    #expect(kinds == [true, false])
}

/// The `pattern` of property `property` of schema `schema` in the document's components,
/// following a `$ref` to the schema that holds it.
private func pattern(of schema: String, _ property: String) throws -> String? {
    func member(_ value: JSONValue?, _ key: String) -> JSONValue? {
        guard case .object(let members)? = value else { return nil }
        return members.first { $0.key == key }?.value
    }
    let schemas = member(member(try JSONParser.parse(Array(OpenAPIDocument.json.utf8)), "components"), "schemas")
    var found = member(member(member(schemas, schema), "properties"), property)
    if case .string(let ref)? = member(found, "$ref"), ref.hasPrefix("#/components/schemas/") {
        found = member(schemas, String(ref.dropFirst("#/components/schemas/".count)))
    }
    guard case .string(let pattern)? = member(found, "pattern") else { return nil }
    return pattern
}
