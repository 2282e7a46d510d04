// The origin client against a real HTTP/1.1 origin on 127.0.0.1 (OutpostTesting's ScriptedOrigin):
// keep-alive reuse counted by the origin's own connection numbers, interim responses, the retry
// after a reused connection closed without an answer, request bodies, and a refused connect.
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import OutpostTesting
import Testing

@testable import OriginClient

@Suite("Origin client over loopback", .timeLimit(.minutes(1)))
struct OriginClientLoopbackTests {
    /// Runs `body` with a client of one event loop talking to `origin`.
    func withClient(
        _ url: String, configure: (inout OriginClientConfiguration) -> Void = { _ in },
        _ body: (OriginClient, any EventLoop) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = OriginClientConfiguration()
        configure(&configuration)
        let client = OriginClient(origins: [try OriginServer(url: url)], configuration: configuration,
                                  eventLoopGroup: group, logger: Logger(label: "test.origin-client"))
        do {
            try await body(client, group.next())
        } catch {
            try? await client.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
        try await client.shutdown()
        try await group.shutdownGracefully()
    }

    /// One call; returns the handler's events once it ended.
    func call(_ client: OriginClient, _ request: OriginRequest, on loop: any EventLoop) async throws -> [String] {
        try await loop.flatSubmit {
            let recorder = Recorder(loop: loop)
            let done = loop.makePromise(of: [String].self)
            recorder.done = done
            _ = client.execute(request, on: loop, handler: recorder)
            return done.futureResult
        }.get()
    }

    @Test("sequential requests share one origin connection")
    func keepAlive() async throws {
        let origin = try await ScriptedOrigin.start { request in .ok("at \(request.target)") }
        try await withClient(origin.url) { client, loop in
            for index in 0..<3 {
                let events = try await call(client, get("/\(index)"), on: loop)
                #expect(events == ["head 200", "body at /\(index)", "completed"])
            }
        }
        #expect(origin.connectionCount == 1)
        #expect(origin.requests.map(\.connectionID) == [1, 1, 1])
        #expect(origin.requests.first?.header("host") == "front.test")
        try await origin.shutdown()
    }

    @Test("103 Early Hints and 102 Processing reach the handler before the final head")
    func interim() async throws {
        let origin = try await ScriptedOrigin.start { _ in
            OriginReply(headers: [("Link", "</a.css>; rel=preload")], body: .bytes(Array("final".utf8)),
                        behaviour: .interim([103, 102]))
        }
        try await withClient(origin.url) { client, loop in
            let events = try await call(client, get("/"), on: loop)
            #expect(events == ["interim 103", "interim 102", "head 200", "body final", "completed"])
        }
        try await origin.shutdown()
    }

    @Test("a reused connection closed without an answer: the GET is sent again on a fresh connection")
    func staleRetry() async throws {
        let origin = try await ScriptedOrigin.start { request in
            request.target == "/dropped" && request.connectionID == 1
                ? OriginReply(behaviour: .closeWithoutResponse) : .ok("fine")
        }
        try await withClient(origin.url) { client, loop in
            let first = try await call(client, get("/first"), on: loop)
            #expect(first.last == "completed")
            let retried = try await call(client, get("/dropped"), on: loop)
            #expect(retried == ["head 200", "body fine", "completed"])
        }
        #expect(origin.requests.map(\.connectionID) == [1, 1, 2])
        try await origin.shutdown()
    }

    @Test("a request body with a declared length arrives whole, framed by Content-Length")
    func requestBody() async throws {
        let origin = try await ScriptedOrigin.start { request in .ok("got \(request.body.count)") }
        try await withClient(origin.url) { client, loop in
            var request = get("/upload", method: .POST)
            request.body = OriginRequestBody(length: 6) { writer in
                writer.write(ByteBuffer(string: "abc")).flatMap { writer.write(ByteBuffer(string: "def")) }
            }
            let events = try await call(client, request, on: loop)
            #expect(events == ["head 200", "body got 6", "completed"])
        }
        #expect(origin.requests.first?.header("content-length") == "6")
        #expect(origin.requests.first.map { String(decoding: $0.body, as: UTF8.self) } == "abcdef")
        try await origin.shutdown()
    }

    @Test("a refused connect fails at once as a connect failure")
    func refused() async throws {
        let dead = try DeadOrigin()
        // A back-off longer than any loaded test run, so "down" is still true when it is asked.
        try await withClient("http://127.0.0.1:\(dead.port)", configure: {
            $0.failureBackoff = .seconds(120)
            $0.maximumFailureBackoff = .seconds(120)
        }) { client, loop in
            let events = try await call(client, get("/"), on: loop)
            #expect(events == ["failed connect failed: connection refused"])
            #expect(!client.anyOriginUp())
        }
    }
}
