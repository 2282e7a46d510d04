// Connection-level timers, sitting before the HTTP decoder where it sees raw bytes:
// - keep-alive: an idle connection (no request in progress) is closed after `keepAliveTimeout`;
// - header read: once the first byte of a request arrives, its head must be complete within
//   `headerReadTimeout` or the client gets 408 and the connection closes (slowloris defence).
// The proxy handler reports when a head was decoded and when a response finished.
// Invariant: at most one of the two timers is armed; neither while a request is being served.
import NIOCore

final class ConnectionTimeouts: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case idle(Scheduled<Void>?)
        case readingHead(Scheduled<Void>?)
        case serving
        case closed
    }

    private let keepAliveTimeout: TimeAmount
    private let headerReadTimeout: TimeAmount
    private var state: State = .idle(nil)
    private var context: ChannelHandlerContext?

    init(keepAliveTimeout: TimeAmount, headerReadTimeout: TimeAmount) {
        self.keepAliveTimeout = keepAliveTimeout
        self.headerReadTimeout = headerReadTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { becomeIdle() }
    }

    func channelActive(context: ChannelHandlerContext) {
        becomeIdle()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        state = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .idle = state {
            cancelTimer()
            let timer = context.eventLoop.assumeIsolated().scheduleTask(in: headerReadTimeout) { [weak self] () -> Void in
                self?.headerReadTimedOut()
            }
            state = .readingHead(timer)
        }
        context.fireChannelRead(data)
    }

    /// The decoder produced a complete request head.
    func requestHeadReceived() {
        guard case .closed = state else {
            cancelTimer()
            state = .serving
            return
        }
    }

    /// The response to the current request has been written; the connection stays open.
    func responseCompleted() {
        guard case .serving = state else { return }
        becomeIdle()
    }

    private func becomeIdle() {
        guard let context else { return }
        cancelTimer()
        let timer = context.eventLoop.assumeIsolated().scheduleTask(in: keepAliveTimeout) { [weak self] in
            guard let self, case .idle = self.state else { return }
            self.state = .closed
            self.context?.close(promise: nil)
        }
        state = .idle(timer)
    }

    private func cancelTimer() {
        switch state {
        case .idle(let timer), .readingHead(let timer): timer?.cancel()
        case .serving, .closed: break
        }
    }

    private func headerReadTimedOut() {
        guard case .readingHead = state, let context else { return }
        state = .closed
        // Written as raw bytes: the request was never decoded, so the HTTP encoder has nothing to pair.
        let body = "408 Request Timeout: the request head did not arrive in time.\n"
        var buffer = context.channel.allocator.buffer(capacity: 160)
        buffer.writeString("HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n")
        buffer.writeString("content-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)")
        context.writeAndFlush(wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
