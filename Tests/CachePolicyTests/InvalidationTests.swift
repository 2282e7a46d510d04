import CachePolicy
import Testing

@Suite("RFC 9111 §4.4 invalidation, RFC 9875 cache groups, purge tags")
struct InvalidationTests {
    static let target = RequestTarget(scheme: "https", authority: "example.com", pathAndQuery: "/a/b/c?x=1")

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var method = "POST"
        var status = 200
        var response: [(String, String)] = []
        let expected: [String]
        var testDescription: String { name }
    }

    @Test("§4.4 unsafe methods with non-error responses invalidate the target and same-origin locations", arguments: [
        Case(name: "POST 200 invalidates the target", expected: ["https://example.com/a/b/c?x=1"]),
        Case(name: "DELETE 204", method: "DELETE", status: 204, expected: ["https://example.com/a/b/c?x=1"]),
        Case(name: "an unknown method counts as unsafe", method: "PURGEALL", expected: ["https://example.com/a/b/c?x=1"]),
        Case(name: "GET does not invalidate", method: "GET", expected: []),
        Case(name: "HEAD, OPTIONS, TRACE do not", method: "OPTIONS", expected: []),
        Case(name: "an error response does not invalidate", status: 500, expected: []),
        Case(name: "a 404 does not invalidate", status: 404, expected: []),
        Case(name: "a 303 does", status: 303, response: [("Location", "/done")], expected: ["https://example.com/a/b/c?x=1", "https://example.com/done"]),
        Case(name: "relative Location resolves against the target", status: 201, response: [("Location", "../d?y=2")],
             expected: ["https://example.com/a/b/c?x=1", "https://example.com/a/d?y=2"]),
        Case(name: "Content-Location too", response: [("Content-Location", "c2")], expected: ["https://example.com/a/b/c?x=1", "https://example.com/a/b/c2"]),
        Case(name: "absolute same-origin URI with default port", response: [("Location", "HTTPS://Example.com:443/z")],
             expected: ["https://example.com/a/b/c?x=1", "https://Example.com:443/z"]),
        Case(name: "another origin is never invalidated", response: [("Location", "https://evil.example/a"), ("Content-Location", "//other.example/b")],
             expected: ["https://example.com/a/b/c?x=1"]),
        Case(name: "another scheme is another origin", response: [("Location", "http://example.com/a")], expected: ["https://example.com/a/b/c?x=1"]),
    ])
    func invalidation(testCase: Case) {
        let effect = Invalidation.effect(method: testCase.method, status: testCase.status, target: Self.target, response: HeaderFields(testCase.response))
        #expect(effect.targets.map(\.description) == testCase.expected)
    }

    @Test("RFC 3986 §5.4 reference resolution examples", arguments: [
        ("g", "/b/c/g"), ("./g", "/b/c/g"), ("g/", "/b/c/g/"), ("/g", "/g"), ("?y", "/b/c/d;p?y"), ("g?y", "/b/c/g?y"),
        ("", "/b/c/d;p?q"), (".", "/b/c/"), ("./", "/b/c/"), ("..", "/b/"), ("../g", "/b/g"), ("../..", "/"), ("../../g", "/g"),
        ("../../../g", "/g"), ("/./g", "/g"), ("/../g", "/g"), ("g.", "/b/c/g."), (".g", "/b/c/.g"), ("./../g", "/b/g"),
        ("g/../h", "/b/c/h"), ("g;x=1/../y", "/b/c/y"), ("g#s", "/b/c/g"),
    ])
    func resolution(reference: String, expected: String) {
        let base = RequestTarget(scheme: "http", authority: "a", pathAndQuery: "/b/c/d;p?q")
        #expect(Invalidation.resolve(reference, against: base)?.pathAndQuery == expected)
    }

    @Test("RFC 9875 Cache-Group-Invalidation on an unsafe response invalidates groups")
    func groups() {
        let effect = Invalidation.effect(method: "POST", status: 200, target: Self.target,
                                         response: fields(("Cache-Group-Invalidation", "\"news\", \"sport\";p=1, token, \"news\"")))
        #expect(effect.groups == ["news", "sport"])
        let safe = Invalidation.effect(method: "GET", status: 200, target: Self.target, response: fields(("Cache-Group-Invalidation", "\"news\"")))
        #expect(safe.groups.isEmpty)
        #expect(Invalidation.cacheGroups(["\"a\", \"unterminated"]) == [])
    }

    @Test("purge tags: Surrogate-Key (spaces), Cache-Tag (commas) and Cache-Groups")
    func tags() {
        let response = fields(("Surrogate-Key", "post-1  author-7"), ("Cache-Tag", "post-1, front-page"), ("Cache-Groups", "\"news\", \"post-1\""))
        #expect(Invalidation.tags(response) == ["post-1", "author-7", "front-page", "news"])
    }
}
