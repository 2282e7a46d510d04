// What the client sees when an origin fails: 502 for refused or broken origins, 504 for slow
// ones, an abrupt close when a body breaks after the head — never a truncated "complete" body —
// and passive health that routes around a dead origin.
import NIOCore
import OutpostNode
import OutpostTesting
import Testing

@Suite("Origin failures", .timeLimit(.minutes(1)))
struct OriginFailureTests {
    /// An origin URL on which nothing listens (an origin started, then stopped).
    /// A port that refuses connections for the whole test (bound, never listening).
    func deadOrigin() async throws -> DeadOrigin {
        try DeadOrigin()
    }

    @Test("origin down: 502 at once, not after the connect timeout, with a body that names no origin")
    func originDown() async throws {
        let dead = try await deadOrigin()
        // A refused connection is answered at once (well under a second on an idle machine); the
        // bound leaves room for a loaded test run yet stays far below a connect timeout waited out.
        try await withNode(origins: [dead], configure: { $0.originClient.connectTimeout = .seconds(10) }) { node in
            let started = ContinuousClock.now
            let response = try await send("GET / HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
            #expect(response.status == 502)
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(!response.bodyText.contains("127.0.0.1"))
            #expect(!response.bodyText.contains(String(dead.port)))
            #expect(response.bodyText.hasPrefix("502 Bad Gateway"))
        }
    }

    @Test("origin slower than the response-head timeout: 504")
    func headTimeout() async throws {
        // The origin answers after 6 s; the 504 must come well before (a loaded machine included).
        try await withOrigin({ _ in OriginReply(body: .bytes(Array("late".utf8)), behaviour: .delayHead(.seconds(6))) }) { origin in
            try await withNode(origins: [origin], configure: { $0.originClient.responseHeadTimeout = .milliseconds(300) }) { node in
                let started = ContinuousClock.now
                let response = try await send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                #expect(response.status == 504)
                #expect(ContinuousClock.now - started < .seconds(4))
            }
        }
    }

    @Test("origin reset mid-body: the client's connection closes before the declared length arrives")
    func resetMidBody() async throws {
        try await withOrigin({ _ in OriginReply(body: .generated(size: 200_000), behaviour: .resetMidBody(afterBytes: 10_000)) }) { origin in
            try await withNode(origins: [origin]) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("GET /r HTTP/1.1\r\nHost: a\r\n\r\n")
                    let head = try await connection.readResponse(toHead: true)
                    #expect(head.status == 200)
                    #expect(head.header("content-length") == "200000")
                    let rest = await connection.readUntilEnd()
                    #expect(rest.count < 200_000)
                    #expect(connection.end != nil)
                }
            }
        }
    }

    @Test("origin closes early (short body): the client never gets a complete-looking response")
    func shortBody() async throws {
        try await withOrigin({ _ in OriginReply(body: .generated(size: 50_000), behaviour: .shortBody(sendBytes: 5_000)) }) { origin in
            try await withNode(origins: [origin]) { node in
                await #expect(throws: WireError.self) {
                    _ = try await send("GET /s HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                }
            }
        }
    }

    @Test("a chunked body that stalls past the idle-body timeout ends the client connection without a final chunk")
    func idleBody() async throws {
        let chunks = [Array("first".utf8), Array("second".utf8)]
        try await withOrigin({ _ in OriginReply(body: .chunked(chunks, interval: .seconds(3))) }) { origin in
            try await withNode(origins: [origin], configure: { $0.originClient.idleBodyTimeout = .milliseconds(300) }) { node in
                await #expect(throws: WireError.self) {
                    _ = try await send("GET /stall HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                }
            }
        }
    }

    @Test("a garbage status line from the origin: 502")
    func garbage() async throws {
        try await withOrigin({ _ in OriginReply(behaviour: .garbageStatusLine) }) { origin in
            try await withNode(origins: [origin]) { node in
                let response = try await send("GET / HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                #expect(response.status == 502)
            }
        }
    }

    @Test("an origin that closes without answering: 502")
    func closesWithoutAnswer() async throws {
        try await withOrigin({ _ in OriginReply(behaviour: .closeWithoutResponse) }) { origin in
            try await withNode(origins: [origin]) { node in
                let response = try await send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", to: node)
                #expect(response.status == 502)
            }
        }
    }

    @Test("a dead origin among two: idempotent requests are retried on the other, and the dead one is skipped after")
    func retryOnAnother() async throws {
        let dead = try await deadOrigin()
        try await withOrigin({ request in .ok("alive \(request.target)") }) { alive in
            try await withNode(origins: [dead, alive]) { node in
                for index in 0..<4 {
                    let response = try await send("GET /x\(index) HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                    #expect(response.status == 200)
                    #expect(response.bodyText == "alive /x\(index)")
                }
                #expect(alive.requestCount == 4)
                #expect(node.origin.anyOriginUp())
            }
        }
    }

    @Test("a POST is not retried on another origin (RFC 9110 §9.2.2), but the next request avoids the dead one")
    func postNotRetried() async throws {
        let dead = try await deadOrigin()
        try await withOrigin({ _ in .ok("alive") }) { alive in
            try await withNode(origins: [dead, alive]) { node in
                let first = try await send("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", to: node)
                #expect(first.status == 502)
                let second = try await send("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", to: node)
                #expect(second.status == 200)
                #expect(alive.requestCount == 1)
            }
        }
    }
}
