// RFC 9110 §14 range requests and §13.1.5 If-Range, as answered from a stored response.
import CachePolicy
import Testing

@Suite("RFC 9110 §14 byte ranges, §13.1.5 If-Range")
struct ByteRangesTests {
    @Test("§14.1.2 range-specs: first-last, open-ended, suffix; other units and bad syntax are ignored", arguments: [
        ("bytes=0-99", [ByteRanges.Spec.from(0, through: 99)] as [ByteRanges.Spec]?),
        ("bytes=500-", [.from(500, through: nil)]),
        ("bytes=-100", [.suffix(100)]),
        ("bytes=0-9, 5000-5009", [.from(0, through: 9), .from(5000, through: 5009)]),
        ("Bytes=1-2,,", [.from(1, through: 2)]),
        ("items=0-9", nil),
        ("bytes=9-0", nil),
        ("bytes=a-b", nil),
        ("bytes=", nil),
        ("bytes=1", nil),
        ("bytes=--5", nil),
    ])
    func parse(_ value: String, _ expected: [ByteRanges.Spec]?) {
        #expect(ByteRanges.parse(value) == expected)
    }

    @Test("§14.1.2 resolution against a length: clamped ends, suffixes, unsatisfiable sets")
    func resolve() {
        #expect(ByteRanges.resolve([.from(0, through: 99)], length: 1000) == .partial([0...99]))
        #expect(ByteRanges.resolve([.from(900, through: 5000)], length: 1000) == .partial([900...999]))
        #expect(ByteRanges.resolve([.from(990, through: nil)], length: 1000) == .partial([990...999]))
        #expect(ByteRanges.resolve([.suffix(100)], length: 1000) == .partial([900...999]))
        #expect(ByteRanges.resolve([.suffix(5000)], length: 1000) == .partial([0...999]))
        #expect(ByteRanges.resolve([.suffix(0)], length: 1000) == .unsatisfiable)
        #expect(ByteRanges.resolve([.from(1000, through: nil)], length: 1000) == .unsatisfiable)
        #expect(ByteRanges.resolve([.from(0, through: nil)], length: 0) == .unsatisfiable)
        // An unsatisfiable member among satisfiable ones is dropped (§14.1.1).
        #expect(ByteRanges.resolve([.from(5000, through: nil), .from(0, through: 1)], length: 1000) == .partial([0...1]))
        // Overlapping ranges and too many ranges: the whole representation (§14.2 MAY ignore).
        #expect(ByteRanges.resolve([.from(0, through: 10), .from(5, through: 20)], length: 1000) == .whole)
        let many = (0..<(ByteRanges.maximumRanges + 1)).map { ByteRanges.Spec.from($0 * 10, through: $0 * 10 + 1) }
        #expect(ByteRanges.resolve(many, length: 1000) == .whole)
    }

    @Test("§14.2 only GET on a stored 200 gets ranges; anything else is answered whole")
    func applicability() {
        let request = fields(("Range", "bytes=0-9"))
        let stored = fields(("ETag", "\"v1\""))
        #expect(ByteRanges.evaluate(method: "GET", request: request, storedStatus: 200, stored: stored, length: 100) == .partial([0...9]))
        #expect(ByteRanges.evaluate(method: "HEAD", request: request, storedStatus: 200, stored: stored, length: 100) == .whole)
        #expect(ByteRanges.evaluate(method: "GET", request: request, storedStatus: 404, stored: stored, length: 100) == .whole)
        #expect(ByteRanges.evaluate(method: "GET", request: fields(), storedStatus: 200, stored: stored, length: 100) == .whole)
        let twice = fields(("Range", "bytes=0-9"), ("Range", "bytes=10-19"))
        #expect(ByteRanges.evaluate(method: "GET", request: twice, storedStatus: 200, stored: stored, length: 100) == .whole)
    }

    @Test("§13.1.5 If-Range: a strong entity-tag match or an exact strong date, else the whole response")
    func ifRange() {
        let stored = fields(("ETag", "\"v1\""), ("Last-Modified", date(-60)), ("Date", date(0)))
        func outcome(_ condition: String) -> ByteRanges.Outcome {
            ByteRanges.evaluate(method: "GET", request: fields(("Range", "bytes=0-9"), ("If-Range", condition)),
                                storedStatus: 200, stored: stored, length: 100)
        }
        #expect(outcome("\"v1\"") == .partial([0...9]))
        #expect(outcome("\"v2\"") == .whole)
        #expect(outcome("W/\"v1\"") == .whole)  // weak tags never match (strong comparison)
        #expect(outcome(date(-60)) == .partial([0...9]))
        #expect(outcome(date(-59)) == .whole)
        // A Last-Modified less than a second before Date is weak: no match.
        let weakDate = fields(("Last-Modified", date(0)), ("Date", date(0)))
        #expect(ByteRanges.evaluate(method: "GET", request: fields(("Range", "bytes=0-9"), ("If-Range", date(0))),
                                    storedStatus: 200, stored: weakDate, length: 100) == .whole)
        #expect(ByteRanges.contentRange(0...9, length: 100) == "bytes 0-9/100")
        #expect(ByteRanges.unsatisfiedRange(length: 100) == "bytes */100")
    }
}
