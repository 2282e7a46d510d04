import CachePolicy
import Testing

@Suite("RFC 9111 §4.3.2 answering conditional requests from the cache")
struct ConditionalRequestTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var method = "GET"
        let request: [(String, String)]
        var stored: [(String, String)] = [("ETag", "W/\"v1\""), ("Last-Modified", date(-3600)), ("Date", date(0))]
        var status = 200
        let expected: ConditionalOutcome
        var testDescription: String { name }
    }

    @Test("RFC 9110 §13.1.2 §13.1.3 If-None-Match and If-Modified-Since", arguments: [
        Case(name: "If-None-Match weak comparison matches", request: [("If-None-Match", "\"v1\"")], expected: .notModified),
        Case(name: "If-None-Match list with a match", request: [("If-None-Match", "\"x\", W/\"v1\"")], expected: .notModified),
        Case(name: "If-None-Match without a match", request: [("If-None-Match", "\"v2\"")], expected: .full),
        Case(name: "If-None-Match *", request: [("If-None-Match", "*")], expected: .notModified),
        Case(name: "If-None-Match wins over a matching If-Modified-Since", request: [("If-None-Match", "\"v2\""), ("If-Modified-Since", date(0))], expected: .full),
        Case(name: "If-Modified-Since after Last-Modified", request: [("If-Modified-Since", date(-10))], expected: .notModified),
        Case(name: "If-Modified-Since equal to Last-Modified", request: [("If-Modified-Since", date(-3600))], expected: .notModified),
        Case(name: "If-Modified-Since before Last-Modified", request: [("If-Modified-Since", date(-7200))], expected: .full),
        Case(name: "invalid If-Modified-Since is ignored", request: [("If-Modified-Since", "yesterday")], expected: .full),
        Case(name: "If-Modified-Since falls back to Date", request: [("If-Modified-Since", date(10))], stored: [("Date", date(0))], expected: .notModified),
        Case(name: "If-Modified-Since before Date", request: [("If-Modified-Since", date(-10))], stored: [("Date", date(0))], expected: .full),
        Case(name: "POST is never answered 304", method: "POST", request: [("If-None-Match", "*")], expected: .full),
        Case(name: "HEAD is", method: "HEAD", request: [("If-None-Match", "\"v1\"")], expected: .notModified),
        Case(name: "not for a stored 404", request: [("If-None-Match", "*")], status: 404, expected: .full),
        Case(name: "If-Match is not evaluated by a cache", request: [("If-Match", "\"nope\"")], expected: .full),
        Case(name: "malformed entity tag never matches", request: [("If-None-Match", "v1")], expected: .full),
    ])
    func evaluate(testCase: Case) {
        let outcome = ConditionalRequest.evaluate(method: testCase.method, request: HeaderFields(testCase.request), storedStatus: testCase.status,
                                                  stored: HeaderFields(testCase.stored), storedResponseTime: origin)
        #expect(outcome == testCase.expected)
    }

    @Test("RFC 9110 §15.4.5 a 304 carries Cache-Control, Content-Location, Date, ETag, Expires, Vary")
    func notModifiedFields() {
        let stored = fields(("Date", date(0)), ("ETag", "\"a\""), ("Cache-Control", "max-age=5"), ("Vary", "Accept"), ("Content-Type", "text/html"),
                            ("Content-Length", "10"), ("Last-Modified", date(-5)), ("Expires", date(5)), ("Content-Location", "/a"))
        #expect(ConditionalRequest.notModifiedFields(stored: stored).names == ["cache-control", "content-location", "date", "etag", "expires", "vary"])
        let withoutTag = fields(("Date", date(0)), ("Last-Modified", date(-5)), ("Content-Type", "text/html"))
        #expect(ConditionalRequest.notModifiedFields(stored: withoutTag).names == ["date", "last-modified"])
    }

    @Test("RFC 9110 §8.8.3 strong and weak comparison")
    func entityTags() {
        let strong = EntityTag("\"a\"")!, weak = EntityTag("W/\"a\"")!, other = EntityTag("\"b\"")!
        #expect(strong.strongly(matches: strong))
        #expect(!strong.strongly(matches: weak) && !weak.strongly(matches: weak))
        #expect(strong.weakly(matches: weak) && weak.weakly(matches: weak))
        #expect(!strong.weakly(matches: other))
        #expect(EntityTag("a") == nil && EntityTag("\"a") == nil && EntityTag("W/a") == nil)
        #expect(weak.description == "W/\"a\"")
    }
}
