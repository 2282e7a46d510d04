// Answers requests the HTTP decoder could not parse: 431 when the head was too large or had too
// many fields, 400 for every other framing or syntax error (RFC 9112 §11.2: a message whose framing
// is in doubt is never forwarded), and always closes the connection afterwards — the bytes that
// follow cannot be trusted to start a new request; the close lingers (ConnectionTimeouts). If a response is already in flight it can only
// close. Replaces NIO's HTTPServerProtocolErrorHandler, which always answers 400.
import Logging
import NIOCore
import NIOHTTP1

final class ProtocolErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var responseInFlight = false
    private var errorSeen = false
    private let logger: Logger
    private let timeouts: ConnectionTimeouts

    init(logger: Logger, timeouts: ConnectionTimeouts) {
        self.logger = logger
        self.timeouts = timeouts
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError || error is NIOHTTPDecoderError else {
            context.fireErrorCaught(error)
            return
        }
        guard !errorSeen else { return }
        errorSeen = true
        let status: HTTPResponseStatus
        if let parser = error as? HTTPParserError, parser == .headerOverflow {
            status = .requestHeaderFieldsTooLarge
        } else {
            status = .badRequest
        }
        logger.info("request rejected", metadata: [
            "status": "\(status.code)", "reason": "\(error)", "client": "\(context.remoteAddress?.ipAddress ?? "-")",
        ])
        // Let the handlers behind know the request is gone before closing.
        context.fireErrorCaught(error)
        guard !responseInFlight else {
            context.close(promise: nil)
            return
        }
        let response = ErrorPage.response(status: status, closing: true)
        context.write(wrapOutboundOut(.head(response.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        // A lingering close: the rest of what the client sends is read and dropped, so no reset
        // destroys the answer before the client reads it.
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { [timeouts] _ in timeouts.closeLingering() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: responseInFlight = true
        case .end: responseInFlight = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
