// CONNECT tunnels (RFC 9110 §9.3.6) on forward listeners: once the access rules allow it, the
// node connects to host:port, answers 200, takes the HTTP handlers off the client's connection,
// and relays bytes both ways without looking at them (nothing in a tunnel is cached).
//
// Invariants: each direction writes only while the other side is writable and reads only as
// its writes drain (backpressure, as NIO's GlueHandler pattern); a tunnel closes both sides when
// either closes, when no byte has moved either way for the idle timeout, or at its lifetime; a
// client holds at most `tunnelsPerClient` tunnels. The access log line is written when it closes.
import CachePolicy
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

extension ProxyHandler {
    func openTunnel(to authority: RequestTargetForm.Authority, exchange: Exchange, context: ChannelHandlerContext) {
        guard let forward else { return }
        let settings = configuration.forward
        let client = exchange.client ?? "-"
        guard forward.tunnels.connectionOpened(from: client) else {
            exchange.failureNote = "too many tunnels from this client"
            engine.stats.forward.tunnelsRefused.add(1, ordering: .relaxed)
            state = .discarding
            writeErrorPage(.tooManyRequests, for: exchange, closing: true, context: context, extraHeaders: [("retry-after", "1")])
            return
        }
        state = .forwarding(exchange)
        exchange.origin = nil
        let stats = engine.stats.forward
        ClientBootstrap(group: context.eventLoop)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: authority.host, port: authority.port ?? 443)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .failure(let error):
                    forward.tunnels.connectionClosed(from: client)
                    guard let context = isCurrent(exchange) else { return }
                    exchange.failureNote = "tunnel connect failed: \(error)"
                    writeErrorPage(.badGateway, for: exchange, closing: true, context: context)
                case .success(let peer):
                    guard let context = isCurrent(exchange) else {
                        forward.tunnels.connectionClosed(from: client)
                        peer.close(promise: nil)
                        return
                    }
                    stats.tunnelsOpened.add(1, ordering: .relaxed)
                    stats.tunnelsOpen.add(1, ordering: .relaxed)
                    let accessLog = self.accessLog
                    let closed: @Sendable (Int) -> Void = { bytes in
                        forward.tunnels.connectionClosed(from: client)
                        stats.tunnelsOpen.add(-1, ordering: .relaxed)
                        exchange.eventLoop.execute {
                            exchange.responseStatus = 200
                            exchange.responseBytes = bytes
                            accessLog.record(exchange)
                        }
                    }
                    Tunnel.splice(client: context.channel, peer: peer, settings: settings, closed: closed)
                }
            }
    }
}

enum Tunnel {
    /// Every handler a client connection's HTTP/1 pipeline has (EdgeServer.configureConnection).
    static func removeHTTPHandlers(from pipeline: ChannelPipeline.SynchronousOperations) {
        func remove<Handler: RemovableChannelHandler>(_ type: Handler.Type) {
            if let context = try? pipeline.context(handlerType: type) { pipeline.removeHandler(context: context, promise: nil) }
        }
        remove(ProxyHandler.self)
        remove(HTTPServerPipelineHandler.self)
        remove(EncodedResponseWriter.self)
        remove(ExtensionMethodRestorer.self)
        remove(HTTPResponseEncoder.self)
        remove(ByteToMessageHandler<HTTPRequestDecoder>.self)
        remove(ExtensionMethodAdapter.self)
        remove(ConnectionTimeouts.self)
    }

    /// Answers 200 on `client` and joins it to `peer`; `closed` gets the bytes sent to the client.
    static func splice(client: any Channel, peer: any Channel, settings: ForwardSettings,
                       closed: @escaping @Sendable (Int) -> Void) {
        client.eventLoop.execute {
            let pipeline = client.pipeline.syncOperations
            removeHTTPHandlers(from: pipeline)
            let toClient = RelayHandler(), toPeer = RelayHandler()
            toClient.partner = toPeer
            toPeer.partner = toClient
            let timer = TunnelTimer(idle: settings.tunnelIdleTimeout, lifetime: settings.tunnelLifetime,
                                    channels: [client, peer], relays: [toClient, toPeer], closed: closed)
            do {
                try pipeline.addHandler(toClient)
                try peer.pipeline.syncOperations.addHandler(toPeer)
            } catch {
                client.close(promise: nil)
                peer.close(promise: nil)
                return
            }
            // RFC 9110 §9.3.6: a 2xx to CONNECT has no Content-Length and no Transfer-Encoding.
            var established = client.allocator.buffer(capacity: 64)
            established.writeString("HTTP/1.1 200 Connection Established\r\n\r\n")
            client.writeAndFlush(established, promise: nil)
            timer.start(on: client.eventLoop)
            client.read()
            peer.read()
        }
    }
}

/// One side of a tunnel: what it reads goes to the partner's channel; it reads on only while the
/// partner's channel can take more.
final class RelayHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var partner: RelayHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    /// Bytes written to this handler's channel, and when anything last moved.
    private(set) var bytesWritten = 0
    private(set) var lastActivity = NIODeadline.now()

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private var isWritable: Bool { context?.channel.isWritable ?? false }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        partner?.send(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    private func send(_ buffer: ByteBuffer) {
        guard let context else { return }
        bytesWritten += buffer.readableBytes
        lastActivity = .now()
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.readIfPending() }
        context.fireChannelWritabilityChanged()
    }

    private func readIfPending() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    func read(context: ChannelHandlerContext) {
        if partner?.isWritable ?? true {
            context.read()
        } else {
            pendingRead = true
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Closes a tunnel idle for too long or past its lifetime, and reports its end once.
final class TunnelTimer {
    private let idle: TimeAmount
    private let lifetime: TimeAmount
    private let channels: [any Channel]
    private let relays: [RelayHandler]
    private let closed: @Sendable (Int) -> Void
    private let opened = NIODeadline.now()
    private var check: Scheduled<Void>?
    private var ended = false

    init(idle: TimeAmount, lifetime: TimeAmount, channels: [any Channel], relays: [RelayHandler], closed: @escaping @Sendable (Int) -> Void) {
        self.idle = idle
        self.lifetime = lifetime
        self.channels = channels
        self.relays = relays
        self.closed = closed
    }

    func start(on eventLoop: any EventLoop) {
        arm(on: eventLoop)
        let ends = channels.map(\.closeFuture)
        EventLoopFuture.whenAllComplete(ends, on: eventLoop).assumeIsolated().whenComplete { [self] _ in
            ended = true
            check?.cancel()
            closed(relays[0].bytesWritten)
        }
        for end in ends {
            end.assumeIsolated().whenComplete { [self] _ in closeAll() }
        }
    }

    /// Checks a few times per idle timeout rather than re-arming on every byte.
    private func arm(on eventLoop: any EventLoop) {
        let every = TimeAmount.nanoseconds(max(min(idle.nanoseconds, lifetime.nanoseconds) / 4, 10_000_000))
        check = eventLoop.assumeIsolated().scheduleTask(in: every) { [self] in
            guard !ended else { return }
            let now = NIODeadline.now()
            let last = relays.map(\.lastActivity).max() ?? opened
            if now - last >= idle || now - opened >= lifetime {
                closeAll()
            } else {
                arm(on: eventLoop)
            }
        }
    }

    private func closeAll() {
        for channel in channels { channel.close(promise: nil) }
    }
}
