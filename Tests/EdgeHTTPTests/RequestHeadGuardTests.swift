// Pure checks of a decoded request head, and of the header rewrites of a gateway (RFC 9110 §7.6).
import NIOHTTP1
import Testing

@testable import EdgeHTTP

@Suite("Request head guard")
struct RequestHeadGuardTests {
    let headGuard = RequestHeadGuard(configuration: EdgeConfiguration())

    func head(_ method: HTTPMethod = .GET, _ uri: String = "/", _ fields: [(String, String)]) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(fields))
    }

    @Test("RFC 9110 §8.6: repeated identical Content-Length values are one length")
    func identicalLengths() {
        #expect(headGuard.check(head(.POST, "/", [("host", "a"), ("content-length", "5"), ("content-length", "5")]))
                == .accept(bodyLength: 5, hasBody: true, expectsContinue: false))
    }

    @Test("a chunked request has a body of unknown length")
    func chunked() {
        #expect(headGuard.check(head(.POST, "/", [("host", "a"), ("transfer-encoding", "chunked")]))
                == .accept(bodyLength: nil, hasBody: true, expectsContinue: false))
    }

    @Test("RFC 9110 §10.1.1: Expect: 100-continue is recognised case-insensitively")
    func expectContinue() {
        #expect(headGuard.check(head(.PUT, "/", [("host", "a"), ("content-length", "1"), ("expect", "100-Continue")]))
                == .accept(bodyLength: 1, hasBody: true, expectsContinue: true))
    }

    @Test("a GET without framing has no body")
    func noBody() {
        #expect(headGuard.check(head(.GET, "/x?y", [("host", "a")])) == .accept(bodyLength: nil, hasBody: false, expectsContinue: false))
    }

    @Test("OPTIONS * is the one target not starting with a slash")
    func asteriskForm() {
        #expect(headGuard.check(head(.OPTIONS, "*", [("host", "a")])) == .accept(bodyLength: nil, hasBody: false, expectsContinue: false))
        if case .reject(let status, _) = headGuard.check(head(.GET, "*", [("host", "a")])) {
            #expect(status == .badRequest)
        } else {
            Issue.record("GET * must be refused")
        }
    }

    @Test("framing fields are found whatever the case of their names (RFC 9110 §5.1)",
          arguments: [
              ([("HOST", "a"), ("Content-Length", "3")], "accept 3"),
              ([("Host", "a"), ("hOsT", "b")], "400"),
              ([("content-length", "2")], "400"),
              ([("host", "a"), ("Transfer-Encoding", "chunked"), ("CONTENT-LENGTH", "3")], "400"),
              ([("host", "a"), ("CONNECTION", "close, Host")], "400"),
              ([("host", "a"), ("Expect", "100-continue"), ("content-length", "1")], "continue"),
              ([("host", "a"), ("EXPECT", "something-else")], "417"),
              ([("host", "a"), ("Content-Length", "1"), ("Content-Length", "2")], "400"),
          ])
    func framingFieldNamesIgnoreCase(fields: [(String, String)], expected: String) {
        let verdict: String
        switch headGuard.check(head(.POST, "/", fields)) {
        case .accept(let length?, _, false): verdict = "accept \(length)"
        case .accept(_, _, true): verdict = "continue"
        case .accept: verdict = "accept"
        case .reject(let status, _): verdict = "\(status.code)"
        }
        #expect(verdict == expected)
    }

    @Test("an oversized Content-Length cannot overflow")
    func overflowingLength() {
        if case .reject(let status, _) = headGuard.check(head(.POST, "/", [("host", "a"), ("content-length", "99999999999999999999999")])) {
            #expect(status == .badRequest)
        } else {
            Issue.record("an unrepresentable length must be refused")
        }
    }
}

@Suite("Header rewrites (RFC 9110 §7.6)")
struct ForwardedHeaderTests {
    @Test("§7.6.1: hop-by-hop fields and fields named in Connection are not forwarded; Via and X-Forwarded-* are added")
    func requestRewrite() {
        let policy = ForwardingPolicy()
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: HTTPHeaders([
            ("host", "site.example"), ("connection", "keep-alive, X-Private"), ("x-private", "secret"),
            ("keep-alive", "timeout=5"), ("te", "trailers"), ("upgrade", "websocket"), ("proxy-connection", "keep-alive"),
            ("x-forwarded-for", "203.0.113.9"), ("x-forwarded-host", "evil.example"), ("accept", "*/*"),
        ]))
        let headers = policy.originRequestHeaders(for: head, clientAddress: "192.0.2.1", scheme: "http")
        for name in ["connection", "x-private", "keep-alive", "te", "upgrade", "proxy-connection", "x-forwarded-host"] {
            #expect(!headers.contains(name: name), "\(name) must not be forwarded")
        }
        #expect(headers["host"] == ["site.example"])
        #expect(headers["x-forwarded-for"] == ["203.0.113.9, 192.0.2.1"])
        #expect(headers["x-forwarded-proto"] == ["http"])
        #expect(headers["via"] == ["1.1 outpost"])
        #expect(headers["accept"] == ["*/*"])
    }

    @Test("X-Forwarded-For can replace what the client sent, or be left alone")
    func forwardedForModes() {
        var policy = ForwardingPolicy()
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: HTTPHeaders([("host", "a"), ("x-forwarded-for", "1.1.1.1")]))
        policy.forwardedFor = .replace
        #expect(policy.originRequestHeaders(for: head, clientAddress: "192.0.2.1", scheme: "http")["x-forwarded-for"] == ["192.0.2.1"])
        policy.forwardedFor = .off
        #expect(policy.originRequestHeaders(for: head, clientAddress: "192.0.2.1", scheme: "http")["x-forwarded-for"] == ["1.1.1.1"])
    }

    @Test("framing, Expect and the client's Forwarded and X-Forwarded-Proto are written anew; Via follows the name and version")
    func requestFieldsWrittenAnew() {
        var policy = ForwardingPolicy()
        let head = HTTPRequestHead(version: .http1_0, method: .POST, uri: "/", headers: HTTPHeaders([
            ("Host", "a"), ("Content-Length", "5"), ("Expect", "100-continue"), ("Forwarded", "for=1.2.3.4;host=evil"),
            ("X-Forwarded-Proto", "https"), ("Via", "1.1 upstream"), ("X-HTTP-Method-Override", "DELETE"),
        ]))
        policy.viaName = "edge-7"
        let headers = policy.originRequestHeaders(for: head, clientAddress: "2001:db8::1", scheme: "http")
        #expect(headers.map(\.name) == ["Host", "Via", "x-forwarded-for", "x-forwarded-proto", "forwarded", "via"])
        #expect(headers["forwarded"] == ["for=\"[2001:db8::1]\";proto=http"])
        #expect(headers["x-forwarded-proto"] == ["http"])
        #expect(headers["via"] == ["1.1 upstream", "1.0 edge-7"])
        let http11 = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: HTTPHeaders([("host", "a")]))
        #expect(policy.originRequestHeaders(for: http11, clientAddress: nil, scheme: "https").map(\.name) == ["host", "x-forwarded-proto", "via"])
        #expect(policy.originRequestHeaders(for: http11, clientAddress: nil, scheme: "https")["via"] == ["1.1 edge-7"])
    }

    @Test("the fields the cache decides on lose override fields and Forwarded; with nothing to drop they are the received ones")
    func cacheRequestFields() {
        var policy = ForwardingPolicy()
        let plain = HTTPHeaders([("Host", "a"), ("Accept", "*/*"), ("X-Forwarded-For", "1.1.1.1")])
        #expect(policy.cacheRequestHeaders(plain) == plain)
        let steered = HTTPHeaders([("Host", "a"), ("X-Original-URL", "/admin"), ("Forwarded", "host=evil"), ("Connection", "accept"),
                                   ("Accept", "*/*")])
        #expect(policy.cacheRequestHeaders(steered).map(\.name) == ["Host"])
        policy.strippedRequestFields = ["accept"]
        #expect(policy.cacheRequestHeaders(plain).map(\.name) == ["Host", "X-Forwarded-For"])
        #expect(!policy.originRequestHeaders(for: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: plain),
                                             clientAddress: nil, scheme: "http").contains(name: "accept"))
    }

    @Test("responses lose hop-by-hop fields, get Via, and the origin's Server is replaced or removed")
    func responseRewrite() {
        var policy = ForwardingPolicy()
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders([
            ("server", "origin-internal/1.2 (10.0.0.7)"), ("connection", "X-Debug"), ("x-debug", "1"),
            ("transfer-encoding", "chunked"), ("content-type", "text/plain"),
        ]))
        var headers = head.headers
        policy.rewriteResponseHeaders(&headers, receivedVersion: head.version)
        #expect(headers["server"] == ["Outpost"])
        #expect(!headers.contains(name: "x-debug"))
        #expect(!headers.contains(name: "transfer-encoding"))
        #expect(headers["via"] == ["1.1 outpost"])
        #expect(headers["content-type"] == ["text/plain"])
        policy.serverHeader = ""
        headers = head.headers
        policy.rewriteResponseHeaders(&headers, receivedVersion: head.version)
        #expect(!headers.contains(name: "server"))
        policy.serverHeader = nil
        headers = head.headers
        policy.rewriteResponseHeaders(&headers, receivedVersion: head.version)
        #expect(headers["server"] == ["origin-internal/1.2 (10.0.0.7)"])
    }
}
