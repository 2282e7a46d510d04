// Hop-by-hop hygiene on NIO's headers (RFC 9110 §7.6.1): the fixed names, the gateway's own, and
// whatever Connection names go, in any case; everything else stays, in order.
import NIOHTTP1
import Testing

@testable import OriginClient

@Suite("HTTPHeaders.removeHopByHopFields")
struct HopByHopTests {
    @Test("fixed, gateway and Connection-listed names go in any case; end-to-end fields stay in order")
    func removesHopByHop() {
        var headers = HTTPHeaders([
            ("Content-Type", "text/plain"), ("CONNECTION", "close, X-Trace ,Keep-Alive"), ("Keep-Alive", "timeout=5"),
            ("x-trace", "abc"), ("Transfer-Encoding", "chunked"), ("TE", "trailers"), ("Trailer", "Expires"),
            ("Upgrade", "h2c"), ("Proxy-Connection", "keep-alive"), ("Proxy-Authenticate", "Basic"), ("ETag", "\"1\""),
            ("X-Traced", "kept"), ("Cache-Control", "max-age=60"),
        ])
        headers.removeHopByHopFields()
        #expect(headers.map(\.name) == ["Content-Type", "ETag", "X-Traced", "Cache-Control"])
    }

    @Test("a Connection that names an end-to-end field takes it too; without hop-by-hop fields nothing changes")
    func connectionNames() {
        var named = HTTPHeaders([("Connection", "cache-control"), ("Cache-Control", "max-age=60"), ("Age", "3")])
        named.removeHopByHopFields()
        #expect(named.map(\.name) == ["Age"])
        var plain = HTTPHeaders([("Content-Length", "5"), ("Date", "Sun, 06 Dec 2026 20:00:00 GMT")])
        let before = plain
        plain.removeHopByHopFields()
        #expect(plain == before)
    }

    @Test("removing with a set of further names: one result, in order, whatever the case")
    func removingWithSet() {
        let headers = HTTPHeaders([("Host", "a"), ("X-Forwarded-Host", "evil"), ("TE", "trailers"), ("Accept", "*/*")])
        let kept = headers.removingHopByHopFields(and: FieldNameSet(["x-forwarded-host", "X-Other"]))
        #expect(kept.map(\.name) == ["Host", "Accept"])
        #expect(headers.removingHopByHopFields(and: FieldNameSet(["x-absent"])).count == 3)
        let clean = HTTPHeaders([("Host", "a")])
        #expect(clean.removingHopByHopFields(and: FieldNameSet(["x-absent"])) == clean)
    }
}

@Suite("FieldNameSet")
struct FieldNameSetTests {
    @Test("members are found in any case, by exact length, and given back lower-case")
    func lookup() {
        let set = FieldNameSet(["Connection", "te", "x-a", "X-A"])
        #expect(set.member("CONNECTION") == "connection")
        #expect(set.member("tE") == "te")
        #expect(set.member("x-a") == "x-a")
        #expect(!set.contains("connections"))
        #expect(!set.contains("t"))
        #expect(!set.contains(""))
        #expect(!set.contains("x-b"))
        #expect(!FieldNameSet.empty.contains("te"))
    }
}
