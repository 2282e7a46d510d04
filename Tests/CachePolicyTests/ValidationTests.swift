import CachePolicy
import Testing

@Suite("RFC 9111 §4.3 validation, §3.2 updating stored fields, §4.3.5 HEAD")
struct ValidationTests {
    @Test("§4.3.1 conditional request: If-None-Match with the stored ETags, If-Modified-Since with Last-Modified")
    func conditionalFields() {
        let first = fields(("ETag", "\"v1\""), ("Last-Modified", date(-3600)))
        let second = fields(("ETag", "W/\"v2\""))
        let result = Validation.conditionalFields(stored: [first, second, first])
        #expect(result["If-None-Match"] == "\"v1\", W/\"v2\"")
        #expect(result["If-Modified-Since"] == date(-3600))
    }

    @Test("RFC 9110 §13.1.3 Date is not used in place of a missing Last-Modified")
    func noDateFallback() {
        let result = Validation.conditionalFields(stored: [fields(("Date", date(0)))])
        #expect(result.isEmpty)
    }

    @Test("§3.2 a 304 updates stored fields except framing ones, and refreshes Date and Age")
    func updatedFields() {
        let stored = fields(("Date", date(0)), ("Cache-Control", "max-age=60"), ("ETag", "\"v1\""), ("Content-Length", "1234"),
                            ("Content-Encoding", "gzip"), ("Content-Type", "text/html"), ("Age", "30"), ("X-Old", "kept"))
        let notModified = fields(("Cache-Control", "max-age=600"), ("ETag", "\"v1\""), ("Content-Length", "0"),
                                 ("Content-Encoding", "br"), ("X-New", "added"), ("Connection", "close, X-Hop"), ("X-Hop", "1"))
        let merged = Validation.updatedFields(stored: stored, update: notModified, responseTime: at(500))
        #expect(merged["Cache-Control"] == "max-age=600")
        #expect(merged["Content-Length"] == "1234")
        #expect(merged["Content-Encoding"] == "gzip")
        #expect(merged["X-New"] == "added")
        #expect(merged["X-Old"] == "kept")
        #expect(merged["Age"] == nil)
        #expect(merged["Date"] == date(500))
        #expect(!merged.contains("Connection") && !merged.contains("X-Hop"))
        let withAge = Validation.updatedFields(stored: stored, update: fields(("Age", "3"), ("Date", date(498))), responseTime: at(500))
        #expect(withAge["Age"] == "3" && withAge["Date"] == date(498))
    }

    @Test("§3.2 fields named by private=/no-cache= in the merged directives are not stored")
    func updatedFieldsOmitted() {
        let stored = fields(("Cache-Control", "max-age=60"), ("X-User", "alice"))
        let merged = Validation.updatedFields(stored: stored, update: fields(("Cache-Control", "max-age=60, private=\"X-User\"")), responseTime: origin)
        #expect(!merged.contains("X-User"))
    }

    struct SelectionCase: Sendable, CustomTestStringConvertible {
        let name: String
        let notModified: [(String, String)]
        let stored: [[(String, String)]]
        let expected: [Int]
        var testDescription: String { name }
    }

    @Test("§4.3.4 which stored responses a 304 updates", arguments: [
        SelectionCase(name: "strong ETag: every stored response with it", notModified: [("ETag", "\"a\"")],
                      stored: [[("ETag", "\"a\"")], [("ETag", "\"b\"")], [("ETag", "\"a\"")]], expected: [0, 2]),
        SelectionCase(name: "strong ETag never matches a weak stored one", notModified: [("ETag", "\"a\"")],
                      stored: [[("ETag", "W/\"a\"")]], expected: []),
        SelectionCase(name: "weak ETag: the most recent match", notModified: [("ETag", "W/\"a\"")],
                      stored: [[("ETag", "W/\"a\"")], [("ETag", "\"a\"")], [("ETag", "\"b\"")]], expected: [1]),
        SelectionCase(name: "Last-Modified only: the most recent match", notModified: [("Last-Modified", date(-100))],
                      stored: [[("Last-Modified", date(-100))], [("Last-Modified", date(-50))]], expected: [0]),
        SelectionCase(name: "no validator, one stored response without one", notModified: [], stored: [[("X", "1")]], expected: [0]),
        SelectionCase(name: "no validator, stored response has one", notModified: [], stored: [[("ETag", "\"a\"")]], expected: []),
        SelectionCase(name: "no validator, several stored responses", notModified: [], stored: [[("X", "1")], [("X", "2")]], expected: []),
    ])
    func selection(testCase: SelectionCase) {
        let stored = testCase.stored.enumerated().map { index, pairs in
            CachedResponse(status: 200, fields: HeaderFields(pairs), requestTime: at(Double(index)), responseTime: at(Double(index)))
        }
        #expect(Validation.responsesToUpdate(notModified: HeaderFields(testCase.notModified), stored: stored) == testCase.expected)
    }

    struct HeadCase: Sendable, CustomTestStringConvertible {
        let name: String
        let head: [(String, String)]
        let updates: Bool
        var testDescription: String { name }
    }

    @Test("§4.3.5 a HEAD response freshens a stored GET only when its validators and length match", arguments: [
        HeadCase(name: "same ETag and length", head: [("ETag", "\"a\""), ("Content-Length", "10"), ("Cache-Control", "max-age=99")], updates: true),
        HeadCase(name: "same Last-Modified, no length", head: [("Last-Modified", date(-100))], updates: true),
        HeadCase(name: "different ETag", head: [("ETag", "\"b\""), ("Content-Length", "10")], updates: false),
        HeadCase(name: "different length", head: [("ETag", "\"a\""), ("Content-Length", "11")], updates: false),
        HeadCase(name: "different Last-Modified", head: [("ETag", "\"a\""), ("Last-Modified", date(-1))], updates: false),
        HeadCase(name: "no validator at all", head: [("Content-Length", "10")], updates: false),
    ])
    func head(testCase: HeadCase) {
        let stored = fields(("ETag", "\"a\""), ("Last-Modified", date(-100)), ("Content-Length", "10"), ("Cache-Control", "max-age=1"))
        switch HeadResponse.effect(stored: stored, head: HeaderFields(testCase.head), responseTime: origin) {
        case .update(let merged):
            #expect(testCase.updates)
            #expect(merged["Content-Length"] == "10")
            if testCase.head.contains(where: { $0.0 == "Cache-Control" }) { #expect(merged["Cache-Control"] == "max-age=99") }
        case .markStale:
            #expect(!testCase.updates)
        }
    }

    @Test("RFC 9110 §9.3.2 HEAD is answered from a stored GET with the same fields")
    func headFromGet() {
        let stored = fields(("Content-Length", "10"), ("ETag", "\"a\""))
        #expect(HeadResponse.fields(fromStoredGet: stored) == stored)
        #expect(MethodClass(method: "HEAD") == MethodClass(method: "GET"))
    }

    @Test("§4.3.4 a 304 to the node's own conditional: with no validator it answers for the response asked about; with another validator it selects nothing")
    func notModifiedSelects() {
        let withTag = cached(200, ("ETag", "\"v1\""), ("Cache-Control", "no-cache"))
        let withDate = cached(200, ("Last-Modified", date(-3600)))
        #expect(Validation.notModifiedSelects(fields(), validated: withTag))
        #expect(Validation.notModifiedSelects(fields(("Cache-Control", "max-age=60")), validated: withDate))
        #expect(Validation.notModifiedSelects(fields(("ETag", "\"v1\"")), validated: withTag))
        #expect(Validation.notModifiedSelects(fields(("ETag", "W/\"v1\"")), validated: withTag))
        #expect(!Validation.notModifiedSelects(fields(("ETag", "\"v2\"")), validated: withTag))
        #expect(Validation.notModifiedSelects(fields(("Last-Modified", date(-3600))), validated: withDate))
        #expect(!Validation.notModifiedSelects(fields(("Last-Modified", date(-60))), validated: withDate))
    }
}
