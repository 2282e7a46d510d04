// The client connection's whole pipeline on an EmbeddedChannel, with the cache engine fetching
// through a scripted origin: a miss, then a hit, on one kept-alive connection; a client that asks
// to close; an origin that fails before and after its head. No socket: the test plays the origin
// and moves the event loop, and each case ends with `finish()` and nothing left over.
import CacheStore
import EdgeCache
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import OriginClient
import Testing

@testable import EdgeHTTP

/// Hands the test each fetch's handler; the test answers for the origin.
final class PipelineOrigin: OriginFetching, @unchecked Sendable {
    final class Fetch: OriginFetch {
        let handler: any OriginResponseHandling
        init(handler: any OriginResponseHandling) { self.handler = handler }
        func cancel() {}
    }

    var fetches: [Fetch] = []
    let originNames = ["http://origin.test"]

    func fetch(_ request: OriginRequest, on eventLoop: any EventLoop, handler: any OriginResponseHandling) -> any OriginFetch {
        let fetch = Fetch(handler: handler)
        fetches.append(fetch)
        return fetch
    }
}

final class ExchangePipeline {
    let channel = EmbeddedChannel()
    let origin = PipelineOrigin()
    let engine: CacheEngine
    private static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    /// For passes only; none of these cases passes a request.
    private static let passOrigin = OriginClient(
        origins: [try! OriginServer(url: "http://127.0.0.1:9")], configuration: .init(),
        eventLoopGroup: group, logger: Logger(label: "test.origin"))

    init() throws {
        var logger = Logger(label: "test.edge")
        logger.logLevel = .critical
        engine = CacheEngine(configuration: CacheConfiguration(), storage: MemoryTier(capacityBytes: 1 << 20), origin: origin,
                             logger: logger)
        try EdgeServer.configureConnection(
            channel, configuration: EdgeConfiguration(), origin: Self.passOrigin, engine: engine, logger: logger,
            accessLog: AccessLog(logger: logger))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
    }

    func send(_ raw: String) throws {
        try channel.writeInbound(ByteBuffer(string: raw))
        channel.embeddedEventLoop.run()
    }

    /// The origin's answer to the latest fetch: a head, then the body (or a failure after `failAfter` bytes).
    func answer(_ body: String, headers: [(String, String)] = [("cache-control", "max-age=60")], failAfterHead: Bool = false) throws {
        let fetch = try #require(origin.fetches.last)
        let head = HTTPResponseHead(version: .http1_1, status: .ok,
                                    headers: HTTPHeaders(headers + [("content-length", "\(body.utf8.count)")]))
        _ = fetch.handler.originResponseHeadReceived(head, from: try OriginServer(url: "http://origin.test"))
        channel.embeddedEventLoop.run()
        if failAfterHead {
            _ = fetch.handler.originBodyPartReceived(ByteBuffer(string: String(body.prefix(2))))
            channel.embeddedEventLoop.run()
            fetch.handler.originFailed(.connectionClosed, origin: try OriginServer(url: "http://origin.test"), headDelivered: true)
        } else {
            _ = fetch.handler.originBodyPartReceived(ByteBuffer(string: body))
            fetch.handler.originResponseCompleted()
        }
        channel.embeddedEventLoop.run()
    }

    func fail(_ failure: OriginFailure) throws {
        let fetch = try #require(origin.fetches.last)
        fetch.handler.originFailed(failure, origin: try OriginServer(url: "http://origin.test"), headDelivered: false)
        channel.embeddedEventLoop.run()
    }

    func written() -> String {
        var text = ""
        while let buffer = try? channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    /// Ends the test's connection: nothing may be left unread or unwritten.
    func finishClean() throws {
        let leftovers = try channel.finish(acceptAlreadyClosed: true)
        #expect(leftovers.isClean, "\(leftovers)")
    }
}

@Suite("The client pipeline on an EmbeddedChannel: exchanges against a scripted origin")
struct ExchangePipelineTests {
    @Test("a miss, then a hit, on one connection: both answered, the connection kept")
    func missThenHit() throws {
        let pipeline = try ExchangePipeline()
        try pipeline.send("GET /a HTTP/1.1\r\nHost: site.test\r\n\r\n")
        #expect(pipeline.origin.fetches.count == 1)
        try pipeline.answer("hello")
        let miss = pipeline.written()
        #expect(miss.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(miss.contains("fwd=uri-miss") && miss.hasSuffix("\r\n\r\nhello"))
        try pipeline.send("GET /a HTTP/1.1\r\nHost: site.test\r\n\r\n")
        let hit = pipeline.written()
        #expect(hit.hasPrefix("HTTP/1.1 200 OK\r\n") && hit.contains("Outpost; hit") && hit.hasSuffix("\r\n\r\nhello"))
        #expect(pipeline.origin.fetches.count == 1)
        #expect(pipeline.channel.isActive)
        #expect(pipeline.engine.stats[.hitsFresh] == 1 && pipeline.engine.stats[.stored] == 1)
        try pipeline.finishClean()
    }

    @Test("a client that asks to close gets Connection: close and the connection ends")
    func clientCloses() throws {
        let pipeline = try ExchangePipeline()
        try pipeline.send("GET /b HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n")
        try pipeline.answer("bye")
        let response = pipeline.written()
        #expect(response.lowercased().contains("\r\nconnection: close\r\n") && response.hasSuffix("bye"))
        #expect(!pipeline.channel.isActive)
        try pipeline.finishClean()
    }

    @Test("the origin fails before its head: a 502 page, and the connection serves the next request")
    func failsBeforeTheHead() throws {
        let pipeline = try ExchangePipeline()
        try pipeline.send("GET /c HTTP/1.1\r\nHost: site.test\r\n\r\n")
        try pipeline.fail(.connectionClosed)
        #expect(pipeline.written().hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
        #expect(pipeline.channel.isActive)
        try pipeline.send("GET /c HTTP/1.1\r\nHost: site.test\r\n\r\n")
        try pipeline.answer("second time")
        #expect(pipeline.written().hasSuffix("second time"))
        try pipeline.finishClean()
    }

    @Test("the origin fails after its head: the client gets the head and part of the body, then the connection closes")
    func failsAfterTheHead() throws {
        let pipeline = try ExchangePipeline()
        try pipeline.send("GET /d HTTP/1.1\r\nHost: site.test\r\n\r\n")
        try pipeline.answer("a long body", headers: [("cache-control", "no-store")], failAfterHead: true)
        let response = pipeline.written()
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n") && response.hasSuffix("\r\n\r\na "))
        #expect(!pipeline.channel.isActive)
        try pipeline.finishClean()
    }
}
