// Hits sent from a head encoded once and kept with the stored entry (ProxyHandler+EncodedHits):
// over real sockets, the fields a client receives are the ones the general path sends, the body
// is whole for small and large objects, pipelining and closing connections keep working, and
// responses the fast lane must not take (an upstream Cache-Status to append to) still go right.
import NIOCore
import OutpostNode
import OutpostTesting
import Testing

@Suite("Hits from an encoded head", .timeLimit(.minutes(1)))
struct EncodedHitTests {
    static let fields: [(String, String)] = [
        ("Cache-Control", "max-age=600"), ("ETag", "\"e1\""), ("Content-Type", "text/plain"), ("X-Custom", "one"),
        ("Server", "origin-server"),
    ]

    /// Field lines as a client sees them, names lower-cased, without the two that move with
    /// time: Age, and Cache-Status's ttl (its value is checked on its own).
    private func fieldSet(_ response: WireResponse) -> [String] {
        response.headers.map { field in
            let name = field.name.lowercased()
            switch name {
            case "age": return "age"
            case "cache-status": return "cache-status: " + field.value.split(separator: ";").prefix(2).joined(separator: ";")
            default: return "\(name): \(field.value)"
            }
        }.sorted()
    }

    @Test("a GET hit carries the fields a HEAD hit (the general path) carries, each once, twice over")
    func sameFieldsAsTheGeneralPath() async throws {
        try await withOrigin({ _ in .ok("small body", headers: Self.fields) }) { origin in
            try await withNode(origins: [origin]) { node in
                #expect(try await request("/a", to: node).cacheStatus.contains("fwd=uri-miss"))
                let first = try await request("/a", to: node)   // encodes the head and keeps it
                let second = try await request("/a", to: node)  // sends the kept head
                let general = try await request("/a", "HEAD", to: node)
                for hit in [first, second] {
                    #expect(hit.status == 200)
                    #expect(hit.bodyText == "small body")
                    #expect(hit.cacheStatus.hasPrefix("Outpost; hit"), "\(hit.cacheStatus)")
                    #expect(hit.headerValues("age").count == 1)
                    #expect(hit.headerValues("content-length") == ["10"])
                    #expect(hit.headerValues("cache-status").count == 1)
                    #expect(fieldSet(hit) == fieldSet(general))
                }
                #expect(general.cacheStatus.hasPrefix("Outpost; hit"))
                #expect(origin.requestCount == 1)
                // The hits took the fast lane: the encoded head is kept with the stored entry.
                let key = try #require(node.engine.key(forURL: "http://site.example/a"))
                let kept = try #require(node.engine.storage.variants(for: key).first?.encodedHead)
                #expect(String(buffer: kept).hasPrefix("HTTP/1.1 200 OK\r\n"))
            }
        }
    }

    @Test("a large body follows the encoded head uncopied and whole")
    func largeBody() async throws {
        let body = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await withOrigin({ _ in OriginReply(headers: [(name: "Cache-Control", value: "max-age=600")], body: .bytes(body)) }) { origin in
            try await withNode(origins: [origin]) { node in
                _ = try await request("/large", to: node)
                for _ in 0..<2 {
                    let hit = try await request("/large", to: node)
                    #expect(hit.cacheStatus.hasPrefix("Outpost; hit"))
                    #expect(hit.body == body)
                }
            }
        }
    }

    @Test("pipelined hits, a HEAD and a miss between them, answered in order on one connection")
    func pipelinedHits() async throws {
        try await withOrigin({ request in .ok("body of \(request.target)", headers: Self.fields) }) { origin in
            try await withNode(origins: [origin]) { node in
                _ = try await request("/p", to: node)
                try await WireConnection.with(port: node.port) { connection in
                    let get = "GET /p HTTP/1.1\r\nHost: site.example\r\n\r\n"
                    try await connection.send(get + get + "HEAD /p HTTP/1.1\r\nHost: site.example\r\n\r\n"
                        + "GET /other HTTP/1.1\r\nHost: site.example\r\n\r\n" + get)
                    for _ in 0..<2 { #expect(try await connection.readResponse().bodyText == "body of /p") }
                    let head = try await connection.readResponse(toHead: true)
                    #expect(head.header("content-length") == "10")
                    let miss = try await connection.readResponse()
                    #expect(miss.bodyText == "body of /other")
                    #expect(miss.cacheStatus.contains("fwd=uri-miss"))
                    let last = try await connection.readResponse()
                    #expect(last.bodyText == "body of /p")
                    #expect(last.cacheStatus.hasPrefix("Outpost; hit"))
                }
                #expect(origin.requestCount == 2)
            }
        }
    }

    @Test("Connection: close and HTTP/1.0 hits say close and end the connection")
    func closingHits() async throws {
        try await withOrigin({ _ in .ok("closing", headers: Self.fields) }) { origin in
            try await withNode(origins: [origin]) { node in
                _ = try await request("/c", to: node)
                for raw in ["GET /c HTTP/1.1\r\nHost: site.example\r\nConnection: close\r\n\r\n",
                            "GET /c HTTP/1.0\r\nHost: site.example\r\n\r\n"] {
                    try await WireConnection.with(port: node.port) { connection in
                        try await connection.send(raw)
                        let response = try await connection.readResponse()
                        #expect(response.bodyText == "closing")
                        #expect(response.cacheStatus.hasPrefix("Outpost; hit"))
                        #expect(response.header("connection") == "close")
                        #expect(await connection.readUntilEnd().isEmpty)
                        #expect(connection.end == .endOfFile)
                    }
                }
            }
        }
    }

    @Test("RFC 9211 §2: a stored upstream Cache-Status is kept, and this node's member is appended after it")
    func upstreamCacheStatus() async throws {
        let upstream = Self.fields + [("Cache-Status", "Upstream; hit")]
        try await withOrigin({ _ in .ok("via upstream", headers: upstream) }) { origin in
            try await withNode(origins: [origin]) { node in
                _ = try await request("/u", to: node)
                for _ in 0..<2 {
                    let hit = try await request("/u", to: node)
                    let members = hit.headerValues("cache-status").joined(separator: ", ")
                    #expect(members.hasPrefix("Upstream; hit, Outpost; hit"), "\(members)")
                    #expect(hit.bodyText == "via upstream")
                }
            }
        }
    }
}
