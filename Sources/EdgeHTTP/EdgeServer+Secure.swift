// The pipelines of a TLS listener's connections: TLS (TLSTermination, SNI), a handshake deadline,
// then ALPN picks the protocol (RFC 7301):
//
//   h2        → HTTP/2 (RFC 9113): an idle deadline on the connection, NIOHTTP2's handler with limits
//               against the known attacks, and per stream the HTTP/1 codec and the same ProxyHandler
//               as HTTP/1.1 — hits, fills, collapsing, purge, Cache-Status and the access log alike.
//   otherwise → the HTTP/1.1 pipeline of a plain connection (EdgeServer.configureConnection).
//
// Limits on HTTP/2 (each tested in HTTP2DefenceTests): concurrent streams
// (SETTINGS_MAX_CONCURRENT_STREAMS 100; NIOHTTP2 answers the 101st with GOAWAY PROTOCOL_ERROR), the
// header list size and field count (the listener's --max-header-size and --max-headers: announced
// in SETTINGS, and checked per request by RequestHeadGuard, since NIOHTTP2 applies the announced
// size only once the client has acknowledged it), CONTINUATION floods (GOAWAY after 5 sequential
// frames), rapid reset (200 RST_STREAM per 30 s: GOAWAY ENHANCE_YOUR_CALM), flow-control abuse
// (FLOW_CONTROL_ERROR; per-stream windows of 64 KiB, a stream's body written only as the client's
// window opens, which paces the origin through backpressure). After any GOAWAY for an error the
// connection is closed and nothing more is read from it (HTTP2GoAwayCloser, RFC 9113 §5.4.1).
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
            try channel.pipeline.syncOperations.addHandler(HTTP2GoAwayCloser())
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

/// Closes an HTTP/2 connection once it has sent a GOAWAY for an error (RFC 9113 §5.4.1: "After
/// sending the GOAWAY frame for an error condition, the endpoint MUST close the TCP connection").
/// NIOHTTP2 writes the GOAWAY but leaves the connection open, so a client that flooded
/// CONTINUATION or RST_STREAM frames would keep its connection, and keep costing, for as long as
/// it kept sending. Sits between TLS and NIOHTTP2's handler and reads the frame headers of what
/// the server writes (the bytes are plaintext HTTP/2 frames there); a GOAWAY with NO_ERROR (a
/// graceful shutdown) is left alone. From that GOAWAY on, nothing the client sends is read.
final class HTTP2GoAwayCloser: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData
    /// Time for the GOAWAY to leave before the socket closes.
    static let linger: TimeAmount = .milliseconds(50)

    /// The frame being read: its 9-byte header, then its payload (of which a GOAWAY's first 8
    /// bytes, last stream and error code, are kept).
    private var header: [UInt8] = []
    private var payloadLeft = 0
    private var goAway: [UInt8]?
    private var closing = false

    /// Once the GOAWAY is out, nothing more the client sends is read.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !closing { context.fireChannelRead(data) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !closing, case .byteBuffer(let buffer) = unwrapOutboundIn(data), readFrames(buffer.readableBytesView) {
            closing = true
            context.write(data, promise: promise)
            context.flush()
            context.eventLoop.assumeIsolated().scheduleTask(in: Self.linger) { context.close(promise: nil) }
            return
        }
        context.write(data, promise: promise)
    }

    /// Whether these bytes complete a GOAWAY that carries an error code.
    private func readFrames(_ bytes: ByteBufferView) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if payloadLeft == 0 && header.count < 9 {
                header.append(bytes[index])
                index += 1
                if header.count == 9 {
                    payloadLeft = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
                    goAway = header[3] == 0x7 ? [] : nil
                    header = []
                    if payloadLeft == 0 { goAway = nil }
                }
                continue
            }
            let take = min(payloadLeft, bytes.endIndex - index)
            if var kept = goAway, kept.count < 8 {
                kept.append(contentsOf: bytes[index..<(index + min(take, 8 - kept.count))])
                goAway = kept
                if kept.count == 8, kept[4..<8].contains(where: { $0 != 0 }) { return true }
            }
            payloadLeft -= take
            index += take
        }
        return false
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
