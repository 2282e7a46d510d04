// HeaderFields' packed form: lines come back in order and exactly as stored, names compare
// case-insensitively, long and empty values survive, mutations keep order, compaction changes
// nothing observable, and the Codable shape is the list of lines (what stored heads of format
// version 1 hold).
import CachePolicy
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
}
