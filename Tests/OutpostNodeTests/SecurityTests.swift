// The attacks a shared cache must shrug off, one test each, over real sockets: what the origin saw,
// and what a clean client then got from the cache (never the attacker's answer). Poisoning through
// Connection, unkeyed query parameters and override headers; error responses a request caused;
// request bodies that stall; clients over their request rate or connection cap; the admin listener
// held open.
import CachePolicy
import Foundation
import NIOCore
import OutpostNode
import OutpostTesting
import Testing

@Suite("Cache poisoning and exhaustion defences", .timeLimit(.minutes(1)))
struct SecurityTests {
    @Test("Connection: x-lang with X-Lang: fr: the origin never sees X-Lang, so its answer is not stored as the fr variant")
    func connectionNamedVaryField() async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { request in
            OriginReply(headers: [("Cache-Control", "max-age=60"), ("Vary", "X-Lang")],
                        body: .bytes(Array("lang=\(request.header("x-lang") ?? "default")".utf8)))
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin]) { node in
                let attack = try await request("/home", headers: ["Connection: x-lang", "X-Lang: fr"], to: node)
                #expect(attack.bodyText == "lang=default")
                #expect(origin.requests.first?.header("x-lang") == nil)
                let clean = try await request("/home", headers: ["X-Lang: fr"], to: node)
                #expect(clean.bodyText == "lang=fr")
            }
        }
    }

    @Test("Connection naming Host is refused with 400; nothing reaches the origin")
    func connectionNamedHost() async throws {
        try await withOrigin({ _ in .ok("hello") }) { origin in
            try await withNode(origins: [origin]) { node in
                let response = try await request("/", headers: ["Connection: host"], to: node)
                #expect(response.status == 400)
                #expect(origin.requestCount == 0)
            }
        }
    }

    @Test("Query parameters dropped from the key are dropped from the forwarded target too, cloaked ones included")
    func droppedParametersNotForwarded() async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { request in
            OriginReply(headers: [("Cache-Control", "max-age=60")], body: .bytes(Array("page for \(request.target)".utf8)))
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin]) { node in
                let reflected = try await request("/page?utm_source=%3Cscript%3E", to: node)
                #expect(reflected.bodyText == "page for /page")
                let clean = try await request("/page", to: node)
                #expect(clean.bodyText == "page for /page")
                let cloaked = try await request("/jsonp?a=1&utm_content=x;callback=evil", to: node)
                #expect(cloaked.bodyText == "page for /jsonp?a=1")
                #expect(origin.requests.map(\.target) == ["/page", "/jsonp?a=1"])
            }
        }
    }

    @Test("Forwarded is rewritten by the node; host, scheme and method overrides never reach the origin")
    func overrideHeadersStripped() async throws {
        try await withOrigin({ _ in OriginReply(headers: [("Cache-Control", "max-age=60")], body: .bytes(Array("ok".utf8))) }) { origin in
            try await withNode(origins: [origin]) { node in
                _ = try await request("/o", headers: [
                    "Forwarded: host=evil.example;proto=https", "X-Host: evil.example", "X-Forwarded-Host: evil.example",
                    "X-Forwarded-Scheme: nothttps", "X-Forwarded-Port: 1", "X-HTTP-Method-Override: DELETE",
                    "X-Method-Override: DELETE", "X-Original-URL: /admin", "X-Forwarded-Proto: https",
                ], to: node)
                let seen = try #require(origin.requests.first)
                #expect(seen.headerValues("forwarded") == ["for=127.0.0.1;proto=http"])
                #expect(seen.header("x-forwarded-proto") == "http")
                for name in ["x-host", "x-forwarded-host", "x-forwarded-scheme", "x-forwarded-port", "x-http-method-override",
                             "x-method-override", "x-original-url"] {
                    #expect(seen.header(name) == nil, "\(name) was forwarded")
                }
            }
        }
    }

    @Test("An error the request caused (CPDoS) is not kept on a heuristic: the next clean client gets the page")
    func errorNotStoredOnHeuristic() async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { request in
            let lastModified = HTTPDate.format(Timestamp(seconds: Date().timeIntervalSince1970 - 864_000))
            if request.header("x-oversized") != nil {
                return OriginReply(status: 404, headers: [("Last-Modified", lastModified)], body: .bytes(Array("broken".utf8)))
            }
            return OriginReply(headers: [("Last-Modified", lastModified)], body: .bytes(Array("page".utf8)))
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin]) { node in
                let attack = try await request("/victim", headers: ["X-Oversized: \(String(repeating: "x", count: 4000))"], to: node)
                #expect(attack.status == 404)
                let clean = try await request("/victim", to: node)
                #expect(clean.status == 200)
                #expect(clean.bodyText == "page")
            }
        }
    }

    @Test("A request body that stalls mid-way gets 408 within --request-body-timeout, and the origin connection is let go")
    func stalledRequestBody() async throws {
        try await withOrigin({ _ in .ok("never") }) { origin in
            try await withNode(origins: [origin], configure: { $0.edge.requestBodyTimeout = .milliseconds(300) }) { node in
                let clock = ContinuousClock()
                let started = clock.now
                let response = try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
                    return try await connection.readResponse()
                }
                #expect(response.status == 408)
                #expect(response.header("connection") == "close")
                // The body's timer answered (the head's says "the request head did not arrive"), and
                // no other timer could have: the next one (the 10 s head timeout does not run once
                // the head is in; the origin's head timeout is 30 s) is far beyond this bound, which
                // leaves a loaded machine room without depending on how fast it runs.
                #expect(response.bodyText.contains("the request did not arrive in time"), "\(response.bodyText)")
                #expect(clock.now - started < .seconds(10))
                // The origin never got a whole request: the body stopped, and the upload was abandoned.
                #expect(origin.requestCount == 0)
            }
        }
    }

    @Test("A client over a rule's request rate gets 429 with Retry-After, counted; other paths are not limited")
    func requestRate() async throws {
        var api = RuleOverrides()
        // One request per 100 s after a burst of 2: no token comes back while the test runs,
        // however slowly a loaded machine runs it.
        api.requestRate = .some(0.01)
        api.requestBurst = 2
        let rules = PolicyRules(rules: [Rule(name: "api", paths: [PathPattern("/api/*")!], overrides: api)])
        try await withOrigin({ _ in .ok("fine") }) { origin in
            try await withNode(origins: [origin], configure: { $0.cache.rules = rules }) { node in
                try await WireConnection.with(port: node.port) { connection in
                    var statuses: [Int] = []
                    var retryAfter: String?
                    for _ in 0..<3 {
                        try await connection.send("GET /api/items HTTP/1.1\r\nHost: a\r\n\r\n")
                        let response = try await connection.readResponse()
                        statuses.append(response.status)
                        if response.status == 429 { retryAfter = response.header("retry-after") }
                    }
                    #expect(statuses == [200, 200, 429])
                    #expect(retryAfter.flatMap(Int.init).map { (90...100).contains($0) } == true, "\(String(describing: retryAfter))")
                    // The connection stays usable, and a path without a rate is not limited.
                    try await connection.send("GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
                    #expect(try await connection.readResponse().status == 200)
                }
                #expect(node.engine.stats.snapshot[.rateLimited] == 1)
                let metrics = try await adminGet("/metrics", node: node)
                #expect(metrics.bodyText.contains("outpost_rate_limited_total 1"))
            }
        }
    }

    @Test("A client over its connection cap gets 429 and a close; its other connections and other clients go on")
    func connectionCapPerClient() async throws {
        try await withOrigin({ _ in .ok("fine") }) { origin in
            try await withNode(origins: [origin], configure: { $0.edge.maximumConnectionsPerClient = 2 }) { node in
                try await WireConnection.with(port: node.port) { first in
                    try await WireConnection.with(port: node.port) { second in
                        try await first.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n")
                        #expect(try await first.readResponse().status == 200)
                        try await second.send("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
                        #expect(try await second.readResponse().status == 200)
                        let third = try await WireConnection.with(port: node.port) { third in
                            try await third.readResponse()
                        }
                        #expect(third.status == 429)
                        #expect(third.header("retry-after") == "1")
                    }
                }
                #expect(node.engine.stats.snapshot[.clientConnectionsRefused] == 1)
                // Once they closed, the client may connect again.
                var answered = false
                for _ in 0..<50 where !answered {
                    answered = (try? await request("/again", to: node).status) == 200
                    if !answered { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(answered)
            }
        }
    }

    @Test("The admin listener closes idle connections and caps them; the public listener keeps answering")
    func adminListenerBounded() async throws {
        try await withOrigin({ _ in .ok("public") }) { origin in
            try await withNode(origins: [origin], configure: {
                $0.adminLimits.idleTimeout = .milliseconds(200)
                $0.adminLimits.maximumConnections = 2
            }) { node in
                let adminPort = try #require(node.adminPort)
                try await WireConnection.with(port: adminPort) { idle in
                    try await WireConnection.with(port: adminPort) { _ throws in
                        // The admin listener at its cap: the public one still answers.
                        let answer = try await request("/p", to: node)
                        #expect(answer.bodyText == "public")
                        // Idle ones are closed by the node.
                        let ended = await idle.readUntilEnd()
                        #expect(ended.isEmpty)
                        #expect(idle.end == .endOfFile)
                    }
                }
                // Once they closed (the node counts a close when it sees it), the admin listener
                // takes a connection again.
                var status: Int?
                for _ in 0..<50 where status != 200 {
                    status = try? await adminGet("/healthz", node: node).status
                    if status != 200 { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(status == 200)
            }
        }
    }
}

extension SecurityTests {
    @Test("Without a token, the admin listener starts only on a loopback address, not on a name that starts with 127.")
    func adminLoopbackCheck() async throws {
        try await withOrigin({ _ in .ok("x") }) { origin in
            await #expect(throws: ConfigurationError.self) {
                try await withNode(origins: [origin], configure: {
                    $0.adminToken = nil
                    $0.adminListen = HostAndPort(host: "127.attacker.example", port: 0)
                }) { _ in }
            }
        }
    }
}

/// GET on the node's admin listener with the test token.
private func adminGet(_ path: String, node: Node) async throws -> WireResponse {
    let port = try #require(node.adminPort)
    return try await send("GET \(path) HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer \(adminToken)\r\n\r\n", to: port)
}
