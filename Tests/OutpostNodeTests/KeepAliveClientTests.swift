// What clients that reuse their connection (every browser) see, over one real socket per test:
// reading resumes after request bodies, the node's own refusals keep the connection, 304s from the
// origin always become answers, any token method passes through, interim responses reach HTTP/1.1
// clients, ranges are cut from stored bodies, and heuristic freshness applies by default.
import CachePolicy
import Foundation
import NIOCore
import OutpostNode
import OutpostTesting
import Testing

@Suite("Real-client behaviour on one reused connection (RFC 9110, 9111, 9112)", .timeLimit(.minutes(1)))
struct KeepAliveClientTests {
    static let echo: @Sendable (RecordedRequest) -> OriginReply = { request in
        OriginReply(headers: [("Cache-Control", "max-age=60")],
                    body: .bytes(Array("\(request.method) \(request.target) [\(String(decoding: request.body, as: UTF8.self))]".utf8)))
    }

    @Test("A request with a body, then a GET a moment later on the same connection: answered at once", arguments: [
        ("PUT", "Content-Length: 10\r\n\r\n0123456789"),
        ("POST", "Content-Length: 366\r\n\r\n" + String(repeating: "p", count: 366)),
        ("PATCH", "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ("DELETE", "Content-Length: 3\r\n\r\nabc"),
        ("POST", "Content-Length: 100000\r\n\r\n" + String(repeating: "b", count: 100_000)),
    ])
    func bodyThenGet(_ method: String, _ framingAndBody: String) async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("\(method) /form HTTP/1.1\r\nHost: site.example\r\n\(framingAndBody)")
                    let first = try await connection.readResponse()
                    #expect(first.status == 200)
                    #expect(first.bodyText.hasPrefix("\(method) /form ["))
                    // The next request comes later, in a read of its own: the case that stalled.
                    try await Task.sleep(for: .milliseconds(50))
                    let clock = ContinuousClock()
                    let started = clock.now
                    try await connection.send("GET /after HTTP/1.1\r\nHost: site.example\r\n\r\n")
                    let second = try await connection.readResponse()
                    #expect(second.status == 200)
                    #expect(second.bodyText == "GET /after []")
                    #expect(clock.now - started < .seconds(1))
                    try await connection.send("HEAD /after HTTP/1.1\r\nHost: site.example\r\n\r\n")
                    #expect(try await connection.readResponse(toHead: true).status == 200)
                }
                #expect(origin.requests.map(\.method) == [method, "GET"])
            }
        }
    }

    @Test("Expect: 100-continue, then the body, then a GET on the same connection")
    func continueThenGet() async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
                    #expect(try await connection.readResponse().status == 100)
                    try await connection.send("data")
                    #expect(try await connection.readResponse().bodyText == "POST /upload [data]")
                    try await connection.send("GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
                    #expect(try await connection.readResponse().bodyText == "GET /next []")
                }
            }
        }
    }

    @Test("A refusal the node makes itself (405 for PURGE) keeps a sound connection open")
    func refusalKeepsConnection() async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("PURGE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
                    let refused = try await connection.readResponse()
                    #expect(refused.status == 405)
                    #expect(refused.header("connection") == nil)
                    try await connection.send("GET /y HTTP/1.1\r\nHost: a\r\n\r\n")
                    #expect(try await connection.readResponse().bodyText == "GET /y []")
                }
                #expect(origin.requests.map(\.target) == ["/y"])
            }
        }
    }

    @Test("§4.3.4 a stored no-cache + ETag response revalidated by 304 with and without a validator: 200 and the stored body, ten times",
          arguments: [true, false])
    func revalidationBy304(_ notModifiedHasETag: Bool) async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { request in
            if request.header("if-none-match") == "\"v1\"" {
                return OriginReply(status: 304, headers: notModifiedHasETag ? [("ETag", "\"v1\"")] : [])
            }
            return OriginReply(headers: [("Cache-Control", "no-cache"), ("ETag", "\"v1\"")], body: .bytes(Array("stored page".utf8)))
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    for round in 0..<10 {
                        try await connection.send("GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
                        let response = try await connection.readResponse()
                        #expect(response.status == 200, "round \(round)")
                        #expect(response.bodyText == "stored page")
                        if round > 0 { #expect(response.header("cache-status")?.contains("fwd-status=304") == true) }
                    }
                }
                #expect(origin.requestCount == 10)
                #expect(origin.requests.dropFirst().allSatisfy { $0.header("if-none-match") == "\"v1\"" })
            }
        }
    }

    @Test("§4.3.4 a 304 naming another representation updates nothing: one unconditional fetch, never a 502")
    func notModifiedForAnotherRepresentation() async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { request in
            if request.header("if-none-match") != nil { return OriginReply(status: 304, headers: [("ETag", "\"other\"")]) }
            return OriginReply(headers: [("Cache-Control", "no-cache"), ("ETag", "\"v\(request.connectionID)\"")],
                               body: .bytes(Array("fresh copy".utf8)))
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    for _ in 0..<2 {
                        try await connection.send("GET /p HTTP/1.1\r\nHost: a\r\n\r\n")
                        let response = try await connection.readResponse()
                        #expect(response.status == 200)
                        #expect(response.bodyText == "fresh copy")
                    }
                }
                let seen = origin.requests
                #expect(seen.count == 3)
                #expect(seen[1].header("if-none-match") != nil)
                #expect(seen[2].header("if-none-match") == nil)
            }
        }
    }

    @Test("§4.3.2 the client's own conditional is answered 304 after the node revalidated")
    func clientConditionalAfterRevalidation() async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { request in
            request.header("if-none-match") != nil ? OriginReply(status: 304)
                : OriginReply(headers: [("Cache-Control", "no-cache"), ("ETag", "\"v1\"")], body: .bytes(Array("x".utf8)))
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("GET /c HTTP/1.1\r\nHost: a\r\n\r\n")
                    #expect(try await connection.readResponse().status == 200)
                    try await connection.send("GET /c HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"v1\"\r\n\r\n")
                    let answer = try await connection.readResponse()
                    #expect(answer.status == 304)
                    #expect(answer.header("etag") == "\"v1\"")
                }
            }
        }
    }

    @Test("RFC 9110 §9.1 any token method reaches the origin byte for byte; §4.4 an unsafe one invalidates", arguments: [
        "M-SEARCH", "FOO", "get",
    ])
    func extensionMethods(_ method: String) async throws {
        try await withOrigin(Self.echo) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("GET /thing HTTP/1.1\r\nHost: a\r\n\r\n")
                    #expect(try await connection.readResponse().header("cache-status")?.contains("stored") == true)
                    try await connection.send("\(method) /thing HTTP/1.1\r\nHost: a\r\n\r\n")
                    let answer = try await connection.readResponse()
                    #expect(answer.status == 200)
                    #expect(answer.bodyText == "\(method) /thing []")
                    try await connection.send("GET /thing HTTP/1.1\r\nHost: a\r\n\r\n")
                    let after = try await connection.readResponse()
                    // An unknown method is unsafe (RFC 9110 §9.2.1): the stored response is gone.
                    #expect(after.header("cache-status")?.contains("fwd=uri-miss") == true)
                }
                #expect(origin.requests.map(\.method) == ["GET", method, "GET"])
            }
        }
    }

    @Test("RFC 9110 §15.2 a 103 from the origin reaches an HTTP/1.1 client before the 200, and is not stored")
    func earlyHints() async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { _ in
            OriginReply(headers: [("Cache-Control", "max-age=60"), ("Link", "</style.css>; rel=preload")],
                        body: .bytes(Array("page".utf8)), behaviour: .interim([103]))
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    for target in ["/hinted", "/passed"] {
                        let extra = target == "/passed" ? "Cache-Control: no-store\r\n" : ""
                        try await connection.send("GET \(target) HTTP/1.1\r\nHost: a\r\n\(extra)\r\n")
                        let hints = try await connection.readResponse()
                        #expect(hints.status == 103)
                        #expect(hints.header("link") == "</style.css>; rel=preload")
                        let final = try await connection.readResponse()
                        #expect(final.status == 200)
                        #expect(final.bodyText == "page")
                    }
                    try await connection.send("GET /hinted HTTP/1.1\r\nHost: a\r\n\r\n")
                    let hit = try await connection.readResponse()
                    #expect(hit.status == 200)
                    #expect(hit.header("cache-status")?.contains("hit") == true)
                }
                // HTTP/1.0 clients cannot parse interim responses: none is sent.
                let old = try await send("GET /old HTTP/1.0\r\nHost: a\r\n\r\n", to: node)
                #expect(old.status == 200)
            }
        }
    }

    @Test("RFC 9110 §14 ranges from a stored 100 KB object: single, suffix, multipart, unsatisfiable; a miss is cut too")
    func ranges() async throws {
        let body = (0..<102_400).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let script: @Sendable (RecordedRequest) -> OriginReply = { _ in
            OriginReply(headers: [("Cache-Control", "max-age=600"), ("Content-Type", "application/octet-stream"),
                                  ("ETag", "\"big\""), ("Accept-Ranges", "bytes")], body: .bytes(body))
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    func get(_ range: String, _ extra: String = "") async throws -> WireResponse {
                        try await connection.send("GET /big HTTP/1.1\r\nHost: a\r\nRange: \(range)\r\n\(extra)\r\n")
                        return try await connection.readResponse()
                    }
                    // A miss fetches the whole object once and answers the range from it.
                    let miss = try await get("bytes=100-199")
                    #expect(miss.status == 206)
                    #expect(miss.header("content-range") == "bytes 100-199/102400")
                    #expect(miss.body == Array(body[100...199]))
                    #expect(miss.header("cache-status")?.contains("stored") == true)

                    let first = try await get("bytes=0-99")
                    #expect(first.status == 206)
                    #expect(first.header("content-range") == "bytes 0-99/102400")
                    #expect(first.body == Array(body[0...99]))
                    #expect(first.header("cache-status")?.contains("hit") == true)

                    let suffix = try await get("bytes=-100")
                    #expect(suffix.status == 206)
                    #expect(suffix.body == Array(body[102_300...]))

                    let two = try await get("bytes=0-9,5000-5009")
                    #expect(two.status == 206)
                    let type = try #require(two.header("content-type"))
                    #expect(type.hasPrefix("multipart/byteranges; boundary="))
                    let boundary = String(type.dropFirst("multipart/byteranges; boundary=".count))
                    let text = String(decoding: two.body, as: UTF8.self)
                    #expect(text.components(separatedBy: "--\(boundary)").count == 4)
                    #expect(text.contains("content-range: bytes 0-9/102400"))
                    #expect(text.contains("content-range: bytes 5000-5009/102400"))
                    #expect(two.body.count == Int(two.header("content-length") ?? "") ?? -1)

                    let beyond = try await get("bytes=999999-")
                    #expect(beyond.status == 416)
                    #expect(beyond.header("content-range") == "bytes */102400")

                    // §13.1.5: If-Range with another entity-tag gets the whole object.
                    let changed = try await get("bytes=0-9", "If-Range: \"other\"\r\n")
                    #expect(changed.status == 200)
                    #expect(changed.body.count == 102_400)
                }
                #expect(origin.requestCount == 1)
                #expect(origin.requests.first?.header("range") == nil)
            }
        }
    }

    @Test("RFC 9111 §4.2.2 a 200 with a ten-day-old Last-Modified and no Cache-Control is a hit on the second request")
    func heuristicFreshnessByDefault() async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { _ in
            let now = Date()
            return OriginReply(headers: [("Date", HTTPDate.format(Timestamp(seconds: now.timeIntervalSince1970))), ("Last-Modified", HTTPDate.format(Timestamp(seconds: now.timeIntervalSince1970 - 864_000)))],
                               body: .bytes(Array("static".utf8)))
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    for expected in ["fwd=uri-miss", "hit"] {
                        try await connection.send("GET /static.css HTTP/1.1\r\nHost: a\r\n\r\n")
                        let response = try await connection.readResponse()
                        #expect(response.bodyText == "static")
                        #expect(response.header("cache-status")?.contains(expected) == true)
                    }
                }
                #expect(origin.requestCount == 1)
            }
        }
    }
}
