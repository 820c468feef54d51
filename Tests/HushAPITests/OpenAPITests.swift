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
