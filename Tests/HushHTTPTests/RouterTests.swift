import Testing
@testable import HushHTTP

private func router() -> Router {
    var router = Router()
    let ok: Handler = { _ in Response(status: .ok) }
    router.add(.get, "/healthz", ok)
    router.add(.get, "/v1/customers/{id}", ok)
    router.add(.put, "/v1/customers/{id}", ok)
    router.add(.get, "/v1/customers/{id}/decisions", ok)
    router.add(.post, "/v1/decisions/batch", maxBodyBytes: 16 << 20, ok)
    return router
}

@Test func router_MatchesLiteralsAndParameters() throws {
    guard case .found(let route, let parameters) = router().match(.get, path: "/v1/customers/c%2F1%20x/decisions") else {
        Issue.record("no match"); return
    }
    #expect(route.pattern == "/v1/customers/{id}/decisions")
    #expect(parameters["id"] == "c/1 x")
}

@Test func router_HeadFallsBackToGet() {
    guard case .found(let route, _) = router().match(.head, path: "/healthz") else { Issue.record("no match"); return }
    #expect(route.method == .get)
}

@Test func router_UnknownPathsAre404_IncludingTrailingSlashesAndEmptyParameters() {
    for path in ["/", "/healthz/", "/v1/customers/", "/v1/customers//decisions", "/nope", "healthz"] {
        guard case .notFound = router().match(.get, path: Substring(path)) else { Issue.record("\(path) matched"); continue }
    }
}

@Test func router_WrongMethodIs405_ListingAllowed() {
    guard case .methodNotAllowed(let allow) = router().match(.delete, path: "/v1/customers/x") else { Issue.record("no 405"); return }
    #expect(allow == ["GET", "HEAD", "PUT"])
    guard case .methodNotAllowed(let allow2) = router().match(.get, path: "/v1/decisions/batch") else { Issue.record("no 405"); return }
    #expect(allow2 == ["POST"])
}

@Test func router_BadPercentEncodingInPathIsInvalid() {
    guard case .invalidPath = router().match(.get, path: "/v1/customers/%zz") else { Issue.record("accepted"); return }
    guard case .invalidPath = router().match(.get, path: "/v1/customers/%ff") else { Issue.record("accepted non-UTF-8"); return }
}

@Test func router_KeepsPerRouteBodyLimits() {
    guard case .found(let route, _) = router().match(.post, path: "/v1/decisions/batch") else { Issue.record("no match"); return }
    #expect(route.maxBodyBytes == 16 << 20)
}

@Test func query_DecodesPercentPlusAndRepeatedKeys() throws {
    let query = try QueryParameters(decoding: "category=a&category=b%26c&x=1+2&flag&empty=&=v&&")
    #expect(query.all("category") == ["a", "b&c"])
    #expect(query.first("x") == "1 2")
    #expect(query.first("flag") == "")
    #expect(query.first("empty") == "")
    #expect(query.first("") == "v")
    #expect(query.first("missing") == nil)
    #expect(throws: HTTPParseError.self) { try QueryParameters(decoding: "a=%4") }
    #expect(throws: HTTPParseError.self) { try QueryParameters(decoding: "a=%C3%28") }
}

@Test func target_SplitsPathAndQueryForEveryForm() {
    #expect(RequestTarget.split("/a/b?x=1").path == "/a/b")
    #expect(RequestTarget.split("/a/b?x=1").query == "x=1")
    #expect(RequestTarget.split("/a").query == nil)
    #expect(RequestTarget.split("http://h:1/p?q").path == "/p")
    #expect(RequestTarget.split("HTTPS://h").path == "/")
    #expect(RequestTarget.split("http://h?q").path == "/")
    #expect(RequestTarget.split("http://h?q").query == "q")
}

@Test func router_LiteralFastPathAgreesWithTheGeneralOne() {
    // Plain literal paths take the byte walk; escaped or parameterised ones the general path.
    for path in ["/v1/decisions/batch", "/v1/decisions/%62atch"] {
        guard case .found(let route, let parameters) = router().match(.post, path: Substring(path)) else { Issue.record("\(path): no match"); continue }
        #expect(route.pattern == "/v1/decisions/batch")
        #expect(parameters.isEmpty)
    }
    // A segment that is no literal falls through to the parameter.
    guard case .found(let route, let parameters) = router().match(.get, path: "/v1/customers/batch") else { Issue.record("no match"); return }
    #expect(route.pattern == "/v1/customers/{id}")
    #expect(parameters["id"] == "batch")
    // The fast path never answers 404 or 405 itself.
    guard case .methodNotAllowed = router().match(.get, path: "/v1/decisions/batch") else { Issue.record("no 405"); return }
    guard case .notFound = router().match(.get, path: "/v1/decisions") else { Issue.record("matched"); return }
}

@Test func hostCharacters_MaskMatchesRFC3986() {
    let host = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:[]".utf8)
    for b in 0...255 {
        #expect(HeadSemantics.isHostByte(UInt8(b)) == host.contains(UInt8(b)), "byte \(b)")
    }
}

@Test func tokenCharacters_MaskMatchesRFC9110() {
    let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
    for b in 0...255 {
        #expect(ASCII.isTchar(UInt8(b)) == tchar.contains(UInt8(b)), "byte \(b)")
    }
}
