// Tests for ScriptedOrigin over real loopback sockets: a byte-level client sends hand-written
// requests and checks exactly what the origin puts on the wire, and what it recorded.

import NIOCore
import NIOPosix
import OutpostTesting
import Testing

@Suite(.timeLimit(.minutes(1)))
struct ScriptedOriginTests {
    @Test func recordsMethodTargetHeadersAndBodyOfAPost() async throws {
        try await withOrigin { _ in .ok("stored", headers: [("X-Origin", "yes")]) } run: { origin in
            let response = try await WireConnection.with(port: origin.port) { connection in
                try await connection.send(
                    "POST /upload?id=7 HTTP/1.1\r\nHost: example.test\r\nX-Tag: one\r\nx-tag: two\r\n"
                        + "Content-Length: 11\r\n\r\nhello world"
                )
                return try await connection.readResponse()
            }

            #expect(response.status == 200)
            #expect(response.header("x-origin") == "yes")
            #expect(String(decoding: response.body, as: UTF8.self) == "stored")
            let requests = origin.requests
            try #require(requests.count == 1)
            let request = requests[0]
            #expect(request.method == "POST")
            #expect(request.target == "/upload?id=7")
            #expect(request.version == "HTTP/1.1")
            #expect(request.headers.map(\.name) == ["Host", "X-Tag", "x-tag", "Content-Length"])
            #expect(request.headerValues("X-TAG") == ["one", "two"])
            #expect(request.header("host") == "example.test")
            #expect(String(decoding: request.body, as: UTF8.self) == "hello world")
        }
    }

    @Test func keepsTheConnectionAliveAndAnswersPipelinedRequestsInOrder() async throws {
        try await withOrigin { request in
            // The first answer is slow, so an out-of-order origin would answer /second first.
            OriginReply(
                body: .bytes(Array("body of \(request.target)".utf8)),
                behaviour: request.target == "/first" ? .delayHead(.milliseconds(50)) : .normal
            )
        } run: { origin in
            let bodies = try await WireConnection.with(port: origin.port) { connection in
                try await connection.send("GET /zero HTTP/1.1\r\nHost: a\r\n\r\n")
                let zero = try await connection.readResponse()
                try await connection.send(
                    "GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                )
                let first = try await connection.readResponse()
                let second = try await connection.readResponse()
                #expect(second.header("connection") == "close")
                #expect(await connection.readUntilEnd().isEmpty)
                #expect(connection.end == .endOfFile)
                return [zero, first, second].map { String(decoding: $0.body, as: UTF8.self) }
            }

            #expect(bodies == ["body of /zero", "body of /first", "body of /second"])
            #expect(origin.requests.map(\.target) == ["/zero", "/first", "/second"])
            #expect(Set(origin.requests.map(\.connectionID)).count == 1)
            #expect(origin.connectionCount == 1)

            _ = try await WireConnection.with(port: origin.port) { connection in
                try await connection.send("GET /other HTTP/1.1\r\nHost: a\r\n\r\n")
                return try await connection.readResponse()
            }
            #expect(origin.connectionCount == 2)
            #expect(origin.requests.last?.connectionID != origin.requests.first?.connectionID)
        }
    }

    @Test func holdsTheBodyUntilTheGateOpens() async throws {
        let gate = OriginGate()
        try await withOrigin { _ in OriginReply(body: .bytes(Array("held".utf8)), behaviour: .holdBody(gate)) } run: { origin in
            try await WireConnection.with(port: origin.port) { connection in
                try await connection.send("GET /h HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                let head = try await connection.readResponse(toHead: true)
                #expect(head.status == 200)
                #expect(head.header("content-length") == "4")
                // The answer is parked at the gate, its body not yet written.
                try await waitUntil { gate.held == 1 }
                gate.open()
                #expect(gate.held == 0)
                #expect(await connection.readUntilEnd() == Array("held".utf8))
            }
        }
    }

    @Test func sendsAChunkedBodyChunkByChunk() async throws {
        let chunks = ["hello", " chunked", " world of sixteen"].map { Array($0.utf8) }
        try await withOrigin { _ in
            OriginReply(body: .chunked(chunks, interval: .milliseconds(20)))
        } run: { origin in
            let response = try await WireConnection.with(port: origin.port) { connection in
                try await connection.send("GET /c HTTP/1.1\r\nHost: a\r\n\r\n")
                return try await connection.readResponse()
            }

            #expect(response.header("transfer-encoding") == "chunked")
            #expect(response.header("content-length") == nil)
            #expect(String(decoding: response.body, as: UTF8.self) == "hello chunked world of sixteen")
            #expect(
                String(decoding: response.wireBody, as: UTF8.self)
                    == "5\r\nhello\r\n8\r\n chunked\r\n11\r\n world of sixteen\r\n0\r\n\r\n"
            )
        }
    }

    @Test func streamsAGeneratedBodyOfEightMebibytes() async throws {
        let size = 8 * 1024 * 1024 + 17  // a partial last piece, too
        try await withOrigin { _ in OriginReply(body: .generated(size: size, pattern: 0x7A)) } run: { origin in
            let (head, get) = try await WireConnection.with(port: origin.port) { connection in
                try await connection.send("HEAD /big HTTP/1.1\r\nHost: a\r\n\r\n")
                let head = try await connection.readResponse(toHead: true)
                try await connection.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
                return (head, try await connection.readResponse())
            }

            #expect(head.header("content-length") == String(size))
            #expect(head.wireBody.isEmpty)
            #expect(get.header("content-length") == String(size))
            #expect(get.body.count == size)
            #expect(get.body.allSatisfy { $0 == 0x7A })
            #expect(origin.requests.map(\.method) == ["HEAD", "GET"])
        }
    }

    @Test func shortBodyDeclaresTheFullLengthAndClosesEarly() async throws {
        try await withOrigin { _ in
            OriginReply(body: .bytes(Array(repeating: 0x62, count: 100)), behaviour: .shortBody(sendBytes: 10))
        } run: { origin in
            let (head, rest, end) = try await WireConnection.with(port: origin.port) { connection in
                try await connection.send("GET /short HTTP/1.1\r\nHost: a\r\n\r\n")
                let head = try await connection.readResponse(toHead: true)
                return (head, await connection.readUntilEnd(), connection.end)
            }

            #expect(head.status == 200)
            #expect(head.header("content-length") == "100")
            #expect(rest == Array(repeating: 0x62, count: 10))
            #expect(end == .endOfFile)
        }
    }

    @Test func garbageStatusLineIsExactlyThoseBytesThenEndOfFile() async throws {
        try await withOrigin { _ in OriginReply(behaviour: .garbageStatusLine) } run: { origin in
            let (bytes, end) = try await WireConnection.with(port: origin.port) { connection in
                try await connection.send("GET /g HTTP/1.1\r\nHost: a\r\n\r\n")
                return (await connection.readUntilEnd(), connection.end)
            }

            #expect(String(decoding: bytes, as: UTF8.self) == "HTTP/1.1 abc garbage\r\n\r\n")
            #expect(end == .endOfFile)
            #expect(origin.requestCount == 1)
        }
    }

    @Test func resetMidBodyEndsTheReadWithAConnectionReset() async throws {
        try await withOrigin { _ in
            OriginReply(body: .generated(size: 1_000_000), behaviour: .resetMidBody(afterBytes: 1000))
        } run: { origin in
            let (head, rest, end) = try await WireConnection.with(port: origin.port) { connection in
                try await connection.send("GET /r HTTP/1.1\r\nHost: a\r\n\r\n")
                let head = try await connection.readResponse(toHead: true)
                return (head, await connection.readUntilEnd(), connection.end)
            }

            #expect(head.header("content-length") == "1000000")
            #expect(rest == Array(repeating: 0x61, count: 1000))  // bytes already received are read before the reset
            #expect(end == .connectionReset)
        }
    }

    @Test func interimResponsesComeBeforeTheFinalOne() async throws {
        try await withOrigin { _ in
            OriginReply(headers: [("Link", "</s.css>; rel=preload")], body: .bytes([0x31]), behaviour: .interim([100, 103]))
        } run: { origin in
            let responses = try await WireConnection.with(port: origin.port) { connection in
                try await connection.send("GET /i HTTP/1.1\r\nHost: a\r\n\r\n")
                return [
                    try await connection.readResponse(toHead: true),
                    try await connection.readResponse(toHead: true),
                    try await connection.readResponse(),
                ]
            }

            #expect(responses.map(\.status) == [100, 103, 200])
            #expect(responses[1].header("link") == "</s.css>; rel=preload")
            #expect(responses[2].body == [0x31])
        }
    }

    @Test func closeWithoutResponseAndHangSendNothing() async throws {
        try await withOrigin { request in
            OriginReply(behaviour: request.target == "/close" ? .closeWithoutResponse : .hang)
        } run: { origin in
            let closed = try await WireConnection.with(port: origin.port) { connection in
                try await connection.send("GET /close HTTP/1.1\r\nHost: a\r\n\r\n")
                return (await connection.readUntilEnd(), connection.end)
            }
            #expect(closed.0.isEmpty)
            #expect(closed.1 == .endOfFile)

            let hung = try await WireConnection.with(port: origin.port) { connection in
                try await connection.send("GET /hang HTTP/1.1\r\nHost: a\r\n\r\n")
                while origin.requestCount < 2 { try await Task.sleep(for: .milliseconds(5)) }
                try await origin.shutdown()  // the only thing that ends a hung answer
                return (await connection.readUntilEnd(), connection.end)
            }
            #expect(hung.0.isEmpty)
            #expect(hung.1 == .endOfFile)
            #expect(origin.requests.map(\.target) == ["/close", "/hang"])
        }
    }
}

