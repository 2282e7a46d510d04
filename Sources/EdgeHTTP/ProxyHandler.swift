// The per-connection request handler of the public listener. One request at a time (pipelined
// requests are held back by NIO's HTTPServerPipelineHandler until the previous response ends):
//
//   idle ──head──▶ forwarding ──response end──▶ idle (keep-alive) or closed
//     │                 └── origin failed before the head ──▶ 502/504 page
//     └──rejected head──▶ discarding ──▶ closed
//
// Invariants: a response is written only for the exchange that is current; a connection whose
// request body was not read to its end is closed after the response (never reused); an origin
// failure after the head was sent closes the connection, so a truncated body is never mistaken
// for a complete one.
import Logging
import NIOCore
import NIOHTTP1
import OriginClient

final class ProxyHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case forwarding(Exchange)
        /// The request was answered without being forwarded; its remaining parts are dropped.
        case discarding
        case closed
    }

    private let configuration: EdgeConfiguration
    private let headGuard: RequestHeadGuard
    private let origin: OriginClient
    private let timeouts: ConnectionTimeouts
    private let accessLog: AccessLog
    private let logger: Logger
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var readPending = false

    init(configuration: EdgeConfiguration, origin: OriginClient, timeouts: ConnectionTimeouts, logger: Logger, accessLog: AccessLog) {
        self.configuration = configuration
        self.headGuard = RequestHeadGuard(configuration: configuration)
        self.origin = origin
        self.timeouts = timeouts
        self.logger = logger
        self.accessLog = accessLog
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): requestHeadReceived(head, context: context)
        case .body(let part): requestBodyReceived(part, context: context)
        case .end: requestEndReceived(context: context)
        }
    }

    private func requestHeadReceived(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        timeouts.requestHeadReceived()
        guard case .idle = state else { return }
        let client = context.channel.remoteAddress?.ipAddress
        switch headGuard.check(head) {
        case .reject(let status, let reason):
            state = .discarding
            let exchange = Exchange(head: head, client: client, eventLoop: context.eventLoop, handler: self)
            exchange.failureNote = reason
            writeErrorPage(status, for: exchange, closing: true, context: context)
        case .accept(let bodyLength, let hasBody, let expectsContinue):
            let exchange = Exchange(head: head, client: client, eventLoop: context.eventLoop, handler: self)
            exchange.requestEnded = false
            var request = OriginRequest(
                method: head.method, target: head.uri,
                headers: configuration.forwarding.originRequestHeaders(for: head, clientAddress: client, scheme: "http"))
            request.hostFromOrigin = configuration.forwarding.hostHeader == .origin
            if hasBody {
                let pump = RequestBodyPump(eventLoop: context.eventLoop)
                pump.onDrained = { [weak self] in self?.resumeReading() }
                exchange.pump = pump
                request.body = OriginRequestBody(length: bodyLength) { writer in pump.start(writer) }
                if expectsContinue && head.version == .http1_1 {
                    // RFC 9110 §10.1.1: tell the client to send the body it is holding back.
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
                }
            }
            state = .forwarding(exchange)
            exchange.call = origin.execute(request, on: context.eventLoop, handler: exchange)
        }
    }

    private func requestBodyReceived(_ part: ByteBuffer, context: ChannelHandlerContext) {
        guard case .forwarding(let exchange) = state else { return }
        exchange.requestBodyBytes += part.readableBytes
        if exchange.requestBodyBytes > configuration.maximumRequestBodyBytes {
            exchange.failureNote = "request body larger than \(configuration.maximumRequestBodyBytes) bytes"
            abandon(exchange, answering: .payloadTooLarge, context: context)
            return
        }
        exchange.pump?.append(part)
    }

    private func requestEndReceived(context: ChannelHandlerContext) {
        guard case .forwarding(let exchange) = state else { return }
        exchange.requestEnded = true
        exchange.pump?.end()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .forwarding(let exchange) = state {
            exchange.call?.cancel()
            exchange.pump?.fail(ChannelError.eof)
            exchange.failureNote = exchange.failureNote ?? "client closed the connection"
            if exchange.responseStatus == nil { exchange.responseStatus = 499 }
            accessLog.record(exchange)
        }
        state = .closed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Decoder errors are answered by ProtocolErrorResponder; here the exchange is dropped.
        if case .forwarding(let exchange) = state {
            exchange.call?.cancel()
            exchange.pump?.fail(error)
            exchange.failureNote = "client error: \(error)"
            if exchange.responseStatus == nil { exchange.responseStatus = 400 }
            accessLog.record(exchange)
        }
        state = .discarding
        if !(error is HTTPParserError) { context.close(promise: nil) }
    }

    // MARK: outbound: read backpressure for request bodies

    func read(context: ChannelHandlerContext) {
        if case .forwarding(let exchange) = state, exchange.pump?.isBackedUp == true {
            readPending = true
            return
        }
        context.read()
    }

    private func resumeReading() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }

    // MARK: events from the origin, for the current exchange only

    fileprivate func responseHeadReceived(_ head: HTTPResponseHead, from server: OriginServer, exchange: Exchange) -> EventLoopFuture<Void> {
        guard let context, case .forwarding(let current) = state, current === exchange else {
            return exchange.eventLoopFuture()
        }
        exchange.origin = server
        exchange.responseStatus = head.status.code
        var headers = configuration.forwarding.clientResponseHeaders(for: head)
        let request = exchange.head
        // HTTP/1.0 clients cannot be sent chunked framing: the body ends with the connection.
        let unframed = request.version.minor == 0 && !headers.contains(name: "content-length")
        if !request.isKeepAlive || unframed {
            exchange.closeAfterResponse = true
            headers.replaceOrAdd(name: "connection", value: "close")
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: head.status, headers: headers))), promise: nil)
        return context.eventLoop.makeSucceededVoidFuture()
    }

    fileprivate func responseBodyPartReceived(_ part: ByteBuffer, exchange: Exchange) -> EventLoopFuture<Void> {
        guard let context, case .forwarding(let current) = state, current === exchange else {
            return exchange.eventLoopFuture()
        }
        exchange.responseBytes += part.readableBytes
        return context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(part))))
    }

    fileprivate func responseCompleted(exchange: Exchange) {
        guard let context, case .forwarding(let current) = state, current === exchange else { return }
        let closing = exchange.closeAfterResponse || !exchange.requestEnded
        accessLog.record(exchange)
        if closing {
            exchange.pump?.fail(ChannelError.outputClosed)
            state = .closed
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            // Become idle before writing the end: the pipeline handler may hand over the next
            // pipelined request from inside that write.
            state = .idle
            timeouts.responseCompleted()
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    fileprivate func originFailed(_ failure: OriginFailure, origin server: OriginServer, headDelivered: Bool, exchange: Exchange) {
        guard let context, case .forwarding(let current) = state, current === exchange else { return }
        exchange.origin = server
        exchange.failureNote = failure.description
        logger.warning("origin request failed", metadata: [
            "origin": "\(server)", "reason": "\(failure)", "method": "\(exchange.head.method.rawValue)",
            "target": "\(exchange.head.uri)",
        ])
        if headDelivered || exchange.responseStatus != nil {
            // The client already has a head: only an abrupt close says the body is incomplete.
            accessLog.record(exchange)
            state = .closed
            exchange.pump?.fail(ChannelError.outputClosed)
            context.close(promise: nil)
            return
        }
        let closing = !exchange.requestEnded || !exchange.head.isKeepAlive
        if closing { exchange.pump?.fail(ChannelError.outputClosed) }
        writeErrorPage(failure.gatewayStatus, for: exchange, closing: closing, context: context)
    }

    // MARK: helpers

    /// Gives up on the current exchange (a client-side limit broke) and answers `status` if no
    /// response has started; the connection closes either way.
    private func abandon(_ exchange: Exchange, answering status: HTTPResponseStatus, context: ChannelHandlerContext) {
        exchange.call?.cancel()
        exchange.pump?.fail(ChannelError.outputClosed)
        state = .discarding
        if exchange.responseStatus == nil {
            writeErrorPage(status, for: exchange, closing: true, context: context)
        } else {
            accessLog.record(exchange)
            context.close(promise: nil)
        }
    }

    private func writeErrorPage(_ status: HTTPResponseStatus, for exchange: Exchange, closing: Bool, context: ChannelHandlerContext) {
        let page = ErrorPage.response(status: status, closing: closing, version: exchange.head.version, viaName: configuration.forwarding.viaName)
        exchange.responseStatus = status.code
        exchange.responseBytes = page.body.readableBytes
        accessLog.record(exchange)
        if closing { state = .closed } else { state = .idle; timeouts.responseCompleted() }
        context.write(wrapOutboundOut(.head(page.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(page.body))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if closing { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }
}

/// One request and what became of it; the origin's callbacks arrive here and go to the handler
/// only while this exchange is the current one.
final class Exchange: OriginResponseHandling {
    let head: HTTPRequestHead
    let client: String?
    let started = NIODeadline.now()
    let eventLoop: any EventLoop
    var call: OriginCall?
    var pump: RequestBodyPump?
    var requestEnded = true
    var requestBodyBytes = 0
    var closeAfterResponse = false
    var responseStatus: UInt?
    var responseBytes = 0
    var origin: OriginServer?
    var failureNote: String?
    private weak var handler: ProxyHandler?

    init(head: HTTPRequestHead, client: String?, eventLoop: any EventLoop, handler: ProxyHandler) {
        self.head = head
        self.eventLoop = eventLoop
        self.client = client
        self.handler = handler
    }

    func eventLoopFuture() -> EventLoopFuture<Void> {
        // Only reached when the exchange is no longer current; the call is being torn down.
        eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
    }

    func originResponseHeadReceived(_ head: HTTPResponseHead, from origin: OriginServer) -> EventLoopFuture<Void> {
        guard let handler else { return eventLoopFuture() }
        return handler.responseHeadReceived(head, from: origin, exchange: self)
    }

    func originBodyPartReceived(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        guard let handler else { return eventLoopFuture() }
        return handler.responseBodyPartReceived(part, exchange: self)
    }

    func originResponseCompleted() {
        handler?.responseCompleted(exchange: self)
    }

    func originFailed(_ failure: OriginFailure, origin: OriginServer, headDelivered: Bool) {
        handler?.originFailed(failure, origin: origin, headDelivered: headDelivered, exchange: self)
    }
}
