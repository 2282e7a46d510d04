// Connection-level timers, sitting before the HTTP decoder where it sees raw bytes:
// - keep-alive: an idle connection (no request in progress) is closed after `keepAliveTimeout`;
// - header read: once the first byte of a request arrives, its head must be complete within
//   `headerReadTimeout` or the client gets 408 and the connection closes (slowloris defence);
// - lingering close (as nginx's `lingering_close`): a connection ended while the client may still
//   be sending (a 400, 408, 413 or 431 answered early) first shuts its output only, then reads and
//   drops what still arrives, and closes once the client stops sending (`lingerTimeout` of quiet)
//   or after `lingerLimit` in all. Closing at once would leave unread bytes behind, and the kernel
//   would answer them with a reset that can destroy the error response before the client reads it.
// The request handler (the proxy's, or the admin listener's) reports when a head was decoded and
// when a response finished.
//
// Cost: events only record when the current phase began; one check per connection, repeating
// every quarter of the shorter timeout, compares that with the clock. So a busy keep-alive
// connection schedules nothing per request, and a timeout is enforced at most a quarter late.
import NIOCore

public final class ConnectionTimeouts: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// `refusing`: a 408 is being written, and input is dropped; `lingering`: the output is shut.
    private enum Phase { case idle, readingHead, serving, refusing, lingering, closed }

    private let keepAliveTimeout: TimeAmount
    private let headerReadTimeout: TimeAmount
    private let checkInterval: TimeAmount
    private var phase = Phase.idle
    private var phaseStarted = NIODeadline.uptimeNanoseconds(0)
    private var check: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private var lingerStarted = NIODeadline.uptimeNanoseconds(0)
    static let lingerTimeout = TimeAmount.seconds(2)
    static let lingerLimit = TimeAmount.seconds(10)

    public init(keepAliveTimeout: TimeAmount, headerReadTimeout: TimeAmount) {
        self.keepAliveTimeout = keepAliveTimeout
        self.headerReadTimeout = headerReadTimeout
        self.checkInterval = max(.milliseconds(10), .nanoseconds(min(keepAliveTimeout, headerReadTimeout).nanoseconds / 4))
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start() }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start()
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        phase = .closed
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .lingering || phase == .refusing {
            // Read and dropped: nothing after the refusal is a request.
            phaseStarted = context.eventLoop.now
            return
        }
        if phase == .idle { enter(.readingHead) }
        context.fireChannelRead(data)
    }

    /// Whether the handler sits in a pipeline (an HTTP/2 stream's request handler has a detached one).
    public var isAttached: Bool { context != nil }

    /// Ends the connection once what is written has gone: the output is shut, what the client
    /// still sends is read and dropped, and the connection closes when it falls quiet.
    public func closeLingering() {
        guard let context, phase != .closed, phase != .lingering else { return }
        enter(.lingering)
        lingerStarted = phaseStarted
        context.close(mode: .output).assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        check?.cancel()
        scheduleCheck(on: context.eventLoop)
        // The handlers behind may hold reads back; the lingering reads are this handler's own.
        context.read()
    }

    /// The decoder produced a complete request head.
    public func requestHeadReceived() {
        if phase != .closed { enter(.serving) }
    }

    /// The response to the current request has been written; the connection stays open.
    public func responseCompleted() {
        if phase == .serving { enter(.idle) }
    }

    private func enter(_ next: Phase) {
        phase = next
        // The loop's clock (an EmbeddedEventLoop's moves only when tests advance it).
        phaseStarted = context?.eventLoop.now ?? .now()
    }

    private func start() {
        guard check == nil, let context else { return }
        enter(.idle)
        scheduleCheck(on: context.eventLoop)
    }

    private func scheduleCheck(on loop: any EventLoop) {
        check = loop.assumeIsolated().scheduleTask(in: checkInterval) { [weak self] () -> Void in
            self?.checkNow()
        }
    }

    private func checkNow() {
        guard let context, phase != .closed else { return }
        let elapsed = context.eventLoop.now - phaseStarted
        switch phase {
        case .idle where elapsed >= keepAliveTimeout:
            phase = .closed
            context.close(promise: nil)
        case .readingHead where elapsed >= headerReadTimeout:
            headerReadTimedOut(context: context)
        case .lingering where elapsed >= Self.lingerTimeout || context.eventLoop.now - lingerStarted >= Self.lingerLimit:
            phase = .closed
            context.close(promise: nil)
        case .lingering:
            context.read()
            scheduleCheck(on: context.eventLoop)
        default:
            scheduleCheck(on: context.eventLoop)
        }
    }

    private func headerReadTimedOut(context: ChannelHandlerContext) {
        phase = .refusing
        // Written as raw bytes: the request was never decoded, so the HTTP encoder has nothing to pair.
        let body = "408 Request Timeout: the request head did not arrive in time.\n"
        var buffer = context.channel.allocator.buffer(capacity: 160)
        buffer.writeString("HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n")
        buffer.writeString("cache-status: \(ErrorPage.cacheStatus(for: .requestTimeout).description)\r\n")
        buffer.writeString("content-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)")
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { [self] _ in closeLingering() }
    }
}
