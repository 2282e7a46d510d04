// ScriptedOrigin: a real HTTP/1.1 origin on 127.0.0.1 (port 0) for integration tests, in-process.
//
// Role: it records every request it receives and answers each one with whatever the test's script
// returns, including misbehaviours (delays, resets, short bodies, garbage, silence). Requests are
// decoded by NIO's `HTTPRequestDecoder`; responses are written as raw bytes by this code (see
// ScriptedOrigin+Reply.swift), so that malformed answers are possible.
//
// Invariants:
// - A request is recorded, and the script consulted, when the request is complete (its `.end`),
//   for every behaviour. A request whose body never completes is never recorded; a
//   `.closeWithoutResponse` or `.hang` takes effect once the request (with its body) has arrived.
// - Requests on one connection are answered strictly in arrival order (pipelining): the next answer
//   starts only when the previous one has been written completely.
// - Every wait happens on the connection's event loop (`scheduleTask`); nothing blocks a thread.
// - Nothing is closed before the bytes written ahead of it reached the socket (NIO drops pending
//   writes on close).
// - `shutdown()` closes every connection, the listening socket, and the origin's own event loop.

import NIOConcurrencyHelpers
import EdgeHTTP
import NIOCore
import NIOHTTP1
import NIOPosix

/// One request as the origin received it.
public struct RecordedRequest: Sendable {
    public var method: String
    /// The request-target exactly as received, e.g. `/a?b=1`.
    public var target: String
    public var version: String
    /// Every field line, in order, names spelled as received.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The TCP connection it arrived on; connections are numbered 1, 2, … in accept order.
    public var connectionID: Int

    public init(
        method: String,
        target: String,
        version: String = "HTTP/1.1",
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        connectionID: Int = 1
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.connectionID = connectionID
    }

    /// The first value of the field `name` (case-insensitive).
    public func header(_ name: String) -> String? { self.headerValues(name).first }

    /// Every value of the field `name` (case-insensitive), in order.
    public func headerValues(_ name: String) -> [String] {
        let wanted = name.lowercased()
        return self.headers.filter { $0.name.lowercased() == wanted }.map(\.value)
    }

    /// RFC 9112 §9.3: HTTP/1.1 persists unless "close" is sent; HTTP/1.0 only with "keep-alive".
    var asksToClose: Bool {
        let tokens = self.headerValues("connection")
            .flatMap { $0.split(separator: ",") }
            .map { $0.filter { $0 != " " && $0 != "\t" }.lowercased() }
        if tokens.contains("close") { return true }
        return self.version == "HTTP/1.0" && !tokens.contains("keep-alive")
    }
}

/// An HTTP/1.1 origin on a loopback port that answers as scripted and remembers what it was asked.
/// It owns one event-loop thread until `shutdown()` is called.
public final class ScriptedOrigin: Sendable {
    /// The port it listens on, chosen by the kernel.
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let serverChannel: any Channel
    private let state: NIOLockedValueBox<State>

    struct State {
        var requests: [RecordedRequest] = []
        var connectionCount = 0
        var openConnections: [Int: any Channel] = [:]
        var isShutDown = false
    }

    /// Starts listening on 127.0.0.1 with a kernel-chosen port. `script` is called once per complete
    /// request, on the origin's event loop; it must not block.
    public static func start(
        _ script: @escaping @Sendable (RecordedRequest) -> OriginReply
    ) async throws -> ScriptedOrigin {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = NIOLockedValueBox(State())
        do {
            let serverChannel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { channel in
                    let id: Int? = state.withLockedValue { state in
                        guard !state.isShutDown else { return nil }
                        state.connectionCount += 1
                        state.openConnections[state.connectionCount] = channel
                        return state.connectionCount
                    }
                    guard let id else { return channel.close() }
                    channel.closeFuture.whenComplete { _ in
                        _ = state.withLockedValue { $0.openConnections.removeValue(forKey: id) }
                    }
                    return channel.eventLoop.makeCompletedFuture {
                        let connection = OriginConnectionHandler(connectionID: id, script: script) { request in
                            state.withLockedValue { $0.requests.append(request) }
                        }
                        // Any token method is recorded as sent (M-SEARCH, FOO), as the node forwards them.
                        let methods = ExtensionMethods.makeHandlers()
                        try channel.pipeline.syncOperations.addHandlers(
                            methods.beforeDecoder,
                            ByteToMessageHandler(HTTPRequestDecoder()),
                            methods.afterDecoder,
                            connection
                        )
                    }
                }
                .bind(host: "127.0.0.1", port: 0)
                .get()
            return ScriptedOrigin(group: group, serverChannel: serverChannel, state: state)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private init(group: MultiThreadedEventLoopGroup, serverChannel: any Channel, state: NIOLockedValueBox<State>) {
        self.group = group
        self.serverChannel = serverChannel
        self.state = state
        self.port = serverChannel.localAddress?.port ?? 0
    }

    public var url: String { "http://127.0.0.1:\(self.port)" }
    /// Every complete request so far, in arrival order.
    public var requests: [RecordedRequest] { self.state.withLockedValue { $0.requests } }
    public var requestCount: Int { self.state.withLockedValue { $0.requests.count } }
    /// TCP connections accepted so far (open or closed).
    public var connectionCount: Int { self.state.withLockedValue { $0.connectionCount } }

    /// Closes every connection and the listener, then stops the origin's event loop. Idempotent.
    public func shutdown() async throws {
        let connections: [any Channel]? = self.state.withLockedValue { state in
            guard !state.isShutDown else { return nil }
            state.isShutDown = true
            return Array(state.openConnections.values)
        }
        guard let connections else { return }
        try? await self.serverChannel.close().get()
        for connection in connections {
            try? await connection.close().get()  // may already be closed by the peer
        }
        try await self.group.shutdownGracefully()
    }
}

/// Records and answers the requests of one connection, in order.
final class OriginConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    private static let pieceSize = 64 * 1024

    private let connectionID: Int
    private let script: @Sendable (RecordedRequest) -> OriginReply
    private let record: @Sendable (RecordedRequest) -> Void

    private var incoming: RecordedRequest?
    /// Answers not yet started, oldest first.
    private var queued: [[ResponseStep]] = []
    /// The rest of the answer being sent.
    private var current: ArraySlice<ResponseStep> = []
    /// A step of the current answer is in flight (a write, a wait, or a stream).
    private var isBusy = false
    /// The connection is closing, closed or hung: nothing more is sent.
    private var isFinished = false
    /// The client has half-closed: close once everything received has been answered.
    private var inputClosed = false
    private var pendingWait: Scheduled<Void>?
    private var stream: (remaining: Int, piece: ByteBuffer)?
    private var isPumping = false

    init(
        connectionID: Int,
        script: @escaping @Sendable (RecordedRequest) -> OriginReply,
        record: @escaping @Sendable (RecordedRequest) -> Void
    ) {
        self.connectionID = connectionID
        self.script = script
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.incoming = RecordedRequest(
                method: head.method.wireName,
                target: head.uri,
                version: head.version.description,
                headers: head.headers.map { (name: $0.name, value: $0.value) },
                connectionID: self.connectionID
            )
        case .body(let bytes):
            self.incoming?.body.append(contentsOf: bytes.readableBytesView)
        case .end:
            guard let request = self.incoming else { return }
            self.incoming = nil
            self.record(request)
            self.queued.append(self.script(request).steps(answering: request))
            if !self.isBusy { self.advance(context: context) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            self.inputClosed = true
            if !self.isBusy && self.queued.isEmpty { self.finish(context: context, .close) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && self.stream != nil && !self.isPumping { self.pump(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isFinished = true
        self.pendingWait?.cancel()
        self.stream = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A request the decoder rejects, or a connection the client reset: nothing sensible is left.
        self.finish(context: context, .close)
    }

    /// Performs steps until one has to wait for the network or the clock.
    private func advance(context: ChannelHandlerContext) {
        while !self.isFinished {
            guard let step = self.current.popFirst() else {
                guard !self.queued.isEmpty else {
                    self.isBusy = false
                    if self.inputClosed { self.finish(context: context, .close) }
                    return
                }
                self.current = self.queued.removeFirst()[...]
                continue
            }
            self.isBusy = true
            switch step {
            case .write(let bytes):
                var isWriting = true
                var completedWhileWriting = false
                context.writeAndFlush(self.wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)))
                    .assumeIsolated().whenComplete { result in
                        guard case .success = result else { return self.finish(context: context, .close) }
                        if isWriting { completedWhileWriting = true } else { self.advance(context: context) }
                    }
                isWriting = false
                if !completedWhileWriting { return }
            case .wait(let delay):
                self.pendingWait = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
                    self.pendingWait = nil
                    self.advance(context: context)
                }
                return
            case .hold(let gate):
                let resume = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
                gate.whenOpen(on: context.eventLoop) {
                    let (handler, context) = resume.value
                    if !handler.isFinished { handler.advance(context: context) }
                }
                return
            case .generate(let size, let pattern):
                var piece = context.channel.allocator.buffer(capacity: Self.pieceSize)
                piece.writeRepeatingByte(pattern, count: Self.pieceSize)
                self.stream = (size, piece)
                self.pump(context: context)
                return
            case .close, .reset, .hang:
                self.finish(context: context, step)
                return
            }
        }
    }

    /// Writes generated pieces while the channel is writable; `channelWritabilityChanged` resumes it.
    /// Every piece is a slice of one shared buffer, so streaming allocates nothing per piece.
    private func pump(context: ChannelHandlerContext) {
        self.isPumping = true
        defer { self.isPumping = false }
        while let stream = self.stream, context.channel.isWritable {
            let length = min(Self.pieceSize, stream.remaining)
            let remaining = stream.remaining - length
            self.stream = remaining > 0 ? (remaining, stream.piece) : nil
            let written = context.writeAndFlush(self.wrapOutboundOut(stream.piece.getSlice(at: 0, length: length)!))
            written.assumeIsolated().whenComplete { result in
                guard case .success = result else { return self.finish(context: context, .close) }
                if remaining == 0 { self.advance(context: context) }
            }
        }
    }

    private func finish(context: ChannelHandlerContext, _ ending: ResponseStep) {
        guard !self.isFinished else { return }
        self.isFinished = true
        self.pendingWait?.cancel()
        self.stream = nil
        switch ending {
        case .reset:
            // SO_LINGER on with a zero timeout makes close() abort the connection with a RST.
            let socket = context.channel as? any SocketOptionProvider
            let lingerSet = socket?.setSoLinger(linger(l_onoff: 1, l_linger: 0)) ?? context.eventLoop.makeSucceededVoidFuture()
            lingerSet.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .hang:
            break
        default:
            context.close(promise: nil)
        }
    }
}

/// Runs `body` against a fresh scripted origin, and shuts the origin down whatever happens.
public func withOrigin(
    _ script: @escaping @Sendable (RecordedRequest) -> OriginReply,
    run body: (ScriptedOrigin) async throws -> Void
) async throws {
    let origin = try await ScriptedOrigin.start(script)
    do {
        try await body(origin)
    } catch {
        try? await origin.shutdown()
        throw error
    }
    try await origin.shutdown()
}
