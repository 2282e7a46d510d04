// The pipelines of a TLS listener's connections: TLS (TLSTermination, SNI), a handshake deadline,
// then ALPN picks the protocol (RFC 7301):
//
//   h2        → HTTP/2 (RFC 9113): an idle deadline on the connection, NIOHTTP2's handler with limits
//               against the known attacks, and per stream the HTTP/1 codec and the same ProxyHandler
//               as HTTP/1.1 — hits, fills, collapsing, purge, Cache-Status and the access log alike.
//   otherwise → the HTTP/1.1 pipeline of a plain connection (EdgeServer.configureConnection).
//
// Limits on HTTP/2 (each tested): concurrent streams (SETTINGS_MAX_CONCURRENT_STREAMS 100), the
// header list size (the listener's --max-header-size), CONTINUATION floods (NIOHTTP2 closes after 5
// sequential frames), rapid reset (a stream reset early counts as a glitch; 200 glitches close the
// connection with ENHANCE_YOUR_CALM), flow-control abuse (per-stream windows of 64 KiB; a stream's
// body is written only as the client's window opens, which paces the origin through backpressure).
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL
import NIOTLS
import OriginClient
import EdgeCache

extension EdgeServer {
    /// Most streams one HTTP/2 connection may have open at once.
    static let maximumConcurrentStreams = 100

    static func configureSecureConnection(
        _ channel: any Channel, tls: TLSTermination, configuration: EdgeConfiguration, origin: OriginClient, engine: CacheEngine,
        logger: Logger, accessLog: AccessLog, clients: ClientLimits
    ) throws {
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(tls.makeHandler())
        try sync.addHandler(TLSHandshakeDeadline(timeout: configuration.headerReadTimeout))
        try sync.addHandler(ApplicationProtocolNegotiationHandler { result, channel in
            switch result {
            case .negotiated("h2"):
                return configureHTTP2(channel, configuration: configuration, origin: origin, engine: engine, logger: logger,
                                      accessLog: accessLog, clients: clients)
            default:
                return channel.eventLoop.makeCompletedFuture {
                    try configureConnection(channel, configuration: configuration, origin: origin, engine: engine, logger: logger,
                                            accessLog: accessLog, clients: clients, scheme: "https")
                }
            }
        })
    }

    static func configureHTTP2(
        _ channel: any Channel, configuration: EdgeConfiguration, origin: OriginClient, engine: CacheEngine, logger: Logger,
        accessLog: AccessLog, clients: ClientLimits
    ) -> EventLoopFuture<Void> {
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maximumConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: configuration.maximumHeaderBytes),
            HTTP2Setting(parameter: .initialWindowSize, value: 65_535),
        ]
        do {
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: configuration.keepAliveTimeout))
            try channel.pipeline.syncOperations.addHandler(IdleConnectionCloser())
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return channel.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connection, streamConfiguration: NIOHTTP2Handler.StreamConfiguration()
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let sync = stream.pipeline.syncOperations
                try sync.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                // Per stream: no HTTP/1 encoder to write past, no connection timers of its own.
                let timeouts = ConnectionTimeouts(keepAliveTimeout: configuration.keepAliveTimeout,
                                                  headerReadTimeout: configuration.headerReadTimeout)
                try sync.addHandler(ProxyHandler(
                    configuration: configuration, origin: origin, engine: engine, timeouts: timeouts,
                    encodedWriter: EncodedResponseWriter(), logger: logger, accessLog: accessLog, clients: clients, scheme: "https"))
            }
        }.map { _ in () }
    }
}

/// Closes a connection whose TLS handshake has not completed within `timeout` (a client that
/// connects and says nothing must not hold a descriptor for ever).
final class TLSHandshakeDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { context.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Passed on first: the ALPN handler behind learns the negotiated protocol from this event.
        context.fireUserInboundEventTriggered(event)
        if case TLSUserEvent.handshakeCompleted = event {
            deadline?.cancel()
            deadline = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }
}

/// Closes an HTTP/2 connection once nothing has been read from it for the keep-alive timeout.
final class IdleConnectionCloser: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
