import CachePolicy
import Testing

@Suite("RFC 9111 §4 reusing stored responses, RFC 5861 stale content")
struct ReuseTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let response: [(String, String)]
        var request: [(String, String)] = []
        var settings = RuleSettings()
        var softPurgedAt: Double?
        let now: Double
        let expected: ReuseVerdict
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "§4.2 fresh: age below lifetime", response: [("Cache-Control", "max-age=100")], now: 30,
             expected: .fresh(currentAge: 30, timeToLive: 70)),
        Case(name: "§4.2 stale at exactly the lifetime", response: [("Cache-Control", "max-age=100")], now: 100, expected: .mustRevalidate(.stale)),
        Case(name: "§4.2.3 the Age header counts toward staleness", response: [("Cache-Control", "max-age=100"), ("Age", "90")], now: 20,
             expected: .mustRevalidate(.stale)),
        Case(name: "§5.2.1.4 request no-cache forces validation", response: [("Cache-Control", "max-age=100")], request: [("Cache-Control", "no-cache")],
             now: 1, expected: .mustRevalidate(.requestNoCache)),
        Case(name: "§5.4 Pragma: no-cache without Cache-Control counts as no-cache", response: [("Cache-Control", "max-age=100")],
             request: [("Pragma", "no-cache")], now: 1, expected: .mustRevalidate(.requestNoCache)),
        Case(name: "§5.4 Pragma is ignored when the request has Cache-Control", response: [("Cache-Control", "max-age=100")],
             request: [("Pragma", "no-cache"), ("Cache-Control", "max-stale")], now: 1, expected: .fresh(currentAge: 1, timeToLive: 99)),
        Case(name: "§5.4 Pragma in a response is ignored", response: [("Cache-Control", "max-age=100"), ("Pragma", "no-cache")], now: 1,
             expected: .fresh(currentAge: 1, timeToLive: 99)),
        Case(name: "§5.2.2.4 response no-cache forces validation even when fresh", response: [("Cache-Control", "no-cache, max-age=100"), ("ETag", "\"a\"")],
             now: 1, expected: .mustRevalidate(.responseNoCache)),
        Case(name: "§5.2.2.4 qualified no-cache does not force validation", response: [("Cache-Control", "no-cache=\"X-A\", max-age=100")],
             now: 1, expected: .fresh(currentAge: 1, timeToLive: 99)),
        Case(name: "§5.2.1.1 request max-age older than allowed", response: [("Cache-Control", "max-age=100")], request: [("Cache-Control", "max-age=10")],
             now: 20, expected: .mustRevalidate(.requestMaxAge)),
        Case(name: "§5.2.1.1 request max-age=0 always validates", response: [("Cache-Control", "max-age=100")], request: [("Cache-Control", "max-age=0")],
             now: 1, expected: .mustRevalidate(.requestMaxAge)),
        Case(name: "§5.2.1.1 request max-age within the limit", response: [("Cache-Control", "max-age=100")], request: [("Cache-Control", "max-age=30")],
             now: 20, expected: .fresh(currentAge: 20, timeToLive: 80)),
        Case(name: "§5.2.1.3 min-fresh not met", response: [("Cache-Control", "max-age=100")], request: [("Cache-Control", "min-fresh=50")],
             now: 60, expected: .mustRevalidate(.requestMinFresh)),
        Case(name: "§5.2.1.3 min-fresh met", response: [("Cache-Control", "max-age=100")], request: [("Cache-Control", "min-fresh=50")],
             now: 40, expected: .fresh(currentAge: 40, timeToLive: 60)),
        Case(name: "§5.2.1.2 max-stale without value accepts any staleness", response: [("Cache-Control", "max-age=10")], request: [("Cache-Control", "max-stale")],
             now: 1000, expected: .staleWhileRevalidate(currentAge: 1000, staleness: 990, permission: .requestMaxStale)),
        Case(name: "§5.2.1.2 max-stale=N within N", response: [("Cache-Control", "max-age=10")], request: [("Cache-Control", "max-stale=30")],
             now: 35, expected: .staleWhileRevalidate(currentAge: 35, staleness: 25, permission: .requestMaxStale)),
        Case(name: "§5.2.1.2 max-stale=N past N", response: [("Cache-Control", "max-age=10")], request: [("Cache-Control", "max-stale=30")],
             now: 45, expected: .mustRevalidate(.stale)),
        Case(name: "§5.2.2.2 must-revalidate forbids max-stale", response: [("Cache-Control", "max-age=10, must-revalidate")],
             request: [("Cache-Control", "max-stale")], now: 20, expected: .mustRevalidate(.mustRevalidate)),
        Case(name: "§5.2.2.8 proxy-revalidate forbids stale-while-revalidate", response: [("Cache-Control", "max-age=10, proxy-revalidate, stale-while-revalidate=60")],
             now: 20, expected: .mustRevalidate(.mustRevalidate)),
        Case(name: "§5.2.2.10 s-maxage implies proxy-revalidate", response: [("Cache-Control", "s-maxage=10, stale-while-revalidate=60")],
             settings: RuleSettings(grace: 600), now: 20, expected: .mustRevalidate(.mustRevalidate)),
        Case(name: "RFC 5861 §3 stale-while-revalidate inside the window", response: [("Cache-Control", "max-age=10, stale-while-revalidate=60")],
             now: 50, expected: .staleWhileRevalidate(currentAge: 50, staleness: 40, permission: .staleWhileRevalidate)),
        Case(name: "RFC 5861 §3 stale-while-revalidate past the window", response: [("Cache-Control", "max-age=10, stale-while-revalidate=60")],
             now: 71, expected: .mustRevalidate(.stale)),
        Case(name: "§4.2.4 grace serves stale while revalidating", response: [("Cache-Control", "max-age=10")], settings: RuleSettings(grace: 300),
             now: 100, expected: .staleWhileRevalidate(currentAge: 100, staleness: 90, permission: .grace)),
        Case(name: "§4.2.4 grace never applies to a response that was never fresh", response: [("Cache-Control", "max-age=0"), ("ETag", "\"a\"")],
             settings: RuleSettings(grace: 300), now: 5, expected: .mustRevalidate(.stale)),
        Case(name: "§4.2.4 grace does not override must-revalidate", response: [("Cache-Control", "max-age=10, must-revalidate")],
             settings: RuleSettings(grace: 300), now: 100, expected: .mustRevalidate(.mustRevalidate)),
        Case(name: "soft purge makes a fresh response need validation", response: [("Cache-Control", "max-age=1000")], softPurgedAt: 50,
             now: 60, expected: .mustRevalidate(.softPurged)),
        Case(name: "soft purge keeps stale-while-revalidate", response: [("Cache-Control", "max-age=1000, stale-while-revalidate=30")], softPurgedAt: 50,
             now: 60, expected: .staleWhileRevalidate(currentAge: 60, staleness: 10, permission: .staleWhileRevalidate)),
        Case(name: "a soft purge in the future changes nothing", response: [("Cache-Control", "max-age=1000")], softPurgedAt: 500,
             now: 60, expected: .fresh(currentAge: 60, timeToLive: 940)),
    ]

    @Test("§4 reuse verdict table", arguments: cases)
    func verdict(testCase: Case) {
        var response = cached(200)
        for (name, value) in testCase.response { response.fields.add(name, value) }
        response.softPurgedAt = testCase.softPurgedAt.map(at)
        let verdict = Reuse.verdict(cached: response, request: HeaderFields(testCase.request), settings: testCase.settings, now: at(testCase.now))
        #expect(verdict == testCase.expected)
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        let name: String
        let response: String
        var request: [(String, String)] = []
        var settings = RuleSettings()
        let now: Double
        let expected: StaleIfErrorVerdict
        var testDescription: String { name }
    }

    @Test("RFC 5861 §4 stale-if-error", arguments: [
        ErrorCase(name: "response stale-if-error inside the window", response: "max-age=10, stale-if-error=100", now: 60, expected: .allowed(staleness: 50)),
        ErrorCase(name: "response stale-if-error past the window", response: "max-age=10, stale-if-error=100", now: 111, expected: .forbidden(.stale)),
        ErrorCase(name: "request stale-if-error", response: "max-age=10", request: [("Cache-Control", "stale-if-error=100")], now: 60,
                  expected: .allowed(staleness: 50)),
        ErrorCase(name: "request max-stale", response: "max-age=10", request: [("Cache-Control", "max-stale")], now: 6000, expected: .allowed(staleness: 5990)),
        ErrorCase(name: "grace", response: "max-age=10", settings: RuleSettings(grace: 3600), now: 600, expected: .allowed(staleness: 590)),
        ErrorCase(name: "nothing allows it", response: "max-age=10", now: 60, expected: .forbidden(.stale)),
        ErrorCase(name: "must-revalidate forbids it", response: "max-age=10, must-revalidate, stale-if-error=100", now: 60, expected: .forbidden(.mustRevalidate)),
        ErrorCase(name: "proxy-revalidate forbids it", response: "max-age=10, proxy-revalidate", settings: RuleSettings(grace: 3600), now: 60,
                  expected: .forbidden(.mustRevalidate)),
        ErrorCase(name: "s-maxage forbids it", response: "s-maxage=10, stale-if-error=100", now: 60, expected: .forbidden(.mustRevalidate)),
        ErrorCase(name: "no-cache forbids it", response: "no-cache, max-age=10, stale-if-error=100", now: 60, expected: .forbidden(.responseNoCache)),
        ErrorCase(name: "a fresh response may be served when a forced validation fails", response: "max-age=100", request: [("Cache-Control", "no-cache")],
                  now: 10, expected: .allowed(staleness: 0)),
    ])
    func staleIfError(testCase: ErrorCase) {
        let response = cached(200, ("Cache-Control", testCase.response))
        let verdict = Reuse.staleIfError(cached: response, request: HeaderFields(testCase.request), settings: testCase.settings, now: at(testCase.now))
        #expect(verdict == testCase.expected)
    }

    @Test("RFC 5861 §4 errors are 500, 502, 503 and 504")
    func originErrors() {
        #expect([500, 502, 503, 504].allSatisfy(Reuse.isOriginError))
        #expect(![200, 404, 501, 505, 429].contains(where: Reuse.isOriginError))
    }

    @Test("§5.2.1.7 only-if-cached: a verdict that needs the origin becomes a 504")
    func onlyIfCached() {
        #expect(Reuse.requiresOnlyIfCached(fields(("Cache-Control", "only-if-cached"))))
        #expect(!Reuse.requiresOnlyIfCached(fields(("Cache-Control", "max-stale"))))
        #expect(ReuseVerdict.fresh(currentAge: 1, timeToLive: 1).servesStoredResponse)
        #expect(ReuseVerdict.staleWhileRevalidate(currentAge: 1, staleness: 1, permission: .grace).servesStoredResponse)
        #expect(!ReuseVerdict.mustRevalidate(.stale).servesStoredResponse)
        #expect(NotCachedReason.onlyIfCachedMiss.detail == "only-if-cached")
    }

    @Test("§4.2.4 expiry: fresh until the lifetime ends, usable stale for the longest window")
    func expiry() {
        let response = cached(200, ("Cache-Control", "max-age=100, stale-while-revalidate=50, stale-if-error=500"), ("Age", "10"))
        let (freshUntil, staleUsableUntil) = Reuse.expiry(cached: response, settings: RuleSettings(grace: 60))
        #expect(freshUntil == at(90))
        #expect(staleUsableUntil == at(590))
        let strict = cached(200, ("Cache-Control", "max-age=100, must-revalidate, stale-if-error=500"))
        #expect(Reuse.expiry(cached: strict, settings: RuleSettings(grace: 60)).staleUsableUntil == at(100))
    }
}
