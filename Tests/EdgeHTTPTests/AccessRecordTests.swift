// The access log's combined line, rendered byte by byte: every field in its place, quoted fields
// escaped as nginx does (`"`, `\`, control and non-ASCII bytes as \xHH), 499 for a response never
// begun, the request time with six decimals, and the time of day right across a second's edge
// (the rendered second is reused within a second, never across).
import EdgeHTTP
import Foundation
import Testing

@Suite("Access record: the combined line")
struct AccessRecordTests {
    static func record(time: Date, target: String = "/a", status: Int? = 200, seconds: Double = 0.000412,
                       userAgent: String? = "curl/8.0", accessRule: String? = nil) -> AccessRecord {
        AccessRecord(
            time: time, client: "192.0.2.7", method: "GET", target: target, version: "HTTP/1.1", status: status, bytes: 512,
            referer: nil, userAgent: userAgent, host: "site.example", seconds: seconds, outcome: "hit",
            cacheStatus: "Outpost; hit; ttl=59", origin: nil, error: nil, accessRule: accessRule)
    }

    // 2026-12-06T04:47:24Z
    static let instant = Date(timeIntervalSince1970: 1_796_532_444)

    @Test("every field in its place")
    func plainLine() {
        #expect(Self.record(time: Self.instant).combinedLine
            == #"192.0.2.7 - - [06/Dec/2026:04:47:24 +0000] "GET /a HTTP/1.1" 200 512 "-" "curl/8.0" hit 0.000412 "Outpost; hit; ttl=59" -"#)
    }

    @Test("quotes, backslashes, control and non-ASCII bytes are escaped; no status is 499; the rule trails")
    func escapesAndEdges() {
        let line = Self.record(
            time: Self.instant, target: "/q?\"x\"\\\u{01}é", status: nil, seconds: 12.5, userAgent: "say \"hi\"",
            accessRule: "staff").combinedLine
        #expect(line == #"192.0.2.7 - - [06/Dec/2026:04:47:24 +0000] "GET /q?\x22x\x22\x5C\x01\xC3\xA9 HTTP/1.1" 499 512 "-" "say \x22hi\x22" hit 12.500000 "Outpost; hit; ttl=59" - rule=staff"#)
    }

    @Test("the time of day is right within a second and across its edge")
    func timeAcrossSeconds() {
        let times = [0.0, 0.999, 1.0, 61.25].map { Self.instant.addingTimeInterval($0) }
        let rendered = times.map { Self.record(time: $0).combinedLine.split(separator: "[")[1].prefix(26) }
        #expect(rendered == ["06/Dec/2026:04:47:24 +0000", "06/Dec/2026:04:47:24 +0000", "06/Dec/2026:04:47:25 +0000",
                             "06/Dec/2026:04:48:25 +0000"])
    }
}
