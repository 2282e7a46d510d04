import CachePolicy
import Testing

@Suite("RFC 9111 §4.1 Vary")
struct VariantsTests {
    struct MatchCase: Sendable, CustomTestStringConvertible {
        let name: String
        let vary: [String]
        let first: [(String, String)]
        let second: [(String, String)]
        let matches: Bool
        var testDescription: String { name }
    }

    @Test("§4.1 two requests match exactly when their Vary'd fields normalise equal", arguments: [
        MatchCase(name: "same value", vary: ["Accept-Language"], first: [("Accept-Language", "en")], second: [("accept-language", "en")], matches: true),
        MatchCase(name: "different value", vary: ["Accept-Language"], first: [("Accept-Language", "en")], second: [("Accept-Language", "fr")], matches: false),
        MatchCase(name: "repeated lines combine", vary: ["Accept"], first: [("Accept", "text/html"), ("Accept", "image/png")],
                  second: [("Accept", "text/html, image/png")], matches: true),
        MatchCase(name: "whitespace around members is trimmed", vary: ["Accept"], first: [("Accept", "text/html ,image/png")],
                  second: [("Accept", "text/html,  image/png")], matches: true),
        MatchCase(name: "absent matches only absent", vary: ["Cookie"], first: [], second: [("Cookie", "")], matches: false),
        MatchCase(name: "absent matches absent", vary: ["Cookie"], first: [("Other", "1")], second: [], matches: true),
        MatchCase(name: "Vary names are case-insensitive and order-free", vary: ["accept-language, ACCEPT"],
                  first: [("Accept", "a"), ("Accept-Language", "b")], second: [("accept-language", "b"), ("accept", "a")], matches: true),
        MatchCase(name: "unvaried fields do not matter", vary: ["Accept"], first: [("Accept", "a"), ("User-Agent", "x")],
                  second: [("Accept", "a"), ("User-Agent", "y")], matches: true),
        MatchCase(name: "member order matters", vary: ["Accept"], first: [("Accept", "a, b")], second: [("Accept", "b, a")], matches: false),
    ])
    func matching(testCase: MatchCase) {
        let first = Variants.secondaryKey(vary: testCase.vary, request: HeaderFields(testCase.first))
        let second = Variants.secondaryKey(vary: testCase.vary, request: HeaderFields(testCase.second))
        #expect(first != nil)
        #expect((first == second) == testCase.matches)
    }

    @Test("§4.1 Vary: * never matches")
    func star() {
        #expect(Variants.secondaryKey(vary: ["Accept", "*"], request: fields(("Accept", "a"))) == nil)
        #expect(Variants.fieldNames(vary: ["*"]) == nil)
    }

    @Test("§4.1 no Vary gives the empty secondary key; the key format is stable")
    func keyFormat() {
        #expect(Variants.secondaryKey(vary: [], request: fields(("Accept", "a"))) == "")
        #expect(Variants.secondaryKey(vary: ["X-B, x-a", "X-B"], request: fields(("X-A", " 1 "), ("X-B", "2"))) == "x-a=1\nx-b=2")
    }

    struct EncodingCase: Sendable {
        let acceptEncoding: [String]
        let expected: String
    }

    @Test("§4.1 Accept-Encoding normalised to br, gzip or identity when the rules ask", arguments: [
        EncodingCase(acceptEncoding: ["gzip, deflate, br"], expected: "br"),
        EncodingCase(acceptEncoding: ["gzip, deflate"], expected: "gzip"),
        EncodingCase(acceptEncoding: ["br;q=0, gzip;q=0.5"], expected: "gzip"),
        EncodingCase(acceptEncoding: ["deflate"], expected: "identity"),
        EncodingCase(acceptEncoding: [], expected: "identity"),
        EncodingCase(acceptEncoding: ["*"], expected: "br"),
        EncodingCase(acceptEncoding: ["*;q=0, gzip"], expected: "gzip"),
        EncodingCase(acceptEncoding: ["x-gzip"], expected: "gzip"),
        EncodingCase(acceptEncoding: ["GZIP;Q=1"], expected: "gzip"),
    ])
    func acceptEncoding(testCase: EncodingCase) {
        let request = HeaderFields(testCase.acceptEncoding.map { ("Accept-Encoding", $0) })
        #expect(Variants.secondaryKey(vary: ["Accept-Encoding"], request: request, normaliseAcceptEncoding: true)
            == "accept-encoding=\(testCase.expected)")
    }
}
