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
}
