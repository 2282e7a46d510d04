// HeaderFields' packed form: lines come back in order and exactly as stored, names compare
// case-insensitively, long and empty values survive, mutations keep order, compaction changes
// nothing observable, and the Codable shape is the list of lines (what stored heads of format
// version 1 hold).
@testable import CachePolicy
import Foundation
import Testing

@Suite("Header fields")
struct HeaderFieldsTests {
    static let long = String(repeating: "v", count: 300)  // a length that takes two LEB128 bytes

    @Test("lines read back in order, exactly; lookups ignore the name's case")
    func readBack() {
        let fields: HeaderFields = [("Cache-Control", " max-age=60 "), ("X-Long", Self.long), ("x-empty", ""),
                                    ("Vary", "Accept"), ("vary", "Accept-Language"), ("Ünï", "cödé")]
        #expect(fields.count == 6)
        #expect(fields.fields.map(\.name) == ["Cache-Control", "X-Long", "x-empty", "Vary", "vary", "Ünï"])
        #expect(fields["cache-control"] == "max-age=60")  // trimmed when added
        #expect(fields.fieldValues("VARY") == ["Accept", "Accept-Language"])
        #expect(fields["x-long"] == Self.long)
        #expect(fields["X-EMPTY"] == "")
        #expect(fields["Ünï"] == "cödé")
        #expect(fields["missing"] == nil)
        // Field names are tokens (ASCII); only ASCII letters are lower-cased.
        #expect(fields.names == ["cache-control", "x-long", "x-empty", "vary", "Ünï"])
    }

    @Test("contains finds a line by name in any case, an empty value included, without reading values")
    func containsByName() {
        let fields: HeaderFields = [("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("x-empty", ""), ("Content-Type", "text/plain")]
        #expect(fields.contains("date"))
        #expect(fields.contains("DATE"))
        #expect(fields.contains("X-Empty"))
        #expect(fields.contains("content-type"))
        #expect(!fields.contains("content"))
        #expect(!fields.contains("x-empty2"))
        #expect(!HeaderFields().contains("date"))
        // The same answers through the generic reading every policy function uses.
        func reads(_ source: some HTTPFieldReading, _ name: String) -> Bool { source.contains(name) }
        #expect(reads(fields, "Date") && !reads(fields, "age"))
    }

    /// The same lines read only through their text: the protocol's own `dateValue`.
    struct TextOnly: HTTPFieldReading {
        let fields: HeaderFields
        func fieldValues(_ name: String) -> [String] { fields.fieldValues(name) }
    }

    @Test("a date kept packed reads back as the text path parses it: same lines, differing lines, other forms",
          arguments: [
              [("Date", "Sun, 06 Nov 1994 08:49:37 GMT")],
              [("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("date", "Sun, 06 Nov 1994 08:49:37 GMT")],
              [("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Date", "Mon, 07 Nov 1994 08:49:37 GMT")],
              [("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Date", "Sunday, 06-Nov-94 08:49:37 GMT")],
              [("Date", "Sunday, 06-Nov-94 08:49:37 GMT")],
              [("Date", "Sun Nov  6 08:49:37 1994")],
              [("Date", "0")],
              [("Date", "sun, 06 nov 1994 08:49:37 gmt")],
              [("Age", "5")],
              [("Date", "Thu, 01 Jan 1970 00:00:00 GMT"), ("X", "y")],
          ])
    func packedDates(lines: [(String, String)]) {
        let fields = HeaderFields(lines)
        #expect(fields.dateValue("date") == TextOnly(fields: fields).dateValue("date"))
        #expect(fields.dateValue("DATE") == TextOnly(fields: fields).dateValue("Date"))
    }

    @Test("a packed date is read without its text, and equals what the text says")
    func packedDateValue() {
        let fields: HeaderFields = [("Date", "Sun, 06 Nov 1994 08:49:37 GMT")]
        #expect(fields.dateValue("Date") == Timestamp(seconds: 784_111_777))
        #expect(fields.dateValue("Last-Modified") == nil)
        #expect(Freshness.responseDate(fields) == Timestamp(seconds: 784_111_777))
    }

    @Test("remove and replace keep the order of the other lines")
    func mutations() {
        var fields: HeaderFields = [("A", "1"), ("B", "2"), ("a", "3"), ("C", "4")]
        fields.replace("a", with: ["5", "6"])
        #expect(fields.fields.map { "\($0.name)=\($0.value)" } == ["a=5", "a=6", "B=2", "C=4"])
        fields.remove("b")
        fields.add("D", Self.long)
        #expect(fields.fields.map(\.name) == ["a", "a", "C", "D"])
        fields.remove(names: ["A", "d"])
        #expect(fields.fields.map { "\($0.name)=\($0.value)" } == ["C=4"])
        #expect(fields.count == 1)

        // Removing what is absent changes nothing; removing the first and the last line leaves
        // exactly the lines that adding the rest would have made.
        var several: HeaderFields = [("Connection", "close"), ("ETag", "\"x\""), ("Date", "d"), ("KEEP-ALIVE", "5")]
        let before = several
        several.remove(names: ["Upgrade", "TE"])
        several.remove("Trailer")
        #expect(several == before)
        several.remove(names: ["connection", "Keep-Alive"])
        #expect(several == [("ETag", "\"x\""), ("Date", "d")])
        #expect(several.count == 2)
        several.remove(names: ["etag", "date"])
        #expect(several.isEmpty && several == HeaderFields())
    }

    @Test("compaction and a JSON round trip change nothing observable; the JSON is a list of lines")
    func compactedAndCodable() throws {
        var fields: HeaderFields = [("ETag", "\"a\""), ("X-Long", Self.long)]
        fields.add("Date", "Thu, 26 Nov 2026 21:00:00 GMT")
        #expect(fields.compacted() == fields)
        #expect(fields.compacted().hashValue == fields.hashValue)
        #expect(fields.compacted().packedByteCount == fields.packedByteCount)
        let json = try JSONEncoder().encode(fields)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.hasPrefix(#"{"fields":[{"#))
        #expect(text.contains(#""name":"ETag""#))
        #expect(try JSONDecoder().decode(HeaderFields.self, from: json) == fields)
        #expect(fields != HeaderFields([("etag", "\"a\""), ("X-Long", Self.long), ("Date", "Thu, 26 Nov 2026 21:00:00 GMT")]))
    }

    /// What nginx sends for a static file, as the node stores it (Connection is hop-by-hop).
    static let nginxHead: [(String, String)] = [
        ("Server", "nginx/1.22.1"), ("Date", "Mon, 07 Dec 2026 01:30:00 GMT"), ("Content-Type", "application/octet-stream"),
        ("Content-Length", "1024"), ("Last-Modified", "Sun, 06 Dec 2026 22:10:05 GMT"), ("ETag", "\"6574f2bd-400\""),
        ("Cache-Control", "public, max-age=3600"), ("Accept-Ranges", "bytes"),
    ]

    @Test("common names take one byte and IMF-fixdates four, and every line reads back byte for byte")
    func compactLines() {
        let fields = HeaderFields(Self.nginxHead)
        #expect(fields.fields.map { [$0.name, $0.value] } == Self.nginxHead.map { [$0.0, $0.1] })
        #expect(fields["date"] == "Mon, 07 Dec 2026 01:30:00 GMT")
        #expect(fields.fieldValues("LAST-MODIFIED") == ["Sun, 06 Dec 2026 22:10:05 GMT"])
        // Eight name bytes; two dates of 1 + 4 bytes; Server, Content-Type, Cache-Control and
        // Accept-Ranges as numbers in the shared table (1 + 1 or 2 bytes each: the table is the
        // process's, shared with every other test); the other two values with a one-byte
        // length: 8 + 10 + (8 to 12) + (4 + 14) = 44 to 48 (the lines' own text is 234 bytes).
        #expect((44...48).contains(fields.packedByteCount))

        // Lower case is common too; any other spelling is kept as written, literally.
        let spelled: HeaderFields = [("etag", "\"a\""), ("ETAG", "\"b\""), ("Etag", "\"c\""), ("eTag", "\"d\"")]
        #expect(spelled.fields.map(\.name) == ["etag", "ETAG", "Etag", "eTag"])
        #expect(spelled.packedByteCount == (1 + 1 + 3) + (2 + 4 + 1 + 3) + (1 + 1 + 3) + (2 + 4 + 1 + 3))
        // A KELVIN SIGN is canonically equal to "K" for String's ==, never for the table.
        let kelvin = "Surrogate-\u{212A}ey"
        let tagged: HeaderFields = [(kelvin, "a"), ("Surrogate-Key", "b")]
        #expect(tagged.fields.map { Array($0.name.utf8) } == [Array(kelvin.utf8), Array("Surrogate-Key".utf8)])
        #expect(tagged.fieldValues("surrogate-key") == ["b"])
    }

    @Test("a date is kept in four bytes only when it formats back to exactly itself")
    func compactDates() {
        let exact = "Thu, 01 Jan 1970 00:00:00 GMT", last = "Sun, 07 Feb 2106 06:28:15 GMT"
        let kept: [String] = [
            exact, last,
            "Mon, 07 Dec 2026 01:30:00 GMT ",  // trimmed when added, then exact
            "Tue, 07 Dec 2026 01:30:00 GMT",  // a wrong day name parses, but formats otherwise
            "Sun, 07 Feb 2106 06:28:16 GMT",  // past four bytes
            "Wed, 31 Dec 1969 23:59:59 GMT",  // before 1970
            "Monday, 07-Dec-26 01:30:00 GMT", "Mon Dec  7 01:30:00 2026",  // obsolete forms
            "mon, 07 Dec 2026 01:30:00 GMT", "Mon, 07 Dec 2026 01:30:00 UTC", "0",
        ]
        for value in kept {
            let fields: HeaderFields = [("Expires", value)]
            #expect(fields["Expires"] == value.trimmingCharacters(in: .whitespaces))
        }
        #expect(HeaderFields([("Expires", exact)]).packedByteCount == 1 + 1 + 4)
        #expect(HeaderFields([("Expires", last)]).packedByteCount == 1 + 1 + 4)
        #expect(HeaderFields([("Expires", "Tue, 07 Dec 2026 01:30:00 GMT")]).packedByteCount == 1 + 1 + 29)
        #expect(HeaderFields([("Expires", "Sun, 07 Feb 2106 06:28:16 GMT")]).packedByteCount == 1 + 1 + 29)
        // Equal lines, equal bytes: a compacted date equals the same date added again.
        #expect(HeaderFields([("X-When", exact)]) == HeaderFields([("X-When", exact)]))
        #expect(HeaderFields([("X-When", exact)]) != HeaderFields([("X-When", last)]))
    }

    @Test("a number is kept as a number only when its digits are exactly its decimal form")
    func compactNumbers() {
        let kept: [(String, Int)] = [
            ("1024", 1 + 1 + 2), ("10", 1 + 1 + 1), ("99", 1 + 1 + 1), ("999999999999999999", 1 + 1 + 9),
            ("0", 1 + 1 + 1), ("7", 1 + 1 + 1),  // one digit: literal, a byte either way
            ("01024", 1 + 1 + 5), ("1000000000000000000", 1 + 1 + 19),  // a leading zero; nineteen digits
            ("-1", 1 + 1 + 2), ("1 024", 1 + 1 + 5), ("1e3", 1 + 1 + 3), ("٣٤", 1 + 1 + 4),
        ]
        for (value, size) in kept {
            let fields: HeaderFields = [("Content-Length", value)]
            #expect(fields["Content-Length"] == value)
            #expect(fields.fields.map(\.value) == [value])
            #expect(fields.packedByteCount == size, "\(value)")
            #expect(fields == HeaderFields([("Content-Length", value)]))
        }
        #expect(PackedFieldLine.compactNumber("1024") == 1024)
        #expect(PackedFieldLine.compactNumber("999999999999999999") == 999_999_999_999_999_999)
        #expect(PackedFieldLine.compactNumber("0") == nil && PackedFieldLine.compactNumber("0123") == nil)
    }

    @Test("the allocation-free IMF-fixdate writer agrees with the formatter")
    func dateWriter() {
        var generator = SplitMix(seed: 0xda7e)
        let samples = [0, 59, 86_399, 86_400, 951_782_400, 1_796_000_000, Int(UInt32.max)]
            + (0..<2_000).map { _ in Int.random(in: 0...Int(UInt32.max), using: &generator) }
        for seconds in samples {
            let written = withUnsafeTemporaryAllocation(byteCount: HTTPDate.imfFixdateLength, alignment: 1) { buffer in
                HTTPDate.writeIMFFixdate(seconds: seconds, to: buffer)
                return String(decoding: buffer, as: UTF8.self)
            }
            #expect(written == HTTPDate.format(Timestamp(seconds: Double(seconds))), "at \(seconds)")
        }
    }

    @Test("shared values: numbered once, matched by bytes, bounded in count and length; lines read back exactly")
    func sharedValues() {
        let table = SharedFieldValues(limit: 3, longestValue: 10)
        let first = table.number(for: "nginx")
        #expect(first == 0 && table.number(for: "nginx") == 0)
        #expect(String(decoding: table.value(0), as: UTF8.self) == "nginx")
        #expect(table.number(for: "0123456789") == 1)
        #expect(table.number(for: "01234567890") == nil)  // longer than 10 bytes
        // "é" as one scalar and as e + combining acute are equal Strings with other bytes.
        #expect(table.number(for: "caf\u{E9}") == 2)
        #expect(table.number(for: "cafe\u{301}") == nil)
        #expect(table.number(for: "full") == nil && table.count == 3)  // the table is full

        // Through HeaderFields: shared and literal values read back byte for byte, equal lines
        // pack equally, and removing lines keeps the others.
        let long = String(repeating: "x", count: 200)  // too long to share
        var fields: HeaderFields = [("Server", "edge/1"), ("Content-Type", long), ("X-Other", "edge/1"), ("server", "Edge/1")]
        #expect(fields.fields.map(\.value) == ["edge/1", long, "edge/1", "Edge/1"])
        #expect(fields == HeaderFields([("Server", "edge/1"), ("Content-Type", long), ("X-Other", "edge/1"), ("server", "Edge/1")]))
        #expect(fields != HeaderFields([("Server", "edge/2"), ("Content-Type", long), ("X-Other", "edge/1"), ("server", "Edge/1")]))
        fields.remove("content-type")
        #expect(fields.fields.map { "\($0.name): \($0.value)" } == ["Server: edge/1", "X-Other: edge/1", "server: Edge/1"])
        #expect(fields["SERVER"] == "edge/1")
        #expect(PackedFieldLine.sharingNames.isSubset(of: Set(PackedFieldLine.commonNames)))
        // Values that differ per response are not offered: they would only use the table up.
        #expect(!PackedFieldLine.mayShare("multipart/byteranges; boundary=3d6b6a416f9b5"))
        #expect(!PackedFieldLine.mayShare("multipart/form-data; BOUNDARY=x"))
        #expect(PackedFieldLine.mayShare("text/html; charset=utf-8"))
        #expect(!PackedFieldLine.mayShare("multipart/mixed; bboundary=1"))
        #expect(!PackedFieldLine.mayShare("x; boundar=1; Boundary=2"))
        #expect(PackedFieldLine.mayShare("x; boundar=1; boundaryx=2"))
        #expect(!PackedFieldLine.sharingNames.contains("Access-Control-Allow-Origin"))
        #expect(!PackedFieldLine.sharingNames.contains("Content-Security-Policy"))
    }

    @Test("names compare case-insensitively as ASCII letters only, in place")
    func rawNamesEqual() {
        let pairs: [(String, String, Bool)] = [
            ("Cache-Control", "cache-control", true), ("ETAG", "etag", true), ("etag", "etags", false), ("", "", true),
            ("@", "`", false), ("[", "{", false), ("x-a", "X-A", true), ("x-a", "x-b", false), ("Ü", "ü", false),
        ]
        for (left, right, equal) in pairs {
            var right = right
            let result = Array(left.utf8).withUnsafeBytes { leftBytes in right.withUTF8 { FieldSyntax.namesEqual(raw: leftBytes, $0) } }
            #expect(result == equal, "\(left) \(right)")
            #expect(result == FieldSyntax.namesEqual(left, right))
        }
    }

    @Test("a value equals bytes only when every byte is the same, bridged or native")
    func valueBytesEqual() {
        let cases: [(String, [UInt8], Bool)] = [
            ("abc", Array("abc".utf8), true), ("abc", Array("abd".utf8), false), ("abc", Array("ab".utf8), false),
            ("", [], true), ("é", [0xC3, 0xA9], true), ("Abc", Array("abc".utf8), false),
        ]
        for (value, bytes, equal) in cases {
            #expect(bytes.withUnsafeBytes { FieldSyntax.bytesEqual(value, $0) } == equal, "\(value)")
        }
    }

    @Test("random field lists of common and other names, dates and shared values read back exactly, and lines go by name")
    func randomLists() {
        var generator = SplitMix(seed: 0x5eed)
        let names = PackedFieldLine.commonNames + ["X-Custom", "x-custom", "CONTENT-TYPE", "Date-Like", "a", "Ünï"]
        let values = ["", "text/html", "public, max-age=60", "Mon, 07 Dec 2026 01:30:00 GMT", "Tue, 07 Dec 2026 01:30:00 GMT",
                      "Thu, 01 Jan 1970 00:00:00 GMT", "bytes", "nginx/1.22.1", "\"etag-1\"", String(repeating: "v", count: 200),
                      "multipart/byteranges; boundary=x1", "cödé", "0", "1024", "10", "007", "999999999999999999",
                      "1000000000000000000", "12a", "+12", "١٢"]
        for _ in 0..<2_000 {
            let count = Int.random(in: 0...12, using: &generator)
            let lines = (0..<count).map { _ in (names.randomElement(using: &generator)!, values.randomElement(using: &generator)!) }
            var fields = HeaderFields(lines)
            #expect(fields.fields.map { [$0.name, $0.value] } == lines.map { [$0.0, $0.1] })
            #expect(fields == HeaderFields(lines) && fields.hashValue == HeaderFields(lines).hashValue)
            let probe = names.randomElement(using: &generator)!
            #expect(fields.fieldValues(probe) == lines.filter { FieldSyntax.namesEqual($0.0, probe) }.map(\.1))
            fields.remove(probe)
            #expect(fields.fields.map { [$0.name, $0.value] } == lines.filter { !FieldSyntax.namesEqual($0.0, probe) }.map { [$0.0, $0.1] })
            #expect(fields.count == lines.filter { !FieldSyntax.namesEqual($0.0, probe) }.count)
        }
    }
}

/// SplitMix64, for repeatable random tests (the same generator as CacheStoreTests'
/// `SeededGenerator`, which this target, depending on CachePolicy alone, cannot import).
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
