// The whole origin path — call, exchange, pool, connection handler, NIO's HTTP/1.1 client codec —
// on EmbeddedChannels: the test reads the bytes the origin would receive and feeds the bytes it
// would send, so keep-alive reuse, interim responses, backpressure, the stale-connection retry,
// the connection bound and the timers are checked with no sockets and no sleeping.
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import OriginClient

@Suite("Origin connection pipeline")
struct OriginConnectionPipelineTests {
    @Test("interim responses reach the handler before the final head, and the connection is reused")
    func earlyHintsThenReuse() throws {
        let origin = try EmbeddedOrigin()
        let first = Recorder(loop: origin.loop)
        _ = origin.execute(get("/a?b=1"), first)
        #expect(try origin.written(on: 0) == "GET /a?b=1 HTTP/1.1\r\nhost: front.test\r\n\r\n")
        try origin.send("HTTP/1.1 103 Early Hints\r\nlink: </s.css>; rel=preload\r\n\r\n", on: 0)
        try origin.send("HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello", on: 0)
        #expect(first.events == ["interim 103", "interim 102", "head 200", "body hello", "completed"])

        let second = Recorder(loop: origin.loop)
        _ = origin.execute(get("/second", method: .HEAD), second)
        #expect(origin.channels.count == 1)
        #expect(try origin.written(on: 0) == "HEAD /second HTTP/1.1\r\nhost: front.test\r\n\r\n")
        // RFC 9110 §9.3.2: a HEAD response carries the GET's Content-Length and no content.
        try origin.send("HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n", on: 0)
        #expect(second.events == ["head 200", "completed"])
        #expect(try origin.channels[0].finish().isClean)
    }

    @Test("body parts wait for the consumer, and no read is asked for meanwhile")
    func backpressure() throws {
        let origin = try EmbeddedOrigin()
        let recorder = Recorder(loop: origin.loop)
        recorder.holdDeliveries = true
        _ = origin.execute(get("/big"), recorder)
        _ = try origin.written(on: 0)
        let readsBefore = origin.readCounters[0].reads
        try origin.send("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n", on: 0)
        #expect(recorder.events == ["head 200"])
        recorder.release()
        #expect(recorder.events == ["head 200", "body one"])
        recorder.release()
        #expect(recorder.events == ["head 200", "body one", "body two"])
        #expect(origin.readCounters[0].reads == readsBefore)
        recorder.release()
        #expect(recorder.events.last == "completed")
        // Back in the pool, a read stays outstanding so that a close by the origin is seen.
        #expect(origin.readCounters[0].reads == readsBefore + 1)
        #expect(try origin.channels[0].finish().isClean)
    }

    @Test("a pooled connection found closed before any response byte: a GET goes again on a fresh one")
    func staleConnectionRetry() throws {
        let origin = try EmbeddedOrigin()
        let first = Recorder(loop: origin.loop)
        _ = origin.execute(get("/one"), first)
        #expect(try origin.written(on: 0).hasPrefix("GET /one "))
        try origin.send("HTTP/1.1 204 No Content\r\n\r\n", on: 0)
        #expect(first.events == ["head 204", "completed"])

        let second = Recorder(loop: origin.loop)
        _ = origin.execute(get("/two"), second)
        #expect(try origin.written(on: 0).hasPrefix("GET /two "))
        // The origin had closed its idle end just as the request left.
        origin.channels[0].pipeline.fireChannelInactive()
        #expect(origin.channels.count == 2)
        #expect(try origin.written(on: 1).hasPrefix("GET /two "))
        try origin.send("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", on: 1)
        #expect(second.events == ["head 200", "body ok", "completed"])
        #expect(try origin.channels[1].finish().isClean)
    }

    @Test("a POST on a stale connection is not sent again (RFC 9110 §9.2.2)")
    func staleConnectionPost() throws {
        let origin = try EmbeddedOrigin()
        let first = Recorder(loop: origin.loop)
        _ = origin.execute(get("/one"), first)
        #expect(try origin.written(on: 0).hasPrefix("GET /one "))
        try origin.send("HTTP/1.1 204 No Content\r\n\r\n", on: 0)
        let post = Recorder(loop: origin.loop)
        _ = origin.execute(get("/form", method: .POST), post)
        #expect(try origin.written(on: 0) == "POST /form HTTP/1.1\r\nhost: front.test\r\ncontent-length: 0\r\n\r\n")
        origin.channels[0].pipeline.fireChannelInactive()
        #expect(post.events == ["failed origin closed the connection early"])
        #expect(origin.channels.count == 1)
    }

    @Test("beyond the connection bound requests wait in order, then reuse the released connection")
    func connectionBound() throws {
        let origin = try EmbeddedOrigin { $0.connectionsPerOrigin = 1 }
        let recorders = (0..<3).map { _ in Recorder(loop: origin.loop) }
        for (index, recorder) in recorders.enumerated() { _ = origin.execute(get("/\(index)"), recorder) }
        #expect(origin.channels.count == 1)
        for index in 0..<3 {
            #expect(try origin.written(on: 0).hasPrefix("GET /\(index) "))
            try origin.send("HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n\(index)", on: 0)
            #expect(recorders[index].events == ["head 200", "body \(index)", "completed"])
        }
        #expect(origin.channels.count == 1)
        #expect(try origin.channels[0].finish().isClean)
    }

    @Test("Connection: close and close-framed bodies are not reused")
    func notReused() throws {
        let origin = try EmbeddedOrigin()
        let first = Recorder(loop: origin.loop)
        _ = origin.execute(get("/a"), first)
        try origin.send("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\nx", on: 0)
        #expect(first.events == ["head 200", "body x", "completed"])
        #expect(!origin.channels[0].isActive)

        let second = Recorder(loop: origin.loop)
        _ = origin.execute(get("/b"), second)
        #expect(origin.channels.count == 2)
        try origin.send("HTTP/1.1 200 OK\r\n\r\nuntil close", on: 1)
        #expect(second.events == ["head 200", "body until close"])
        try origin.channels[1].close().wait()
        #expect(second.events == ["head 200", "body until close", "completed"])
    }

    @Test("the response-head timer closes the connection and fails the call with a timeout")
    func headTimeout() throws {
        let origin = try EmbeddedOrigin { $0.responseHeadTimeout = .seconds(5) }
        let recorder = Recorder(loop: origin.loop)
        _ = origin.execute(get("/slow"), recorder)
        origin.loop.advanceTime(by: .seconds(4))
        #expect(recorder.events.isEmpty)
        origin.loop.advanceTime(by: .seconds(1))
        #expect(recorder.events == ["failed no response head within the timeout"])
        #expect(!origin.channels[0].isActive)
    }

    /// (idle-body timeout, when the head arrives, when the stalled body fails), in milliseconds, with
    /// a 5 s head timeout: an idle deadline after the head's (the timer, set for the head, fires and
    /// re-arms) and one before it (the timer is brought forward).
    @Test("one timer serves both deadlines: the idle-body one runs from the head, whether it ends before or after the head's",
          arguments: [(10_000, 2_000, 12_000), (1_000, 500, 1_500)])
    func bodyDeadlineAfterHead(idleBody: Int64, headAt: Int64, failsAt: Int64) throws {
        let origin = try EmbeddedOrigin { $0.responseHeadTimeout = .seconds(5); $0.idleBodyTimeout = .milliseconds(idleBody) }
        let recorder = Recorder(loop: origin.loop)
        _ = origin.execute(get("/a"), recorder)
        origin.loop.advanceTime(by: .milliseconds(headAt))
        try origin.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", on: 0)
        origin.loop.advanceTime(by: .milliseconds(failsAt - headAt - 1))
        #expect(recorder.events == ["head 200", "body ab"])
        origin.loop.advanceTime(by: .milliseconds(1))
        #expect(recorder.events == ["head 200", "body ab", "failed response body idle past the timeout"])
        #expect(!origin.channels[0].isActive)
    }

    @Test("an idle pooled connection is closed after the idle-connection timeout")
    func idleTimeout() throws {
        let origin = try EmbeddedOrigin { $0.idleConnectionTimeout = .seconds(60) }
        let recorder = Recorder(loop: origin.loop)
        _ = origin.execute(get("/a"), recorder)
        try origin.send("HTTP/1.1 204 No Content\r\n\r\n", on: 0)
        origin.loop.advanceTime(by: .seconds(59))
        #expect(origin.channels[0].isActive)
        origin.loop.advanceTime(by: .seconds(1))
        #expect(!origin.channels[0].isActive)
    }

    @Test("cancelling mid-response closes the connection; the next request opens another")
    func cancelMidResponse() throws {
        let origin = try EmbeddedOrigin()
        let recorder = Recorder(loop: origin.loop)
        let call = origin.execute(get("/a"), recorder)
        try origin.send("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf", on: 0)
        call.cancel()
        #expect(!origin.channels[0].isActive)
        #expect(recorder.events == ["head 200", "body half"])
        _ = origin.execute(get("/b"), Recorder(loop: origin.loop))
        #expect(origin.channels.count == 2)
    }

    @Test("a streamed request body goes chunked, each write completing when written")
    func chunkedRequestBody() throws {
        let origin = try EmbeddedOrigin()
        let writes = NIOLockedCounter()
        var request = get("/upload", method: .PUT)
        request.body = OriginRequestBody(length: nil) { writer in
            writer.write(ByteBuffer(string: "abc")).flatMap {
                writes.increment()
                return writer.write(ByteBuffer(string: "de"))
            }.map { writes.increment() }
        }
        let recorder = Recorder(loop: origin.loop)
        _ = origin.execute(request, recorder)
        #expect(try origin.written(on: 0)
            == "PUT /upload HTTP/1.1\r\nhost: front.test\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        #expect(writes.value == 2)
        try origin.send("HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n", on: 0)
        #expect(recorder.events == ["head 201", "completed"])
        #expect(try origin.channels[0].finish().isClean)
    }
}

/// A counter the @Sendable body closures can bump (they run on the embedded loop).
final class NIOLockedCounter: @unchecked Sendable {
    private(set) var value = 0
    func increment() { value += 1 }
}
