import CachePolicy
import Testing

@Suite("RFC 9110 §5.6.7 HTTP-date")
struct HTTPDateTests {
    // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT (the RFC's example).
    @Test("§5.6.7 the three date forms parse to the same instant", arguments: [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ])
    func threeForms(text: String) {
        #expect(HTTPDate.parse(text) == Timestamp(seconds: 784_111_777))
    }

    @Test("§5.6.7 invalid dates are nil", arguments: [
        "0", "", "garbage", "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "-1", "Thu, 01 Jan 1970 00:00:00",
        // IMF-fixdate's 29 bytes, each wrong in one place:
        "Sux, 06 Nov 1994 08:49:37 GMT", "Sun; 06 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 gmt", "Sun, 06 Nov 1994 08-49-37 GMT", "Sun, 06 Nov 19x4 08:49:37 GMT",
        "Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 06 Nov 1994 08:49:37 GMTX", "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sün, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:3\u{301} GMT",
    ])
    func invalid(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }

    @Test("§5.6.7 IMF-fixdate edges: a leap second, 29 February of a leap year, any listed day name")
    func imfFixdateEdges() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:60 GMT") == Timestamp(seconds: 784_111_800))
        #expect(HTTPDate.parse("Tue, 29 Feb 2000 00:00:00 GMT") == Timestamp(seconds: 951_782_400))
        // The day name is not checked against the date (a sender's mistake, not an invalid date).
        #expect(HTTPDate.parse("Mon, 06 Nov 1994 08:49:37 GMT") == Timestamp(seconds: 784_111_777))
        #expect(HTTPDate.parse("  Sun, 06 Nov 1994 08:49:37 GMT ") == Timestamp(seconds: 784_111_777))
    }

    @Test("§5.6.7 IMF-fixdate is generated and round-trips")
    func format() {
        #expect(HTTPDate.format(Timestamp(seconds: 784_111_777)) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(Timestamp(seconds: 0)) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(Timestamp(seconds: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 GMT")
        for offset in stride(from: -3e8, through: 3e9, by: 7_777_777) {
            let time = Timestamp(seconds: offset)
            #expect(HTTPDate.parse(HTTPDate.format(time)) == time)
        }
    }

    @Test("§5.6.7 RFC 850 years more than 50 years ahead are in the past")
    func twoDigitYears() {
        let now = HTTPDate.parse("Mon, 01 Jan 2024 00:00:00 GMT")!
        #expect(HTTPDate.parse("Monday, 01-Jan-74 00:00:00 GMT", now: now) == HTTPDate.parse("Tue, 01 Jan 2074 00:00:00 GMT"))
        #expect(HTTPDate.parse("Monday, 01-Jan-75 00:00:00 GMT", now: now) == HTTPDate.parse("Wed, 01 Jan 1975 00:00:00 GMT"))
    }

    @Test("§5.6.7 a year below 1000 is written with four digits and parses back (found by tools/fuzz FuzzHTTPDate)")
    func fourDigitYears() throws {
        let parsed = try #require(HTTPDate.parse("Sun Nov  6 08:49:37 0994"))
        let formatted = HTTPDate.format(parsed)
        #expect(formatted.hasSuffix(" 0994 08:49:37 GMT"))
        #expect(HTTPDate.parse(formatted) == parsed)
        // Out of the four-digit range (and NaN): clamped, never a trap.
        #expect(HTTPDate.format(Timestamp(seconds: 1e300)).contains(" 9999 "))
        #expect(HTTPDate.format(Timestamp(seconds: -1e300)).contains(" 0000 "))
        #expect(HTTPDate.format(Timestamp(seconds: .nan)).contains(" 0000 "))
    }
}
