// The last handler of an origin connection's pipeline: it feeds channel events to
// OriginConnectionStateMachine and performs the actions it returns — writing the request,
// streaming its body from the exchange's source, delivering the response to the exchange one
// event at a time, reading only when the exchange has taken the last one, and handing itself
// back to the pool or closing.
//
// Invariants:
// - Confined to its channel's event loop, which is also the pool's and the call's.
// - `generation` counts requests: a body writer or a delivery callback left over from an earlier
//   request finds a different generation and does nothing.
// - The establishment promise is completed exactly once, whatever happens to the channel.
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOTLS

final class OriginConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let eventLoop: any EventLoop
    /// The origin's index in the client's list.
    let origin: Int
    /// Succeeds once the connection is usable (TCP connected, TLS handshake done).
    let established: EventLoopPromise<Void>
    /// Told when a response completed and the connection may carry another request.
    var onReleased: ((OriginConnectionHandler) -> Void)?

    private var stateMachine = OriginConnectionStateMachine()
    private var context: ChannelHandlerContext?
    private var exchange: OriginExchange?
    private var generation = 0
    private var establishmentPending = true
    private let usesTLS: Bool
    private let handshakeTimeout: TimeAmount
    private var handshakeTimer: Scheduled<Void>?

    init(origin: Int, eventLoop: any EventLoop, usesTLS: Bool, handshakeTimeout: TimeAmount) {
        self.origin = origin
        self.eventLoop = eventLoop
        self.usesTLS = usesTLS
        self.handshakeTimeout = handshakeTimeout
        self.established = eventLoop.makePromise(of: Void.self)
    }

    /// Idle in the pool, able to take a request now.
    var isIdle: Bool { stateMachine.state == .idle }

    var channel: (any Channel)? { context?.channel }

    // MARK: - used by the pool and the exchange

    /// Sends `exchange`'s request on this idle connection.
    func execute(_ exchange: OriginExchange) {
        eventLoop.assertInEventLoop()
        generation += 1
        self.exchange = exchange
        act(stateMachine.requestStarted(exchange.head, hasBody: exchange.body != nil))
    }

    /// The exchange gave up: if it is the current one, stop and close (mid-response).
    func cancel(_ exchange: OriginExchange) {
        guard self.exchange === exchange else { return }
        self.exchange = nil
        act(stateMachine.cancelled())
    }

    func closeRequested() {
        act(stateMachine.closeRequested())
    }

    /// The connect itself failed, so the pipeline may never have run: settle the promise.
    func abandonEstablishment(_ error: any Error) {
        guard establishmentPending else { return }
        establishmentPending = false
        established.fail(error)
    }

    // MARK: - channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        handshakeTimer?.cancel()
        abandonEstablishment(ChannelError.ioOnClosedChannel)
    }

    func channelActive(context: ChannelHandlerContext) {
        if usesTLS {
            // The handshake needs reads, and autoRead is off. Its time counts as connect time.
            context.read()
            handshakeTimer = eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) { [self] in
                act(stateMachine.errorCaught(.connectTimedOut))
            }
        } else {
            act(stateMachine.connectionEstablished())
        }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            handshakeTimer?.cancel()
            handshakeTimer = nil
            act(stateMachine.connectionEstablished())
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): act(stateMachine.responseHeadReceived(head))
        case .body(let part): act(stateMachine.responseBodyPartReceived(part))
        case .end: act(stateMachine.responseEndReceived())
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        act(stateMachine.channelReadCompleted())
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        act(stateMachine.channelClosed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A TLS peer that closes without close_notify: whether the response was complete is
        // decided by its framing when the channel goes inactive, as for plain TCP.
        if let tls = error as? NIOSSLError, case .uncleanShutdown = tls { return }
        act(stateMachine.errorCaught(OriginFailure(error, headReceived: false)))
    }

    // MARK: - the request body

    private func startRequestBody(_ body: OriginRequestBody, exchange: OriginExchange) {
        exchange.bodyStarted = true
        let generation = self.generation
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let loop = eventLoop
        let writer = OriginBodyWriter { part in
            if loop.inEventLoop { return bound.value.writeRequestBodyPart(part, generation: generation) }
            return loop.flatSubmit { bound.value.writeRequestBodyPart(part, generation: generation) }
        }
        body.start(writer).hop(to: eventLoop).assumeIsolated().whenComplete { [self] result in
            guard generation == self.generation else { return }
            switch result {
            case .success: act(stateMachine.requestBodyFinished())
            case .failure: act(stateMachine.requestBodyFailed())
            }
        }
    }

    private func writeRequestBodyPart(_ part: ByteBuffer, generation: Int) -> EventLoopFuture<Void> {
        guard generation == self.generation, let context,
              case .writeRequestBodyPart(let part) = stateMachine.requestBodyPartSubmitted(part)
        else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        let promise = eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(part))), promise: promise)
        return promise.futureResult
    }

    // MARK: - performing actions

    private func act(_ action: OriginConnectionStateMachine.Action) {
        switch action {
        case .none, .writeRequestBodyPart, .refuseRequestBodyPart:
            // Body parts are written by `writeRequestBodyPart`, which owns their promises.
            break
        case .read:
            context?.read()
        case .announceEstablished:
            establishmentPending = false
            context?.read()
            established.succeed()
        case .failEstablishment(let failure):
            abandonEstablishment(OriginFailureError(failure: failure))
            context?.close(promise: nil)
        case .writeRequestHead(let head, let startBody):
            writeRequestHead(head, startBody: startBody)
        case .writeRequestEnd:
            writeRequestEnd()
        case .forwardInformational(let head):
            exchange?.informationalReceived(head)
        case .forwardHead(let head):
            if let exchange { awaitDelivery(exchange.headReceived(head)) }
        case .forwardBodyPart(let part):
            if let exchange { awaitDelivery(exchange.bodyPartReceived(part)) }
        case .forwardEnd(let after):
            let exchange = self.exchange
            self.exchange = nil
            switch after {
            case .release:
                context?.read()
                onReleased?(self)
            case .close:
                context?.close(promise: nil)
            }
            exchange?.completed()
        case .failRequest(let failure, let staleConnection):
            let exchange = self.exchange
            self.exchange = nil
            context?.close(promise: nil)
            exchange?.failed(failure, staleConnection: staleConnection)
        case .close:
            exchange = nil
            context?.close(promise: nil)
        }
    }

    private func writeRequestHead(_ head: HTTPRequestHead, startBody: Bool) {
        guard let context, let exchange else { return }
        let generation = self.generation
        // The head validator fails this write for bytes that may not be sent (RFC 9110 §5.5).
        let headWritten = eventLoop.makePromise(of: Void.self)
        headWritten.futureResult.assumeIsolated().whenFailure { [self] error in
            guard generation == self.generation else { return }
            let failure: OriginFailure = error is HTTPParserError
                ? .requestNotForwardable("the request head holds bytes that may not be sent")
                : OriginFailure(error, headReceived: false)
            act(stateMachine.errorCaught(failure))
        }
        context.write(wrapOutboundOut(.head(head)), promise: headWritten)
        guard generation == self.generation, stateMachine.state == .inRequest else { return }
        if startBody, let body = exchange.body {
            context.flush()
            context.read()
            startRequestBody(body, exchange: exchange)
        } else {
            writeRequestEnd()
            context.read()
        }
    }

    private func writeRequestEnd() {
        guard let context else { return }
        let generation = self.generation
        let sent = eventLoop.makePromise(of: Void.self)
        sent.futureResult.assumeIsolated().whenSuccess { [self] in
            guard generation == self.generation else { return }
            exchange?.requestSent()
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: sent)
    }

    private func awaitDelivery(_ future: EventLoopFuture<Void>) {
        let generation = self.generation
        future.hop(to: eventLoop).assumeIsolated().whenComplete { [self] result in
            guard generation == self.generation else { return }
            switch result {
            case .success: act(stateMachine.deliveryCompleted())
            case .failure(let error): act(stateMachine.deliveryFailed(OriginFailure(error, headReceived: true)))
            }
        }
    }
}

/// An OriginFailure travelling as an Error through futures; OriginFailure(error) unwraps it.
struct OriginFailureError: Error {
    let failure: OriginFailure
}
