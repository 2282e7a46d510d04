// The public listener's pipeline on an EmbeddedChannel: framing defences (RFC 9112 §6.3, §11.2),
// size limits and connection timers, with no sockets. Each case feeds raw bytes and asserts on the
// raw response and on whether the connection was closed.
import CacheStore
import EdgeCache
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import OriginClient
import Testing

@testable import EdgeHTTP

/// A connection pipeline exactly as the server builds it. Its origin is never contacted by these
/// tests: every request here is refused before forwarding.
final class PipelineHarness {
    let channel = EmbeddedChannel()
    private static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private static let origin = OriginClient(
        origins: [try! OriginServer(url: "http://127.0.0.1:9")], configuration: .init(),
        eventLoopGroup: group, logger: Logger(label: "test.origin"))
    private static let engine = CacheEngine(
        configuration: CacheConfiguration(), storage: MemoryTier(capacityBytes: 1 << 20), origin: origin,
        logger: Logger(label: "test.cache"))

    init(_ configure: (inout EdgeConfiguration) -> Void = { _ in }) throws {
        var configuration = EdgeConfiguration()
        configure(&configuration)
        var logger = Logger(label: "test.edge")
        logger.logLevel = .critical
        try EdgeServer.configureConnection(
            channel, configuration: configuration, origin: Self.origin, engine: Self.engine, logger: logger,
            accessLog: AccessLog(logger: logger))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
    }

    /// Feeds raw request bytes; returns everything written back so far.
    func exchange(_ raw: String) throws -> String {
        try channel.writeInbound(ByteBuffer(string: raw))
        return written()
    }

    func written() -> String {
        var text = ""
        while let buffer = try? channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    var isClosed: Bool { !channel.isActive }
}

@Suite("Framing defences and limits (RFC 9112 §6.3, §11.2)")
struct FramingDefenceTests {
    static let refused: [(name: String, request: String, status: String)] = [
        ("Content-Length and Transfer-Encoding together",
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "400"),
        ("two differing Content-Length lines",
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "400"),
        ("a Content-Length list with differing values",
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd", "400"),
        ("a Content-Length that is not a number",
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", "400"),
        ("a negative Content-Length",
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "400"),
        ("a Transfer-Encoding that does not end in chunked",
         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "400"),
        ("an unknown Transfer-Encoding",
         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "400"),
        ("RFC 9112 §6.1 a coding before chunked that is not understood (501, never silently removed)",
         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "501"),
        ("Connection naming Host (the origin would be asked without the key's authority)",
         "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Host\r\n\r\n", "400"),
        ("obs-fold in a header",
         "GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n", "400"),
        ("whitespace between a field name and the colon",
         "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "400"),
        ("an HTTP/1.1 request without Host",
         "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", "400"),
        ("two Host lines",
         "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
        ("an absolute-form target with userinfo (RFC 9110 §4.2.4)",
         "GET http://trusted.example@evil.example/ HTTP/1.1\r\nHost: a\r\n\r\n", "400"),
        ("a garbage request line",
         "HELLO\r\n\r\n", "400"),
        ("an unsupported expectation",
         "POST / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", "417"),
    ]

    @Test("refused with the right status, and the connection closed", arguments: refused)
    func refusedAndClosed(_ testCase: (name: String, request: String, status: String)) throws {
        let harness = try PipelineHarness()
        let response = try harness.exchange(testCase.request)
        #expect(response.hasPrefix("HTTP/1.1 \(testCase.status) "), "\(testCase.name): \(response.prefix(80))")
        #expect(response.lowercased().contains("connection: close"), "\(testCase.name)")
        #expect(harness.isClosed, "\(testCase.name): connection must close")
    }

    @Test("RFC 9112 §6.1 Transfer-Encoding in an HTTP/1.0 request is faulty framing: 400 and closed")
    func transferEncodingInHTTP10() throws {
        let harness = try PipelineHarness()
        let response = try harness.exchange(
            "POST / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.0 400 "), "\(response.prefix(80))")
        #expect(harness.isClosed)
    }

    @Test("a 64 KiB header is answered 431 and the connection closed")
    func hugeHeader() throws {
        let harness = try PipelineHarness()
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "b", count: 64 * 1024))\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 431 "))
        #expect(harness.isClosed)
    }

    @Test("more header lines than allowed is answered 431")
    func tooManyHeaders() throws {
        let harness = try PipelineHarness { $0.maximumHeaderCount = 10 }
        let fields = (0..<11).map { "X-F\($0): v\r\n" }.joined()
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\n\(fields)\r\n")
        #expect(response.hasPrefix("HTTP/1.1 431 "))
    }

    @Test("a request target over the limit is answered 414")
    func longTarget() throws {
        let harness = try PipelineHarness()
        let response = try harness.exchange("GET /\(String(repeating: "p", count: 9000)) HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 414 "))
        #expect(harness.isClosed)
    }

    @Test("a declared body over the limit is answered 413 before any of it is read")
    func declaredBodyTooLarge() throws {
        let harness = try PipelineHarness { $0.maximumRequestBodyBytes = 1000 }
        let response = try harness.exchange("PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 413 "))
        #expect(harness.isClosed)
    }

    @Test("error pages name no origin and are not cacheable")
    func errorPageContent() throws {
        let harness = try PipelineHarness()
        let response = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n")
        #expect(response.contains("cache-control: no-store"))
        #expect(!response.contains("127.0.0.1"))
        #expect(response.contains("400 Bad Request: the request is malformed."))
    }
}

@Suite("Connection timers")
struct ConnectionTimerTests {
    @Test("a head that does not complete within the header-read timeout gets 408 and a close (slowloris)")
    func slowHead() throws {
        let harness = try PipelineHarness { $0.headerReadTimeout = .seconds(5) }
        _ = try harness.exchange("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(harness.written().isEmpty)
        #expect(!harness.isClosed)
        _ = try harness.exchange("still coming")
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(harness.written().hasPrefix("HTTP/1.1 408 "))
        #expect(harness.isClosed)
    }

    @Test("an idle connection closes after the keep-alive timeout, without a response")
    func idleKeepAlive() throws {
        let harness = try PipelineHarness { $0.keepAliveTimeout = .seconds(30); $0.headerReadTimeout = .seconds(5) }
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(!harness.isClosed)
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(harness.isClosed)
        #expect(harness.written().isEmpty)
    }
}
