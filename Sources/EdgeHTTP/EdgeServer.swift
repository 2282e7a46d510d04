// The public listener: binds, builds each connection's pipeline, and shuts down gracefully.
//
// Pipeline of a client connection, head to tail:
//   ConnectionTimeouts (raw bytes) → ExtensionMethodAdapter → HTTP decoder/encoder →
//   ExtensionMethodRestorer (any token method, see ExtensionMethods.swift) → EncodedResponseWriter
//   (hits encoded ahead of time go past the encoder) → HTTPServerPipelineHandler (pipelining, quiescing) →
//   ProxyHandler (which also answers undecodable input with 400/431: one handler fewer for every
//   message to pass).
//
// Shutdown: stop accepting, let every connection finish the response it is writing (idle ones
// close at once), and give up waiting after the grace period.
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import OriginClient
import EdgeCache

public final class EdgeServer: Sendable {
    private let channel: any Channel
    /// Released at the end of `shutdown`: its deinit completes a promise on an event loop, which
    /// must still be running then.
    private let quiescing: NIOLockedValueBox<ServerQuiescingHelper?>
    private let logger: Logger
    /// The address actually bound (port 0 resolves to a real port).
    public let localAddress: SocketAddress

    private init(channel: any Channel, quiescing: ServerQuiescingHelper, logger: Logger) {
        self.channel = channel
        self.quiescing = NIOLockedValueBox(quiescing)
        self.logger = logger
        self.localAddress = channel.localAddress!
    }

    public var port: Int { localAddress.port ?? 0 }

    public static func start(
        host: String, port: Int, configuration: EdgeConfiguration, origin: OriginClient, engine: CacheEngine,
        group: any EventLoopGroup, logger: Logger, accessLogger: Logger, tls: TLSTermination? = nil, forward: ForwardContext? = nil
    ) async throws -> EdgeServer {
        let quiescing = ServerQuiescingHelper(group: group)
        let accessLog = AccessLog(logger: accessLogger, stats: engine.stats)
        let clients = ClientLimits(maximumConnectionsPerClient: configuration.maximumConnectionsPerClient)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Out of descriptors, accept fails: wait a second instead of spinning on it.
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler())
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                    try channel.pipeline.syncOperations.addHandler(ConnectionLimiter(maximum: configuration.maximumConnections))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The open-connection gauge of /metrics (outpost_open_connections{listener="public"}).
                    let open = engine.stats.responses.openPublicConnections
                    open.add(1)
                    channel.closeFuture.whenComplete { _ in open.add(-1) }
                    if let address = channel.remoteAddress?.ipAddress {
                        guard clients.connectionOpened(from: address) else {
                            engine.stats.count(.clientConnectionsRefused)
                            refuseConnection(channel)
                            return
                        }
                        channel.closeFuture.whenComplete { _ in clients.connectionClosed(from: address) }
                    }
                    if let tls {
                        try configureSecureConnection(channel, tls: tls, configuration: configuration, origin: origin, engine: engine,
                                                      logger: logger, accessLog: accessLog, clients: clients)
                    } else {
                        try configureConnection(channel, configuration: configuration, origin: origin, engine: engine, logger: logger,
                                                accessLog: accessLog, clients: clients, forward: forward)
                    }
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        return EdgeServer(channel: channel, quiescing: quiescing, logger: logger)
    }

    /// Builds a client connection's pipeline (see the file header). Also used by the pipeline tests.
    static func configureConnection(
        _ channel: any Channel, configuration: EdgeConfiguration, origin: OriginClient, engine: CacheEngine, logger: Logger,
        accessLog: AccessLog, clients: ClientLimits = ClientLimits(maximumConnectionsPerClient: 0), scheme: String = "http",
        forward: ForwardContext? = nil
    ) throws {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = configuration.maximumHeaderBytes
        limits.maxHeaderFieldSize = configuration.maximumHeaderBytes
        limits.maxHeaderFieldCount = configuration.maximumHeaderCount
        let timeouts = ConnectionTimeouts(
            keepAliveTimeout: configuration.keepAliveTimeout, headerReadTimeout: configuration.headerReadTimeout)
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(timeouts)
        try sync.configureHTTPServerPipeline(
            // No outbound header validation: response fields come from parsed origin messages or
            // from values checked at start-up (via-name, server-header), never from raw input.
            withPipeliningAssistance: true, withErrorHandling: false, withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
        let encodedWriter = EncodedResponseWriter()
        try sync.addHandler(encodedWriter, position: .before(try sync.handler(type: HTTPServerPipelineHandler.self)))
        let decoder = try sync.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        let methods = ExtensionMethods.makeHandlers()
        try sync.addHandler(methods.beforeDecoder, position: .before(decoder))
        try sync.addHandler(methods.afterDecoder, position: .after(decoder))
        try sync.addHandler(ProxyHandler(
            configuration: configuration, origin: origin, engine: engine, timeouts: timeouts, encodedWriter: encodedWriter,
            logger: logger, accessLog: accessLog, clients: clients, scheme: scheme, forward: forward))
    }

    /// A client over its connection cap gets one 429 (RFC 6585 §4) and the connection closes.
    private static func refuseConnection(_ channel: any Channel) {
        let body = "429 Too Many Requests: this client has too many connections open.\n"
        var buffer = channel.allocator.buffer(capacity: 200)
        buffer.writeString("HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain; charset=utf-8\r\nretry-after: 1\r\n")
        buffer.writeString("cache-control: no-store\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)")
        channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Stops accepting and waits for in-flight responses, at most `gracePeriod`.
    /// Returns true if every connection finished within it.
    @discardableResult
    public func shutdown(gracePeriod: TimeAmount) async -> Bool {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: Void.self)
        guard let quiescing = quiescing.withLockedValue({ helper in defer { helper = nil }; return helper }) else {
            return true
        }
        quiescing.initiateShutdown(promise: promise)
        let deadline = loop.scheduleTask(in: gracePeriod) {
            promise.fail(ChannelError.ioOnClosedChannel)
        }
        do {
            try await promise.futureResult.get()
            deadline.cancel()
            return true
        } catch {
            logger.warning("shutdown grace period ended with requests still in flight",
                           metadata: ["grace-ms": "\(gracePeriod.nanoseconds / 1_000_000)"])
            return false
        }
    }
}
