// Bounds the number of open client connections. Sits on the server channel: while the count is
// at the maximum it holds back accepts (newcomers wait in the kernel's backlog rather than being
// accepted and dropped), and resumes as connections close. Confined to the server channel's loop.
// Used by every listener (public and admin).
import NIOCore

public final class ConnectionLimiter: ChannelDuplexHandler {
    public typealias InboundIn = any Channel
    public typealias InboundOut = any Channel
    public typealias OutboundIn = Never

    private let maximum: Int
    private var open = 0
    private var readPending = false
    private var context: ChannelHandlerContext?

    public init(maximum: Int) { self.maximum = max(1, maximum) }

    public func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        open += 1
        let loop = context.eventLoop
        child.closeFuture.hop(to: loop).assumeIsolated().whenComplete { [self] _ in
            open -= 1
            if readPending && open < maximum, let context = self.context {
                readPending = false
                context.read()
            }
        }
        context.fireChannelRead(data)
    }

    public func read(context: ChannelHandlerContext) {
        if open >= maximum {
            readPending = true
        } else {
            context.read()
        }
    }
}
