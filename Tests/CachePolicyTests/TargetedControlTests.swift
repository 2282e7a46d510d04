import CachePolicy
import Testing

@Suite("RFC 9213 targeted cache control and Surrogate-Control")
struct TargetedControlTests {
    struct PrecedenceCase: Sendable, CustomTestStringConvertible {
        let name: String
        let response: [String: String]
        let source: ResponseDirectives.Source
        let maxAge: DirectiveSeconds?
        var testDescription: String { name }
    }

    @Test("§2.1 the first valid targeted field wins and Cache-Control is ignored", arguments: [
        PrecedenceCase(name: "node field over all", response: ["Outpost-Cache-Control": "max-age=5", "CDN-Cache-Control": "max-age=50",
                                                              "Surrogate-Control": "max-age=500", "Cache-Control": "max-age=5000"],
                       source: .nodeField, maxAge: .seconds(5)),
        PrecedenceCase(name: "CDN-Cache-Control over Surrogate-Control", response: ["CDN-Cache-Control": "max-age=50",
                                                                               "Surrogate-Control": "max-age=500", "Cache-Control": "no-store"],
                       source: .cdnCacheControl, maxAge: .seconds(50)),
        PrecedenceCase(name: "Surrogate-Control over Cache-Control", response: ["Surrogate-Control": "max-age=500", "Cache-Control": "max-age=5000"],
                       source: .surrogateControl, maxAge: .seconds(500)),
        PrecedenceCase(name: "invalid CDN-Cache-Control is ignored", response: ["CDN-Cache-Control": "max-age=\"unterminated", "Cache-Control": "max-age=5000"],
                       source: .cacheControl, maxAge: .seconds(5000)),
        PrecedenceCase(name: "empty CDN-Cache-Control is ignored", response: ["CDN-Cache-Control": "", "Cache-Control": "max-age=7"],
                       source: .cacheControl, maxAge: .seconds(7)),
        PrecedenceCase(name: "upper-case sf keys make the field invalid", response: ["CDN-Cache-Control": "Max-Age=9", "Cache-Control": "max-age=7"],
                       source: .cacheControl, maxAge: .seconds(7)),
        PrecedenceCase(name: "Surrogate-Control for another device is ignored", response: ["Surrogate-Control": "max-age=60;other", "Cache-Control": "max-age=7"],
                       source: .cacheControl, maxAge: .seconds(7)),
        PrecedenceCase(name: "Surrogate-Control for this device applies", response: ["Surrogate-Control": "max-age=60;outpost", "Cache-Control": "max-age=7"],
                       source: .surrogateControl, maxAge: .seconds(60)),
        PrecedenceCase(name: "Surrogate-Control content=\"ESI/1.0\" alone leaves Cache-Control in charge",
                       response: ["Surrogate-Control": "content=\"ESI/1.0\"", "Cache-Control": "max-age=60"],
                       source: .cacheControl, maxAge: .seconds(60)),
        PrecedenceCase(name: "Surrogate-Control no-store applies", response: ["Surrogate-Control": "no-store", "Cache-Control": "max-age=60"],
                       source: .surrogateControl, maxAge: nil),
    ])
    func precedence(testCase: PrecedenceCase) {
        let response = HeaderFields(testCase.response.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        let directives = ResponseDirectives(response)
        #expect(directives.source == testCase.source)
        #expect(directives.control.maxAge == testCase.maxAge)
    }

    @Test("§2.1 a targeted field makes Expires irrelevant")
    func expiresIgnored() {
        let response = fields(("Date", date(0)), ("Expires", date(3600)), ("CDN-Cache-Control", "no-cache"))
        #expect(!ResponseDirectives(response).usesExpires)
        let lifetime = Freshness.lifetime(status: 200, response: response, responseTime: origin, settings: RuleSettings())
        #expect(lifetime.source == .none && lifetime.seconds == 0)
        #expect(ResponseDirectives(fields(("Expires", date(3600)))).usesExpires)
    }

    @Test("§2.1 targeted fields are dictionaries: booleans, strings and integers map to directives")
    func dictionaryValues() {
        let control = ResponseDirectives(fields(("CDN-Cache-Control", #"max-age=60, private="set-cookie", no-store=?0, public"#))).control
        #expect(control.maxAge == .seconds(60))
        #expect(control.private == .fields(["set-cookie"]))
        #expect(!control.noStore)
        #expect(control.public)
    }

    @Test("Surrogate-Control max-age=N+M gives M seconds of stale-if-error")
    func surrogateExtension() {
        let control = ResponseDirectives(fields(("Surrogate-Control", "max-age=30+60, no-store-remote"))).control
        #expect(control.maxAge == .seconds(30))
        #expect(control.staleIfError == .seconds(60))
    }

    @Test("§2 the node field and Surrogate-Control are stripped; CDN-Cache-Control is forwarded")
    func strippedFields() {
        let targeting = TargetedFields(nodeFieldName: "Edge-Control")
        #expect(targeting.fieldsToStrip == ["Edge-Control", "Surrogate-Control"])
        #expect(!TargetedFields().fieldsToStrip.contains("CDN-Cache-Control"))
        let directives = ResponseDirectives(fields(("Edge-Control", "max-age=1"), ("Outpost-Cache-Control", "max-age=2")), targeting: targeting)
        #expect(directives.control.maxAge == .seconds(1))
    }
}
