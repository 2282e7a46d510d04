import CachePolicy
import Testing

@Suite("RFC 9111 §3 storing responses")
struct StorabilityTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var method = "GET"
        var request: [(String, String)] = []
        var status = 200
        var response: [(String, String)] = []
        var settings = RuleSettings()
        let expected: NotCachedReason?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "§3 a 200 with max-age is stored", response: [("Cache-Control", "max-age=60")], expected: nil),
        Case(name: "§3 POST is not stored", method: "POST", response: [("Cache-Control", "max-age=60")], expected: .methodNotCacheable),
        Case(name: "§4.3.5 a HEAD response is not stored on its own", method: "HEAD", response: [("Cache-Control", "max-age=60")], expected: .methodNotCacheable),
        Case(name: "§3 1xx is never stored", status: 103, response: [("Cache-Control", "max-age=60")], expected: .statusNotCacheable),
        Case(name: "§3.3 206 is not stored without range support", status: 206, response: [("Cache-Control", "max-age=60")], expected: .partialContent),
        Case(name: "§4.3.4 a 304 is never stored as a new response", status: 304, response: [("Cache-Control", "max-age=60")], expected: .statusNotCacheable),
        Case(name: "§5.2.1.5 request no-store", request: [("Cache-Control", "no-store")], response: [("Cache-Control", "max-age=60")], expected: .requestNoStore),
        Case(name: "§5.2.2.5 response no-store", response: [("Cache-Control", "max-age=60, no-store")], expected: .responseNoStore),
        Case(name: "§5.2.2.7 unqualified private", response: [("Cache-Control", "private, max-age=60")], expected: .responsePrivate),
        Case(name: "§5.2.2.7 qualified private is stored", response: [("Cache-Control", "private=\"X-User\", max-age=60")], expected: nil),
        Case(name: "§3.5 Authorization without permission", request: [("Authorization", "Bearer x")], response: [("Cache-Control", "max-age=60")], expected: .authorizationWithoutPermission),
        Case(name: "§3.5 Authorization with public", request: [("Authorization", "Bearer x")], response: [("Cache-Control", "public, max-age=60")], expected: nil),
        Case(name: "§3.5 Authorization with s-maxage", request: [("Authorization", "Bearer x")], response: [("Cache-Control", "s-maxage=60")], expected: nil),
        Case(name: "§3.5 Authorization with must-revalidate", request: [("Authorization", "Bearer x")], response: [("Cache-Control", "must-revalidate, max-age=60")], expected: nil),
        Case(name: "§3 302 without freshness is not stored", status: 302, response: [("ETag", "\"a\"")], expected: .statusNotCacheable),
        Case(name: "§3 302 with max-age is stored", status: 302, response: [("Cache-Control", "max-age=60")], expected: nil),
        Case(name: "§3 500 with Expires is stored", status: 500, response: [("Expires", date(60))], expected: nil),
        Case(name: "§3 public makes a 302 storable", status: 302, response: [("Cache-Control", "public"), ("ETag", "\"a\"")], expected: nil),
        Case(name: "RFC 9110 §15.1 a heuristically cacheable 404 with a validator is stored", status: 404, response: [("Last-Modified", date(-3600))], expected: nil),
        Case(name: "§4.2 no lifetime and no validator: nothing to reuse", response: [], expected: .noFreshnessInformation),
        Case(name: "§5.2.2.4 no-cache with a validator is stored", response: [("Cache-Control", "no-cache"), ("ETag", "\"a\"")], expected: nil),
        Case(name: "§5.2.2.4 no-cache without a validator is useless", response: [("Cache-Control", "no-cache, max-age=60")], expected: .responseNoCache),
        Case(name: "§4.1 Vary: * is not stored", response: [("Cache-Control", "max-age=60"), ("Vary", "Accept, *")], expected: .varyStar),
        Case(name: "§5.2.2.3 must-understand with an unknown status", status: 299, response: [("Cache-Control", "must-understand, no-store, max-age=60")], expected: .mustUnderstandUnknownStatus),
        Case(name: "§5.2.2.3 must-understand overrides no-store for an understood status", response: [("Cache-Control", "must-understand, no-store, max-age=60")], expected: nil),
        Case(name: "Set-Cookie is not stored by default", response: [("Cache-Control", "max-age=60"), ("Set-Cookie", "a=b")], expected: .setCookie),
        Case(name: "Set-Cookie is stored when the rules allow", response: [("Cache-Control", "max-age=60"), ("Set-Cookie", "a=b")],
             settings: RuleSettings(setCookie: .store), expected: nil),
        Case(name: "Content-Length over maxObjectSize", response: [("Cache-Control", "max-age=60"), ("Content-Length", "2000")],
             settings: RuleSettings(maxObjectSize: 1000), expected: .tooLarge),
        Case(name: "rule bypass", response: [("Cache-Control", "max-age=60")], settings: RuleSettings(bypass: "maintenance"), expected: .ruleBypass),
        Case(name: "a status TTL rule makes a 503 storable", status: 503, response: [], settings: RuleSettings(statusTTLs: [503: 5]), expected: nil),
        Case(name: "RFC 9213 CDN-Cache-Control no-store overrides Cache-Control", response: [("Cache-Control", "max-age=60"), ("CDN-Cache-Control", "no-store")], expected: .responseNoStore),
        Case(name: "RFC 9213 CDN-Cache-Control lets a private browser response be stored", response: [("Cache-Control", "private"), ("CDN-Cache-Control", "max-age=60")], expected: nil),
        Case(name: "RFC 5861 max-age=0 with stale-while-revalidate is stored", response: [("Cache-Control", "max-age=0, stale-while-revalidate=30")], expected: nil),
    ]

    @Test("§3 storability table", arguments: cases)
    func storability(testCase: Case) {
        let result = Storability.decide(method: testCase.method, request: HeaderFields(testCase.request), status: testCase.status,
                                        response: HeaderFields([("Date", date(0))] + testCase.response), responseTime: origin,
                                        settings: testCase.settings)
        switch result {
        case .storable: #expect(testCase.expected == nil)
        case .notStorable(let reason): #expect(reason == testCase.expected)
        }
    }

    @Test("§5.2.2.7 §5.2.2.4 qualified private / no-cache fields and Set-Cookie (omit-field) are left out of storage")
    func omittedFields() throws {
        let response = fields(("Date", date(0)), ("Cache-Control", #"max-age=60, private="X-User", no-cache="X-Debug""#),
                              ("X-User", "alice"), ("X-Debug", "1"), ("Set-Cookie", "a=b"), ("Content-Type", "text/plain"))
        let result = Storability.decide(method: "GET", request: HeaderFields(), status: 200, response: response, responseTime: origin,
                                        settings: RuleSettings(setCookie: .omitField))
        guard case .storable(let plan) = result else { Issue.record("not storable: \(result)"); return }
        #expect(plan.omittedFields == ["set-cookie", "x-debug", "x-user"])
        #expect(!plan.revalidatesEachUse)
        let stored = plan.storedFields(from: response)
        #expect(stored.names == ["date", "cache-control", "content-type"])
    }

    @Test("RFC 9110 §7.6.1 hop-by-hop fields, including those Connection lists, are never stored")
    func hopByHop() throws {
        let response = fields(("Cache-Control", "max-age=60"), ("Connection", "close, X-Hop"), ("Keep-Alive", "timeout=5"),
                              ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("TE", "trailers"), ("Proxy-Connection", "keep-alive"),
                              ("X-Hop", "1"), ("ETag", "\"a\""))
        guard case .storable(let plan) = Storability.decide(method: "GET", request: HeaderFields(), status: 200, response: response,
                                                             responseTime: origin, settings: RuleSettings()) else {
            Issue.record("not storable"); return
        }
        #expect(plan.storedFields(from: response).names == ["cache-control", "etag"])
    }

    @Test("the plan's reuse facts are those the stored fields give, for every storable case and with fields omitted",
          arguments: cases + [
              Case(name: "qualified private, no-cache and an omitted Set-Cookie",
                   response: [("Cache-Control", #"max-age=60, private="Cache-Control", no-cache="X-Debug""#), ("ETag", "\"a\""),
                              ("Set-Cookie", "a=b"), ("Age", "5")], settings: RuleSettings(setCookie: .omitField), expected: nil),
              Case(name: "stale-while-revalidate, Expires and Age",
                   response: [("Cache-Control", "stale-while-revalidate=30"), ("Expires", date(90)), ("Age", "12"),
                              ("Connection", "keep-alive")], expected: nil),
              Case(name: "a heuristic lifetime", response: [("Last-Modified", date(-86_400))], expected: nil),
          ])
    func planReuseFacts(testCase: Case) {
        let response = HopByHop.removing(from: HeaderFields([("Date", date(0))] + testCase.response))
        guard case .storable(let plan) = Storability.decide(method: "GET", request: HeaderFields(testCase.request), status: testCase.status,
                                                             response: response, responseTime: origin, settings: testCase.settings)
        else { return }
        let stored = CachedResponse(status: testCase.status, fields: plan.storedFields(fromEndToEnd: response),
                                    requestTime: origin - 1, responseTime: origin)
        #expect(plan.storedFields(fromEndToEnd: response) == plan.storedFields(from: response))
        #expect(plan.reuseFacts(of: stored, settings: testCase.settings) == ReuseFacts(cached: stored, settings: testCase.settings))
    }

    struct BodyCase: Sendable {
        let received: Int
        let contentLength: Int?
        let ended: Bool
        let expected: NotCachedReason?
    }

    @Test("§3.3 an incomplete body is never stored as complete", arguments: [
        BodyCase(received: 100, contentLength: 100, ended: true, expected: nil),
        BodyCase(received: 99, contentLength: 100, ended: true, expected: .bodyIncomplete),
        BodyCase(received: 99, contentLength: 100, ended: false, expected: .bodyIncomplete),
        BodyCase(received: 500, contentLength: nil, ended: false, expected: .bodyIncomplete),
        BodyCase(received: 500, contentLength: nil, ended: true, expected: nil),
        BodyCase(received: 2000, contentLength: nil, ended: true, expected: .tooLarge),
    ])
    func completedBody(testCase: BodyCase) {
        #expect(Storability.completedBody(receivedLength: testCase.received, contentLength: testCase.contentLength,
                                          ended: testCase.ended, settings: RuleSettings(maxObjectSize: 1000)) == testCase.expected)
    }

    @Test("§3 only GET and HEAD requests may be answered from the cache; request no-store may still be")
    func requestMayUseCache() {
        #expect(Storability.requestMayUseCache(method: "GET", settings: RuleSettings()) == nil)
        #expect(Storability.requestMayUseCache(method: "HEAD", settings: RuleSettings()) == nil)
        #expect(Storability.requestMayUseCache(method: "POST", settings: RuleSettings()) == .methodNotCacheable)
        #expect(Storability.requestMayUseCache(method: "GET", settings: RuleSettings(bypass: "x")) == .ruleBypass)
    }
}
