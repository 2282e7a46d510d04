@testable import CachePolicy
import Testing

@Suite("RFC 9111 §5.2 Cache-Control parsing")
struct CacheControlTests {
    @Test("§5.2 directive names are case-insensitive and both argument forms are accepted")
    func namesAndForms() {
        let control = CacheControl(fieldValues: [#"MAX-AGE="60", Public, No-Cache="Set-Cookie, X-Secret""#])
        #expect(control.maxAge == .seconds(60))
        #expect(control.public)
        #expect(control.noCache == .fields(["set-cookie", "x-secret"]))
        // Looked up in any case too, and a name that only shares a prefix is another directive.
        #expect(control.contains("PUBLIC") && control.contains("max-age"))
        #expect(!control.contains("max") && !control.contains("private"))
        #expect(control.arguments("Max-Age") == ["60"] && control.arguments("no-store").isEmpty)
        #expect(CacheControl(fieldValues: ["max-age=1, MAX-AGE=2"]).arguments("max-age") == ["1", "2"])
    }

    @Test("a line without quotes read over its bytes gives exactly the directives the general path gives")
    func unquotedLinesAsTheGeneralPath() {
        let pieces = ["max-age", "MAX-AGE", "=", "60", ",", ", ", " ", "\t", "public", "No-Cache", "a b", "é", "x=y=z",
                      "=5", ",,", "s-maxage =  10 ", "private=Set-Cookie", "!#$%&'*+-.^_`|~", ";", "()", "\\"]
        var generator = SystemRandomNumberGenerator()
        var lines = ["", ",", "max-age=60", " public , max-age = 60 ,", "no-store,,no-cache", "=", "a=", "=b"]
        for _ in 0..<3000 {
            lines.append((0..<Int.random(in: 1...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined())
        }
        for line in lines {
            var fast: [CacheControl.Directive] = [], general: [CacheControl.Directive] = []
            #expect(CacheControl.appendUnquoted(line, to: &fast))
            CacheControl.appendDirectives(of: line, to: &general)
            #expect(fast == general, "\(line)")
        }
        // A quoted argument takes the general path.
        var none: [CacheControl.Directive] = []
        #expect(!CacheControl.appendUnquoted(#"no-cache="a, b""#, to: &none) && none.isEmpty)
    }

    struct SecondsCase: Sendable, CustomTestStringConvertible {
        let lines: [String]
        let expected: DirectiveSeconds?
        var testDescription: String { lines.joined(separator: " | ") }
    }

    @Test("§1.2.2 §4.2.1 malformed, negative and conflicting values are invalid; overflow is 2^31", arguments: [
        SecondsCase(lines: ["max-age=60"], expected: .seconds(60)),
        SecondsCase(lines: ["max-age=60", "max-age=60"], expected: .seconds(60)),
        SecondsCase(lines: ["max-age=60, max-age=120"], expected: .invalid),
        SecondsCase(lines: ["max-age=-1"], expected: .invalid),
        SecondsCase(lines: ["max-age=abc"], expected: .invalid),
        SecondsCase(lines: ["max-age=1.5"], expected: .invalid),
        SecondsCase(lines: ["max-age"], expected: .invalid),
        SecondsCase(lines: ["max-age="], expected: .invalid),
        SecondsCase(lines: ["max-age=99999999999999999999"], expected: .seconds(2_147_483_648)),
        SecondsCase(lines: ["max-age=2147483649"], expected: .seconds(2_147_483_648)),
        SecondsCase(lines: ["no-store"], expected: nil),
    ])
    func deltaSeconds(testCase: SecondsCase) {
        #expect(CacheControl(fieldValues: testCase.lines).maxAge == testCase.expected)
    }

    @Test("§5.2.3 unknown directives are kept but change nothing")
    func unknownDirectives() {
        let control = CacheControl(fieldValues: ["community=\"UCI\", max-age=5, x-thing"])
        #expect(control.contains("community"))
        #expect(control.arguments("community") == ["UCI"])
        #expect(control.maxAge == .seconds(5))
        #expect(!control.noStore && !control.public)
    }

    @Test("§5.2.1 request directives")
    func requestDirectives() {
        let control = CacheControl(fieldValues: ["max-stale, min-fresh=10", "only-if-cached, no-transform, stale-if-error=30"])
        #expect(control.maxStale == .any)
        #expect(control.minFresh == .seconds(10))
        #expect(control.onlyIfCached && control.noTransform)
        #expect(control.staleIfError == .seconds(30))
        #expect(CacheControl(fieldValues: ["max-stale=20"]).maxStale == .seconds(20))
        #expect(CacheControl(fieldValues: ["max-stale=x"]).maxStale == .invalid)
        #expect(CacheControl(fieldValues: ["max-age=0"]).maxAge == .seconds(0))
    }

    @Test("§5.2.2 response directives")
    func responseDirectives() {
        let control = CacheControl(fieldValues: [
            "s-maxage=30, must-revalidate, proxy-revalidate, must-understand, immutable, private=\"Set-Cookie\"",
            "stale-while-revalidate=10, stale-if-error=20, no-store",
        ])
        #expect(control.sharedMaxAge == .seconds(30))
        #expect(control.mustRevalidate && control.proxyRevalidate && control.mustUnderstand && control.immutable)
        #expect(control.private == .fields(["set-cookie"]))
        #expect(control.staleWhileRevalidate == .seconds(10))
        #expect(control.staleIfError == .seconds(20))
        #expect(control.noStore)
        #expect(control.forbidsStaleForSharedCache)
        #expect(CacheControl(fieldValues: ["private, private=\"a\""]).private == .unqualified)
        #expect(CacheControl(fieldValues: ["no-cache=Set-Cookie"]).noCache == .fields(["set-cookie"]))
    }

    @Test("§5.2 commas inside quoted strings do not split directives")
    func quotedCommas() {
        let control = CacheControl(fieldValues: [#"private="a, b", max-age=3"#])
        #expect(control.private == .fields(["a", "b"]))
        #expect(control.maxAge == .seconds(3))
        #expect(control.directives.count == 2)
    }
}
