import CachePolicy
import Testing

@Suite("RFC 9111 §4.2 freshness and age")
struct FreshnessTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var status = 200
        let response: [(String, String)]
        var settings = RuleSettings()
        let seconds: Double
        let source: FreshnessLifetime.Source
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "§4.2.1 s-maxage wins over max-age for a shared cache", response: [("Cache-Control", "max-age=60, s-maxage=600")], seconds: 600, source: .sharedMaxAge),
        Case(name: "§4.2.1 max-age wins over Expires", response: [("Cache-Control", "max-age=60"), ("Expires", date(3600))], seconds: 60, source: .maxAge),
        Case(name: "§4.2.1 Expires minus Date", response: [("Expires", date(3600))], seconds: 3600, source: .expires),
        Case(name: "§5.3 Expires: 0 is already expired", response: [("Expires", "0")], seconds: 0, source: .expires),
        Case(name: "§5.3 garbage Expires is already expired", response: [("Expires", "soon")], seconds: 0, source: .expires),
        Case(name: "§4.2.1 two differing Expires lines are stale", response: [("Expires", date(60)), ("Expires", date(120))], seconds: 0, source: .expires),
        Case(name: "§4.2.1 Expires before Date is zero, not negative", response: [("Expires", date(-60))], seconds: 0, source: .expires),
        Case(name: "§4.2.1 invalid max-age is stale, not forever", response: [("Cache-Control", "max-age=forever"), ("Expires", date(3600))], seconds: 0, source: .maxAge),
        Case(name: "§4.2.1 conflicting max-age is stale", response: [("Cache-Control", "max-age=60"), ("Cache-Control", "max-age=3600")], seconds: 0, source: .maxAge),
        Case(name: "§4.2.1 invalid s-maxage is stale", response: [("Cache-Control", "s-maxage=-5, max-age=60")], seconds: 0, source: .sharedMaxAge),
        Case(name: "§1.2.2 an overflowing max-age is 2^31", response: [("Cache-Control", "max-age=9999999999999")], seconds: 2_147_483_648, source: .maxAge),
        Case(name: "§4.2.2 no heuristic unless the rules allow one", response: [("Last-Modified", date(-100_000))], seconds: 0, source: .none),
        Case(name: "§4.2.2 heuristic: 10% of Date − Last-Modified", response: [("Last-Modified", date(-100_000))],
             settings: RuleSettings(heuristicFraction: 0.1), seconds: 10_000, source: .heuristic),
        Case(name: "§4.2.2 heuristic is capped by the rules", response: [("Last-Modified", date(-10_000_000))],
             settings: RuleSettings(heuristicFraction: 0.1, heuristicCap: 3600), seconds: 3600, source: .heuristic),
        Case(name: "§4.2.2 no heuristic for a status that is not heuristically cacheable", status: 302, response: [("Last-Modified", date(-100_000))],
             settings: RuleSettings(heuristicFraction: 0.1), seconds: 0, source: .none),
        Case(name: "§4.2.2 public allows a heuristic for any status", status: 302, response: [("Cache-Control", "public"), ("Last-Modified", date(-100_000))],
             settings: RuleSettings(heuristicFraction: 0.1), seconds: 10_000, source: .heuristic),
        Case(name: "rules: default TTL only when the response gives none", response: [], settings: RuleSettings(defaultTTL: 30), seconds: 30, source: .defaultRule),
        Case(name: "rules: default TTL does not override max-age", response: [("Cache-Control", "max-age=5")], settings: RuleSettings(defaultTTL: 30), seconds: 5, source: .maxAge),
        Case(name: "§4.2.2 heuristic: 10% of Date - Last-Modified", response: [("Last-Modified", date(-10_000))], settings: RuleSettings(heuristicFraction: 0.1), seconds: 1_000, source: .heuristic),
        Case(name: "no heuristic and no default TTL for an error, which the request may have caused (CPDoS)", status: 404, response: [("Last-Modified", date(-10_000))], settings: RuleSettings(heuristicFraction: 0.1, defaultTTL: 30), seconds: 0, source: .none),
        Case(name: "rules: negative caching TTL per status", status: 404, response: [], settings: RuleSettings(statusTTLs: [404: 60]), seconds: 60, source: .statusRule),
        Case(name: "rules: forced TTL replaces the response's own", response: [("Cache-Control", "max-age=5")], settings: RuleSettings(forceTTL: 900, maxTTL: 10), seconds: 900, source: .forced),
        Case(name: "rules: maxTTL caps", response: [("Cache-Control", "max-age=86400")], settings: RuleSettings(maxTTL: 300), seconds: 300, source: .maxAge),
    ]

    @Test("§4.2.1 freshness lifetime table", arguments: cases)
    func lifetime(testCase: Case) {
        let response = HeaderFields([("Date", date(0))] + testCase.response)
        let lifetime = Freshness.lifetime(status: testCase.status, response: response, responseTime: origin, settings: testCase.settings)
        #expect(lifetime.seconds == testCase.seconds)
        #expect(lifetime.source == testCase.source)
    }

    @Test("§4.2.1 without Date, Expires counts from the time the response was received")
    func expiresWithoutDate() {
        let lifetime = Freshness.lifetime(status: 200, response: fields(("Expires", date(100))), responseTime: at(40), settings: RuleSettings())
        #expect(lifetime.seconds == 60)
    }

    @Test("§4.2.1 a capped lifetime says so")
    func capped() {
        let lifetime = Freshness.lifetime(status: 200, response: fields(("Cache-Control", "max-age=100")), responseTime: origin,
                                          settings: RuleSettings(maxTTL: 10))
        #expect(lifetime.capped && lifetime.isExplicit)
    }

    struct AgeCase: Sendable, CustomTestStringConvertible {
        let name: String
        let dateOffset: Double?
        let ageField: String?
        let requestOffset: Double
        let responseOffset: Double
        let nowOffset: Double
        let apparent: Double
        let corrected: Double
        let current: Double
        var testDescription: String { name }
    }

    @Test("§4.2.3 age calculation", arguments: [
        AgeCase(name: "clock skew: Date in the future gives apparent age 0", dateOffset: 50, ageField: nil, requestOffset: 0, responseOffset: 2,
                nowOffset: 12, apparent: 0, corrected: 2, current: 12),
        AgeCase(name: "apparent age from Date", dateOffset: -30, ageField: nil, requestOffset: 0, responseOffset: 1, nowOffset: 1,
                apparent: 31, corrected: 1, current: 31),
        AgeCase(name: "Age header plus response delay", dateOffset: 0, ageField: "100", requestOffset: 0, responseOffset: 3, nowOffset: 10,
                apparent: 3, corrected: 103, current: 110),
        AgeCase(name: "invalid Age header is ignored", dateOffset: 0, ageField: "-5", requestOffset: 0, responseOffset: 0, nowOffset: 7,
                apparent: 0, corrected: 0, current: 7),
        AgeCase(name: "non-numeric Age header is ignored", dateOffset: 0, ageField: "old", requestOffset: 0, responseOffset: 0, nowOffset: 7,
                apparent: 0, corrected: 0, current: 7),
        AgeCase(name: "§5.1 a list-based Age uses its first member", dateOffset: 0, ageField: "7200, 0", requestOffset: 0,
                responseOffset: 0, nowOffset: 0, apparent: 0, corrected: 7200, current: 7200),
        AgeCase(name: "§5.1 a list whose first member is invalid is ignored", dateOffset: 0, ageField: "x, 50", requestOffset: 0,
                responseOffset: 0, nowOffset: 0, apparent: 0, corrected: 0, current: 0),
        AgeCase(name: "missing Date: the response time stands in", dateOffset: nil, ageField: "20", requestOffset: 0, responseOffset: 0,
                nowOffset: 5, apparent: 0, corrected: 20, current: 25),
    ])
    func age(testCase: AgeCase) {
        var response = HeaderFields()
        if let dateOffset = testCase.dateOffset { response.add("Date", date(dateOffset)) }
        if let ageField = testCase.ageField { response.add("Age", ageField) }
        let age = ResponseAge(response: response, requestTime: at(testCase.requestOffset), responseTime: at(testCase.responseOffset))
        #expect(age.apparentAge == testCase.apparent)
        #expect(age.correctedAgeValue == testCase.corrected)
        #expect(age.correctedInitialAge == max(testCase.apparent, testCase.corrected))
        #expect(age.currentAge(now: at(testCase.nowOffset)) == testCase.current)
    }

    @Test("§5.1 the Age sent with a stored response is whole seconds, never negative, at most 2^31")
    func ageFieldValue() {
        #expect(ResponseAge.fieldValue(currentAge: 12.9) == "12")
        #expect(ResponseAge.fieldValue(currentAge: -3) == "0")
        #expect(ResponseAge.fieldValue(currentAge: 1e12) == "2147483648")
    }

    @Test("§5.1 Age: 7200, 0 with max-age=3600 is stale (the first member counts)")
    func ageListMakesStale() {
        let response = fields(("Date", date(0)), ("Cache-Control", "max-age=3600"), ("Age", "7200, 0"))
        let age = ResponseAge(response: response, requestTime: at(0), responseTime: at(0))
        let lifetime = Freshness.lifetime(status: 200, response: response, responseTime: at(0), settings: RuleSettings())
        #expect(age.currentAge(now: at(0)) > lifetime.seconds)
    }
}
