// The proxy path over real sockets: a node on port 0 in front of a scripted origin that records
// what it receives. Each test asserts on both sides: what the client got and what the origin saw.
import NIOCore
import OutpostNode
import OutpostTesting
import Testing

@Suite("Proxying (RFC 9110 §7.6, RFC 9112)", .timeLimit(.minutes(1)))
struct ProxyTests {
    static let echo: @Sendable (RecordedRequest) -> OriginReply = { request in
        let text = "\(request.method) \(request.target) [\(String(decoding: request.body, as: UTF8.self))]"
        return OriginReply(
            status: request.method == "POST" ? 201 : 200,
            headers: [("X-Origin", "yes"), ("Content-Type", "text/plain"), ("ETag", "\"v1\"")],
            body: .bytes(Array(text.utf8)))
    }

    @Test("GET, POST, PUT and DELETE pass through faithfully, with Via and X-Forwarded-For added", arguments: [
        ("GET", ""), ("POST", "name=outpost&x=1"), ("PUT", String(repeating: "p", count: 70_000)), ("DELETE", ""),
    ])
    func methods(_ method: String, _ body: String) async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin]) { node in
                let framing = body.isEmpty ? "" : "Content-Length: \(body.utf8.count)\r\n"
                let response = try await send(
                    "\(method) /things/1?q=a%20b HTTP/1.1\r\nHost: site.example\r\nX-Client: c\r\n\(framing)\r\n\(body)", to: node)
                #expect(response.status == (method == "POST" ? 201 : 200))
                #expect(response.bodyText == "\(method) /things/1?q=a%20b [\(body)]")
                #expect(response.header("x-origin") == "yes")
                #expect(response.header("etag") == "\"v1\"")
                #expect(response.header("via") == "1.1 outpost")
                let seen = try #require(origin.requests.first)
                #expect(seen.method == method)
                #expect(seen.target == "/things/1?q=a%20b")
                #expect(seen.bodyText == body)
                #expect(seen.header("host") == "site.example")
                #expect(seen.header("x-client") == "c")
                #expect(seen.header("via") == "1.1 outpost")
                #expect(seen.header("x-forwarded-for") == "127.0.0.1")
                #expect(seen.header("x-forwarded-proto") == "http")
            }
        }
    }

    @Test("HEAD gets the head of the origin's answer and no body")
    func head() async throws {
        // The scripted origin answers HEAD with the head a GET would get: Content-Length 1234, no body.
        try await withOrigin({ _ in OriginReply(body: .bytes(Array(repeating: 0x61, count: 1234))) }) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n")
                    let head = try await connection.readResponse(toHead: true)
                    #expect(head.status == 200)
                    #expect(head.header("content-length") == "1234")
                    // The next response follows at once: no body bytes were sent for the HEAD.
                    let next = try await connection.readResponse()
                    #expect(next.status == 200)
                    #expect(next.body.count == 1234)
                }
                // A HEAD miss is filled with a GET, so the stored response can answer both later.
                #expect(origin.requests.map(\.method) == ["GET", "GET"])
            }
        }
    }

    @Test("RFC 9110 §7.6.1: hop-by-hop fields are stripped in both directions")
    func hopByHop() async throws {
        let reply = OriginReply(
            headers: [("Connection", "X-Origin-Hop"), ("X-Origin-Hop", "1"), ("Keep-Alive", "timeout=5"),
                      ("Upgrade", "h2c"), ("Server", "origin-box/1.0"), ("X-Kept", "yes")],
            body: .bytes(Array("ok".utf8)))
        try await withOrigin({ _ in reply }) { origin in
            try await withNode(origins: [origin]) { node in
                let response = try await send(
                    "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Client-Hop\r\nX-Client-Hop: 1\r\nKeep-Alive: 300\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nX-Forwarded-Host: evil.example\r\n\r\n",
                    to: node)
                #expect(response.status == 200)
                for name in ["x-origin-hop", "keep-alive", "upgrade"] { #expect(response.header(name) == nil, "\(name) leaked to the client") }
                #expect(response.header("server") == "Outpost")
                #expect(response.header("x-kept") == "yes")
                let seen = try #require(origin.requests.first)
                for name in ["x-client-hop", "keep-alive", "te", "proxy-connection", "x-forwarded-host"] {
                    #expect(seen.header(name) == nil, "\(name) leaked to the origin")
                }
                #expect(!(seen.header("connection") ?? "").lowercased().contains("x-client-hop"))
            }
        }
    }

    @Test("Host can be rewritten to the origin's own name")
    func hostFromOrigin() async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin], configure: { $0.edge.forwarding.hostHeader = .origin }) { node in
                _ = try await send("GET / HTTP/1.1\r\nHost: public.example\r\n\r\n", to: node)
                #expect(origin.requests.first?.header("host") == "127.0.0.1:\(origin.port)")
            }
        }
    }

    @Test("a chunked request body streams to the origin whole")
    func chunkedRequestBody() async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                    try await connection.send("6\r\n world\r\n")
                    try await connection.send("0\r\n\r\n")
                    let response = try await connection.readResponse()
                    #expect(response.status == 201)
                    #expect(response.bodyText == "POST /upload [hello world]")
                }
                #expect(origin.requests.first?.bodyText == "hello world")
            }
        }
    }

    @Test("a chunked response passes through re-framed, byte for byte")
    func chunkedResponse() async throws {
        let chunks = (0..<20).map { Array("chunk \($0);".utf8) }
        try await withOrigin({ _ in OriginReply(body: .chunked(chunks, interval: .milliseconds(5))) }) { origin in
            try await withNode(origins: [origin]) { node in
                let response = try await send("GET / HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                #expect(response.body == chunks.flatMap { $0 })
                #expect(response.header("transfer-encoding") == "chunked")
            }
        }
    }

    @Test("pipelined requests are answered in order on one connection")
    func pipelining() async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send((1...3).map { "GET /p\($0) HTTP/1.1\r\nHost: a\r\n\r\n" }.joined())
                    for index in 1...3 {
                        let response = try await connection.readResponse()
                        #expect(response.bodyText == "GET /p\(index) []")
                    }
                }
            }
        }
    }

    @Test("keep-alive: sequential requests reuse one client connection and one origin connection")
    func connectionReuse() async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    for index in 1...3 {
                        try await connection.send("GET /k\(index) HTTP/1.1\r\nHost: a\r\n\r\n")
                        let response = try await connection.readResponse()
                        #expect(response.bodyText == "GET /k\(index) []")
                    }
                }
                #expect(origin.requestCount == 3)
                #expect(origin.connectionCount == 1)
            }
        }
    }

    @Test("Connection: close from the client is honoured after the response")
    func clientClose() async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    let response = try await connection.readResponse()
                    #expect(response.header("connection") == "close")
                    #expect(await connection.readUntilEnd().isEmpty)
                    #expect(connection.end == .endOfFile)
                }
            }
        }
    }

    @Test("RFC 9110 §15.2 interim responses: 103 is forwarded, an unasked-for 100 is not; the final response follows")
    func interim() async throws {
        try await withOrigin({ _ in OriginReply(headers: [("Link", "</a.css>; rel=preload")], body: .bytes(Array("final".utf8)), behaviour: .interim([100, 103])) }) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                    let hints = try await connection.readResponse()
                    #expect(hints.status == 103)
                    #expect(hints.header("link") == "</a.css>; rel=preload")
                    let response = try await connection.readResponse()
                    #expect(response.status == 200)
                    #expect(response.bodyText == "final")
                }
            }
        }
    }

    @Test("Expect: 100-continue gets 100 Continue before the client sends its body")
    func expectContinue() async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("PUT /e HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
                    let interim = try await connection.readResponse(toHead: true)
                    #expect(interim.status == 100)
                    try await connection.send("body")
                    let response = try await connection.readResponse()
                    #expect(response.status == 200)
                    #expect(response.bodyText == "PUT /e [body]")
                }
                #expect(origin.requests.first?.header("expect") == nil)
            }
        }
    }

    @Test("a large response streams through whole (64 MiB, generated by the origin as it is read)")
    func largeResponse() async throws {
        let size = 64 * 1024 * 1024 + 17
        try await withOrigin({ _ in OriginReply(body: .generated(size: size, pattern: 0x7a)) }) { origin in
            try await withNode(origins: [origin]) { node in
                let response = try await send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                #expect(response.body.count == size)
                #expect(response.body.allSatisfy { $0 == 0x7a })
            }
        }
    }

    @Test("a request body over the limit mid-stream is refused with 413 and the connection closed")
    func streamedBodyTooLarge() async throws {
        try await withOrigin({ _ in OriginReply(behaviour: .hang) }) { origin in
            try await withNode(origins: [origin], configure: { $0.edge.maximumRequestBodyBytes = 10 }) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n")
                    let response = try await connection.readResponse()
                    #expect(response.status == 413)
                    _ = await connection.readUntilEnd()
                    #expect(connection.end == .endOfFile)
                }
            }
        }
    }

    @Test("several origins share the load round robin")
    func roundRobin() async throws {
        try await withOrigin(Self.echo) { first in
            try await withOrigin(Self.echo) { second in
                try await withNode(origins: [first, second]) { node in
                    for index in 0..<6 { _ = try await send("GET /r\(index) HTTP/1.1\r\nHost: a\r\n\r\n", to: node) }
                    #expect(first.requestCount == 3)
                    #expect(second.requestCount == 3)
                }
            }
        }
    }

    @Test("at the connection limit, a further client waits in the backlog until a connection closes")
    func connectionLimit() async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin], configure: { $0.edge.maximumConnections = 1 }) { node in
                try await WireConnection.with(port: node.port) { first in
                    try await first.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
                    #expect(try await first.readResponse().status == 200)
                    // The second client connects (the kernel accepts into the backlog) but is not
                    // served while the first connection stays open.
                    let second = Task {
                        try await WireConnection.with(port: node.port) { connection in
                            try await connection.send("GET /two HTTP/1.1\r\nHost: a\r\n\r\n")
                            return try await connection.readResponse().bodyText
                        }
                    }
                    try await Task.sleep(for: .milliseconds(300))
                    #expect(origin.requestCount == 1)
                    try await first.send("GET /close HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    _ = try await first.readResponse()
                    #expect(try await second.value == "GET /two []")
                }
            }
        }
    }
}
