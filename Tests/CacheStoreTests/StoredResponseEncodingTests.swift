// The versioned encoding of `StoredResponse`: a round trip keeps every property, a version-1
// document written by hand decodes, and an unknown version is refused rather than guessed.
import CachePolicy
import CacheStore
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
        #expect(String(decoding: encoded, as: UTF8.self).contains("\"version\":1"))
        #expect(try StoredResponse.decodeHead(encoded) == response)
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
            try StoredResponse.decodeHead(Data(#"{"version":2,"key":"k"}"#.utf8))
        }
    }
}
