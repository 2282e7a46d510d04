// The versioned encoding of `StoredResponse`: a round trip keeps every property, a version-1
// document written by hand decodes, an unknown version is refused rather than guessed, and a
// truncated or damaged binary head is an error, never a crash.
import CachePolicy
@testable import CacheStore
import Foundation
import Testing

@Suite("Stored response encoding")
struct StoredResponseEncodingTests {
    @Test("encoding and decoding keeps every property and writes the version")
    func roundTrip() throws {
        var response = makeResponse(key: "GET example.com/x", variantKey: "gzip", status: 404)
        response.softPurgedAt = sampleTime + 3.5
        response.tags = ["one", "two"]
        response.bodyLength = 12
        let encoded = try response.encodedHead()
        #expect(Array(encoded.prefix(2)) == [0, 2])
        #expect(try StoredResponse.decodeHead(encoded) == response)
        // Layout 1, as older builds wrote it, decodes to the same response.
        let older = try response.encodedHeadVersion1()
        #expect(String(decoding: older, as: UTF8.self).contains("\"version\":1"))
        #expect(try StoredResponse.decodeHead(older) == response)
        #expect(encoded.count < older.count / 2)
    }

    @Test("layout 2 keeps unusual values: empty and non-ASCII strings, negative and large numbers, no fields")
    func binaryEdges() throws {
        var response = makeResponse(key: "", fields: [], bodyLength: 0)
        response.url = "https://h/ünïcode/😀"
        response.status = -1
        response.bodyLength = Int.max
        response.requestTime = Timestamp(seconds: -0.5)
        response.responseTime = Timestamp(seconds: 1e12 + 0.25)
        response.tags = ["", "t"]
        #expect(try StoredResponse.decodeHead(response.encodedHead()) == response)
    }

    @Test("every truncation of a binary head, and trailing bytes, are refused as malformed")
    func truncated() throws {
        var response = makeResponse(key: "GET example.com/x", variantKey: "gzip")
        response.softPurgedAt = sampleTime
        response.tags = ["a"]
        let encoded = try response.encodedHead()
        for length in 2..<encoded.count {
            #expect(throws: StoredResponse.HeadDecodingError.self) { try StoredResponse.decodeHead(encoded.prefix(length)) }
        }
        #expect(throws: StoredResponse.HeadDecodingError.self) { try StoredResponse.decodeHead(encoded + [7]) }
        #expect(throws: StoredResponse.HeadDecodingError.self) { try StoredResponse.decodeHead(Data([0, 3, 1])) }
    }

    @Test("a version 1 document decodes")
    func versionOne() throws {
        let document = """
            {"version":1,"key":"k","variantKey":"","varyFieldNames":[],"url":"https://h/k","host":"h",
             "status":200,"fields":{"fields":[{"name":"ETag","value":"\\"a\\""}]},
             "requestTime":{"seconds":10},"responseTime":{"seconds":11},"tags":[],"bodyLength":3}
            """
        let response = try StoredResponse.decodeHead(Data(document.utf8))
        #expect(response.key == "k")
        #expect(response.fields.fieldValues("etag") == ["\"a\""])
        #expect(response.responseTime == Timestamp(seconds: 11))
        #expect(response.softPurgedAt == nil)
        #expect(response.formatVersion == StoredResponse.currentFormatVersion)
    }

    @Test("an unknown version is refused")
    func unknownVersion() {
        #expect(throws: StoredResponse.HeadDecodingError.self) {
            try StoredResponse.decodeHead(Data(#"{"version":3,"key":"k"}"#.utf8))
        }
    }

    @Test("the URL is read back from a plain key and kept when the key differs; both survive encoding")
    func urlFromKey() throws {
        let plain = StoredResponse(key: "GET https://h/a/b.css", variantKey: "", varyFieldNames: [], url: "https://h/a/b.css",
                                   host: "h", status: 200, fields: [], requestTime: sampleTime, responseTime: sampleTime,
                                   bodyLength: 0)
        #expect(plain.url == "https://h/a/b.css")
        var sorted = StoredResponse(key: "GET https://h/p?a=1&b=2", variantKey: "", varyFieldNames: [], url: "https://h/p?b=2&a=1",
                                    host: "h", status: 200, fields: [], requestTime: sampleTime, responseTime: sampleTime,
                                    bodyLength: 0)
        #expect(sorted.url == "https://h/p?b=2&a=1")
        for response in [plain, sorted] {
            #expect(try StoredResponse.decodeHead(response.encodedHead()).url == response.url)
        }
        sorted.url = "https://h/p?a=1&b=2"  // now the key's own URI: read back from the key
        #expect(sorted.url == "https://h/p?a=1&b=2")
        #expect(sorted == StoredResponse(key: "GET https://h/p?a=1&b=2", variantKey: "", varyFieldNames: [], url: "https://h/p?a=1&b=2",
                                         host: "h", status: 200, fields: [], requestTime: sampleTime, responseTime: sampleTime,
                                         bodyLength: 0))
    }
}
