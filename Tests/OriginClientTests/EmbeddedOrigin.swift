// Test support: an OriginClient whose connections are EmbeddedChannels on one EmbeddedEventLoop,
// with the real pipeline (codec, validator, connection handler), and a recording response
// handler. The test plays the origin by reading what was written and feeding raw response bytes;
// time moves only when the test advances the loop's clock.
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1

@testable import OriginClient

/// Counts the reads the connection handler asks for, so tests can see backpressure.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = Any
    var reads = 0
    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

final class EmbeddedOrigin {
    let loop = EmbeddedEventLoop()
    private(set) var channels: [EmbeddedChannel] = []
    private(set) var readCounters: [ReadCounter] = []
    var client: OriginClient!

    init(configure: (inout OriginClientConfiguration) -> Void = { _ in }) throws {
        var configuration = OriginClientConfiguration()
        configure(&configuration)
        nonisolated(unsafe) let origin = self
        client = OriginClient(
            origins: [try OriginServer(url: "http://origin.test:8080")], configuration: configuration,
            eventLoopGroup: loop, logger: Logger(label: "test.origin")
        ) { index, eventLoop, completion in
            origin.open(index, eventLoop, completion)
        }
    }

    private func open(_ index: Int, _ eventLoop: any EventLoop,
                      _ completion: @escaping (Result<OriginConnectionHandler, any Error>) -> Void) {
        let channel = EmbeddedChannel(loop: loop)
        let counter = ReadCounter()
        let handler = OriginConnectionHandler(origin: index, eventLoop: loop, usesTLS: false, handshakeTimeout: .seconds(2))
        do {
            try channel.pipeline.syncOperations.addHandler(counter)
            try OriginConnector.addHandlers(to: channel, tls: nil, serverName: nil, connection: handler)
        } catch {
            return completion(.failure(error))
        }
        channels.append(channel)
        readCounters.append(counter)
        handler.established.futureResult.assumeIsolated().whenComplete { result in
            completion(result.map { handler })
        }
        channel.connect(to: try! SocketAddress(ipAddress: "127.0.0.1", port: 8080), promise: nil)
    }

    /// Everything written to connection `index` since the last look, as text.
    func written(on index: Int) throws -> String {
        var text = ""
        while let buffer = try channels[index].readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    /// The origin sends `raw` on connection `index`.
    func send(_ raw: String, on index: Int) throws {
        try channels[index].writeInbound(ByteBuffer(string: raw))
    }

    func execute(_ request: OriginRequest, _ recorder: Recorder) -> OriginCall {
        client.execute(request, on: loop, handler: recorder)
    }
}

/// Writes down every callback of one call; deliveries complete at once unless `holdDeliveries`.
final class Recorder: OriginResponseHandling, @unchecked Sendable {
    private let loop: any EventLoop
    private(set) var events: [String] = []
    var holdDeliveries = false
    private(set) var held: [EventLoopPromise<Void>] = []

    /// When set, succeeds with the events once the call completed or failed.
    var done: EventLoopPromise<[String]>?

    init(loop: any EventLoop) {
        self.loop = loop
    }

    var finished: Bool { events.last.map { $0 == "completed" || $0.hasPrefix("failed") } ?? false }

    func originInformationalReceived(_ head: HTTPResponseHead) {
        events.append("interim \(head.status.code)")
    }

    func originResponseHeadReceived(_ head: HTTPResponseHead, from origin: OriginServer) -> EventLoopFuture<Void> {
        events.append("head \(head.status.code)")
        return delivered()
    }

    func originBodyPartReceived(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        events.append("body \(String(buffer: part))")
        return delivered()
    }

    func originResponseCompleted() {
        events.append("completed")
        done?.succeed(events)
    }

    func originFailed(_ failure: OriginFailure, origin: OriginServer, headDelivered: Bool) {
        events.append("failed \(failure)")
        done?.succeed(events)
    }

    /// Completes the oldest held delivery.
    func release() {
        held.removeFirst().succeed()
    }

    private func delivered() -> EventLoopFuture<Void> {
        guard holdDeliveries else { return loop.makeSucceededVoidFuture() }
        let promise = loop.makePromise(of: Void.self)
        held.append(promise)
        return promise.futureResult
    }
}

func get(_ target: String, method: HTTPMethod = .GET) -> OriginRequest {
    OriginRequest(method: method, target: target, headers: HTTPHeaders([("host", "front.test")]))
}
