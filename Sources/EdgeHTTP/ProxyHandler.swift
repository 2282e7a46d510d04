// The per-connection request handler of the public listener. One request at a time (pipelined
// requests are held back by NIO's HTTPServerPipelineHandler until the previous response ends).
// Each accepted request goes through the cache engine's decision:
//
//   serve stored / 304 / 504 ─ written here, synchronously, from memory (no origin, no disk)
//   fill  ─ the exchange subscribes to the key's fill (leading it or waiting on it)
//   pass  ─ the exchange drives its own origin call (unsafe methods, bypasses, bodies)
//
// The connection's own states:
//
//   idle ──head──▶ forwarding(exchange) ──response end──▶ idle (keep-alive) or closed
//     └──refused head──▶ discarding ──▶ idle or closed
//
// The exchange's lifecycle (deciding, consulting disk, waiting on a fill, responding, finished or
// closed, and the keep-alive decision) is ExchangeStateMachine's: each event goes to
// `exchange.lifecycle`, and this handler performs the action it returns.
//
// Invariants: a response is written only for the exchange that is current; a connection whose
// request body was not read to its end is closed after the response (never reused); a failure
// after the head was sent closes the connection, so a truncated body is never mistaken for a
// complete one; every response carries Cache-Status; an exchange is recorded (access log, per-host
// figures) once, when its lifecycle ends.
import CachePolicy
import CacheStore
import EdgeCache
import Logging
import NIOCore
import NIOHTTP1
import OriginClient

final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum State {
        case idle
        case forwarding(Exchange)
        /// The request was answered without being forwarded; its remaining parts are dropped.
        case discarding
        case closed
    }

    let configuration: EdgeConfiguration
    private let headGuard: RequestHeadGuard
    let origin: OriginClient
    let engine: CacheEngine
    let timeouts: ConnectionTimeouts
    let encodedWriter: EncodedResponseWriter
    let accessLog: AccessLog
    private let clients: ClientLimits
    /// "https" on a TLS listener: sent as X-Forwarded-Proto / Forwarded proto, and part of the key.
    let scheme: String
    /// Whether any rule limits request rates (asked once: the rules do not change under a connection).
    private let limitsRequestRates: Bool
    /// Set on a forward listener's connections (ProxyHandler+Forward).
    let forward: ForwardContext?
    let logger: Logger
    var state = State.idle
    private var context: ChannelHandlerContext?
    private var readPending = false
    /// A request the decoder could not parse has been answered (see `errorCaught`).
    private var undecodableAnswered = false
    /// The client's address as text, read once per connection (it does not change, and reading
    /// it formats the address anew: `inet_ntop`, then a String).
    private var clientAddress: String??

    init(configuration: EdgeConfiguration, origin: OriginClient, engine: CacheEngine, timeouts: ConnectionTimeouts,
         encodedWriter: EncodedResponseWriter, logger: Logger, accessLog: AccessLog, clients: ClientLimits, scheme: String = "http",
         forward: ForwardContext? = nil) {
        self.forward = forward
        self.clients = clients
        self.scheme = scheme
        self.limitsRequestRates = engine.rules.limitsRequestRates
        self.encodedWriter = encodedWriter
        self.configuration = configuration
        self.headGuard = RequestHeadGuard(configuration: configuration)
        self.origin = origin
        self.engine = engine
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

    private func requestHeadReceived(_ received: HTTPRequestHead, context: ChannelHandlerContext) {
        timeouts.requestHeadReceived()
        guard case .idle = state else { return }
        // RFC 9112 §3.2.2: an absolute-form target's authority replaces Host; from here on the
        // request is in origin-form, and the key reads its authority from Host alone.
        let form = RequestTargetForm(received.uri, method: received.method.wireName)
        let head = Self.originForm(received, form: form)
        if clientAddress == nil { clientAddress = .some(context.channel.remoteAddress?.ipAddress) }
        let exchange = Exchange(head: head, client: clientAddress!, eventLoop: context.eventLoop, handler: self)
        if forward != nil {
            guard admitForward(received, form: form, exchange: exchange, context: context) else { return }
        }
        proceed(exchange, context: context)
    }

    /// The request's way once it may go on: the head checks, the rate limit, the engine's decision.
    func proceed(_ exchange: Exchange, context: ChannelHandlerContext) {
        let head = exchange.head
        switch headGuard.check(head) {
        case .reject(let status, let reason):
            state = .discarding
            exchange.failureNote = reason
            // A refused method (405) leaves the framing sound: the body is read and dropped (the
            // pipeline handler holds the next request until it has ended) and the connection stays
            // open. Refused framing (400, 501), a target or body too large to read (414, 413) or an
            // expectation the client may still be waiting on (417) ends the connection.
            let closing = status != .methodNotAllowed || !head.isKeepAlive
            writeErrorPage(status, for: exchange, closing: closing, context: context)
        case .accept(let bodyLength, let hasBody, let expectsContinue):
            if limitsRequestRates, let wait = overRate(head, client: exchange.client) {
                engine.stats.count(.rateLimited)
                exchange.failureNote = "over the request rate"
                state = .discarding
                writeErrorPage(.tooManyRequests, for: exchange, closing: hasBody || !head.isKeepAlive, context: context,
                               extraHeaders: [("retry-after", ClientLimits.retryAfter(wait))])
                return
            }
            exchange.lifecycle.requestAccepted()
            // The key and any Vary'd variant are computed from what the origin will be sent.
            let request = CacheRequest(method: head.method, target: head.uri, headers: cacheRequestHeaders(for: exchange),
                                       hasBody: hasBody, scheme: exchange.destination?.scheme ?? scheme, destination: exchange.destination?.client)
            act(on: request, exchange: exchange, bodyLength: bodyLength, hasBody: hasBody, expectsContinue: expectsContinue,
                diskConsulted: false, context: context)
        }
    }

    /// How long the client must wait when a rule's request rate (RuleSettings.requestRate) is
    /// spent for it; nil when the request may go on.
    private func overRate(_ head: HTTPRequestHead, client: String?) -> TimeAmount? {
        guard let client else { return nil }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        let settings = engine.currentRules.rules.settings(host: PrimaryKey.hostWithoutPort(head.headers.first(name: "host") ?? ""),
                                                           path: path)
        guard let rate = settings.requestRate else { return nil }
        return clients.admit(client, rule: settings.ruleName ?? "", rate: rate, burst: settings.requestBurst)
    }

    /// Carries out the engine's decision for an accepted request.
    private func act(on request: CacheRequest, exchange: Exchange, bodyLength: Int?, hasBody: Bool, expectsContinue: Bool,
                     diskConsulted: Bool, diskEntries: [StoredEntry] = [], context: ChannelHandlerContext) {
        let head = exchange.head
        switch engine.decide(request, now: engine.configuration.clock.now(), diskConsulted: diskConsulted, diskEntries: diskEntries) {
        case .consultDisk(let key):
            // The disk is read off the event loop; the decision is made again when it answers.
            state = .forwarding(exchange)
            exchange.lifecycle.diskConsulted()
            engine.consultDisk(key: key, on: context.eventLoop).assumeIsolated().whenComplete { [self] result in
                guard let context = isCurrent(exchange), exchange.lifecycle.diskAnswered() else { return }
                act(on: request, exchange: exchange, bodyLength: bodyLength, hasBody: hasBody,
                    expectsContinue: expectsContinue, diskConsulted: true, diskEntries: (try? result.get()) ?? [], context: context)
            }
        case .serveStored(let answer):
            serve(answer, notModified: false, exchange: exchange, context: context)
        case .notModified(let answer):
            serve(answer, notModified: true, exchange: exchange, context: context)
        case .onlyIfCachedMiss:
            exchange.cacheStatus = .forwarded(cacheName: engine.configuration.cacheName, because: .onlyIfCachedMiss)
            writeErrorPage(.gatewayTimeout, for: exchange, closing: !head.isKeepAlive, context: context)
        case .fill(let plan):
            state = .forwarding(exchange)
            exchange.request = request
            exchange.joinFill(plan)
        case .pass(let reason, let invalidates, let remembered):
            exchange.request = request
            exchange.invalidates = invalidates
            var status = CacheStatus.forwarded(cacheName: engine.configuration.cacheName, because: reason)
            if let remembered { status.detail = remembered.detail }
            exchange.cacheStatus = status
            pass(exchange, bodyLength: bodyLength, hasBody: hasBody, expectsContinue: expectsContinue, context: context)
        }
    }

    /// Forwards the request on its own origin call, body streamed with backpressure.
    private func pass(_ exchange: Exchange, bodyLength: Int?, hasBody: Bool, expectsContinue: Bool, context: ChannelHandlerContext) {
        let head = exchange.head
        var request = OriginRequest(method: head.method.forWire, target: head.uri, headers: forwardedHeaders(for: exchange))
        request.hostFromOrigin = configuration.forwarding.hostHeader == .origin && exchange.destination == nil
        if hasBody {
            let pump = RequestBodyPump(eventLoop: context.eventLoop)
            pump.onDrained = { [weak self] in self?.resumeReading() }
            exchange.pump = pump
            request.body = OriginRequestBody(length: bodyLength) { writer in pump.start(writer) }
            exchange.lastRequestBodyActivity = .now()
            watchRequestBody(exchange, in: configuration.requestBodyTimeout, context: context)
            if expectsContinue && head.version != .http1_0 {
                // RFC 9110 §10.1.1: tell the client to send the body it is holding back.
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
        }
        state = .forwarding(exchange)
        exchange.lifecycle.passStarted()
        engine.stats.count(.originFetches)
        exchange.call = (exchange.destination?.client ?? origin).execute(request, on: context.eventLoop,
                                                                 handler: engine.stats.origins.metered(exchange))
    }

    func forwardedHeaders(for exchange: Exchange) -> HTTPHeaders {
        var headers = configuration.forwarding.originRequestHeaders(for: exchange.head, clientAddress: exchange.client, scheme: scheme)
        if let route = exchange.destination { configuration.forward.anonymise(&headers, targetOrigin: route.origin) }
        return headers
    }

    /// The request fields the cache decides on: those the origin will be sent (see
    /// ForwardingPolicy.cacheRequestHeaders), anonymised as a forward listener sends them.
    private func cacheRequestHeaders(for exchange: Exchange) -> HTTPHeaders {
        var headers = configuration.forwarding.cacheRequestHeaders(exchange.head.headers)
        if let route = exchange.destination { configuration.forward.anonymise(&headers, targetOrigin: route.origin) }
        return headers
    }

    /// The origin request of a fill (or a background revalidation) for this request.
    func fillRequest(_ plan: FillPlan, for exchange: Exchange) -> OriginRequest {
        // Query parameters the key drops are not sent either: an origin that reflected them would
        // have its answer stored for requests without them.
        let target = PrimaryKey.targetWithoutDroppedParameters(exchange.head.uri, key: plan.settings.key)
        var request = OriginRequest(method: .GET, target: target, headers: plan.originHeaders(from: forwardedHeaders(for: exchange)))
        request.hostFromOrigin = configuration.forwarding.hostHeader == .origin && exchange.destination == nil
        return request
    }

    /// A client that stops sending its body mid-way holds a client and an origin connection: past
    /// `requestBodyTimeout` of silence it gets 408 and both are released. Time the node itself
    /// spends not reading (its origin is slower than the client) does not count.
    private func watchRequestBody(_ exchange: Exchange, in delay: TimeAmount, context: ChannelHandlerContext) {
        exchange.requestBodyTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [weak self] () -> Void in
            guard let self, let context = self.isCurrent(exchange), exchange.lifecycle.isReadingRequestBody else { return }
            let timeout = self.configuration.requestBodyTimeout
            if exchange.pump?.isBackedUp == true { exchange.lastRequestBodyActivity = .now() }
            let idle = NIODeadline.now() - exchange.lastRequestBodyActivity
            guard idle >= timeout else {
                self.watchRequestBody(exchange, in: timeout - idle, context: context)
                return
            }
            exchange.failureNote = "request body idle for \(timeout.nanoseconds / 1_000_000) ms"
            self.logger.info("request body timed out", metadata: [
                "target": "\(exchange.head.uri)", "received": "\(exchange.requestBodyBytes)",
            ])
            self.abandon(exchange, answering: .requestTimeout, context: context)
        }
    }

    func requestBodyReceived(_ part: ByteBuffer, context: ChannelHandlerContext) {
        guard case .forwarding(let exchange) = state else { return }
        if exchange.lifecycle.holdsRequestBody {
            exchange.heldBodyParts.append(part)
            return
        }
        exchange.lastRequestBodyActivity = .now()
        exchange.requestBodyBytes += part.readableBytes
        if exchange.requestBodyBytes > configuration.maximumRequestBodyBytes {
            exchange.failureNote = "request body larger than \(configuration.maximumRequestBodyBytes) bytes"
            abandon(exchange, answering: .payloadTooLarge, context: context)
            return
        }
        exchange.pump?.append(part)
    }

    func requestEndReceived(context: ChannelHandlerContext) {
        guard case .forwarding(let exchange) = state else { return }
        if exchange.lifecycle.holdsRequestBody {
            exchange.heldEnd = true
            return
        }
        exchange.lifecycle.requestEnded()
        exchange.requestBodyTimer?.cancel()
        exchange.pump?.end()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .forwarding(let exchange) = state, case .stopAndRecord(let answered) = exchange.lifecycle.clientGone() {
            exchange.stop()
            exchange.failureNote = exchange.failureNote ?? "client closed the connection"
            if !answered { exchange.responseStatus = 499 }
            recordFinished(exchange)
        }
        state = .closed
        context.fireChannelInactive()
    }

    /// Input the HTTP decoder could not parse gets 431 when the head was too large or had too many
    /// fields and 400 for every other framing or syntax error (RFC 9112 §11.2: a message whose
    /// framing is in doubt is never forwarded), and the connection closes afterwards, lingering
    /// (ConnectionTimeouts): the bytes that follow cannot be trusted to start a new request. If a
    /// response is already under way it can only close. The pipelining handler holds such an
    /// error back until the response before it has ended. Any other error drops the exchange and
    /// closes at once.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let parserError = error as? HTTPParserError
        if parserError != nil || error is NIOHTTPDecoderError {
            guard !undecodableAnswered else { return }
            undecodableAnswered = true
            logger.info("request rejected", metadata: [
                "status": "\(parserError == .headerOverflow ? 431 : 400)", "reason": "\(error)",
                "client": "\(context.remoteAddress?.ipAddress ?? "-")",
            ])
        }
        var responseUnderWay = false
        if case .forwarding(let exchange) = state {
            responseUnderWay = exchange.lifecycle.headSent && !exchange.lifecycle.isOver
            if case .stopAndRecord(let answered) = exchange.lifecycle.clientGone() {
                exchange.stop()
                exchange.failureNote = "client error: \(error)"
                if !answered { exchange.responseStatus = 400 }
                recordFinished(exchange)
            }
        }
        state = .discarding
        guard let parserError, !responseUnderWay else {
            context.close(promise: nil)
            return
        }
        let response = ErrorPage.response(status: parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest,
                                          closing: true)
        context.write(wrapOutboundOut(.head(response.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        // A lingering close: the rest of what the client sends is read and dropped, so no reset
        // destroys the answer before the client reads it.
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { [timeouts] _ in timeouts.closeLingering() }
    }

    // MARK: outbound: read backpressure for request bodies

    func read(context: ChannelHandlerContext) {
        if case .forwarding(let exchange) = state, exchange.pump?.isBackedUp == true || exchange.lifecycle.holdsRequestBody {
            readPending = true
            return
        }
        context.read()
    }

    func resumeReading() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }

    // MARK: answers from the store

    private func serve(_ answer: StoredAnswer, notModified: Bool, exchange: Exchange, context: ChannelHandlerContext) {
        exchange.cacheStatus = answer.cacheStatus
        if let plan = answer.backgroundRevalidation {
            engine.fills.revalidateInBackground(plan, request: fillRequest(plan, for: exchange), on: context.eventLoop)
        }
        if !notModified && exchange.head.headers.contains(name: "range") && serveRanges(answer, exchange: exchange, context: context) {
            return
        }
        if !notModified && serveEncoded(answer, exchange: exchange, context: context) { return }
        let stored = answer.entry.response
        let status = notModified ? HTTPResponseStatus.notModified : HTTPResponseStatus(statusCode: stored.status)
        var headers = storedHeaders(stored, bodyLength: answer.entry.bodyLength, notModified: notModified)
        headers.replaceOrAdd(name: "age", value: ResponseAge.fieldValue(currentAge: answer.currentAge))
        let sendsBody = !notModified && exchange.head.method != .HEAD && answer.entry.bodyLength > 0
        guard writeHead(status: status, headers: &headers, source: .store, sendsBody: sendsBody, for: exchange, context: context) else {
            return
        }
        if sendsBody, let file = answer.entry.bodyFile {
            streamStoredBody(file, range: 0...(file.length - 1), exchange: exchange, context: context)
            return
        }
        if sendsBody {
            exchange.responseBytes = answer.entry.bodyLength
            engine.stats.count(.bytesFromCache, by: answer.entry.bodyLength)
            context.write(wrapOutboundOut(.body(.byteBuffer(answer.entry.body))), promise: nil)
        }
        finishResponse(exchange, context: context)
    }

    /// The head of a stored response as sent to clients: the stored fields without the targeted
    /// ones only this node obeys, framed by the stored body's length.
    func storedHeaders(_ stored: StoredResponse, bodyLength: Int, notModified: Bool) -> HTTPHeaders {
        var headers: HTTPHeaders
        if notModified {
            headers = HTTPHeaders(ConditionalRequest.notModifiedFields(stored: stored.fields))
        } else {
            headers = HTTPHeaders(stored.fields)
            if stored.status != 204 && stored.status != 304 {
                headers.replaceOrAdd(name: "content-length", value: String(bodyLength))
            }
        }
        return headers
    }

    // MARK: writing responses (current exchange only)

    /// Writes a final head: origin-identity rewrite, Via, Cache-Status, and the keep-alive decision
    /// (the exchange's lifecycle makes it). Returns false, having written nothing, when the
    /// exchange already has a head or is over.
    @discardableResult
    func writeHead(status: HTTPResponseStatus, headers: inout HTTPHeaders, version: HTTPVersion = .http1_1,
                   closing: Bool = false, source: ExchangeStateMachine.Source, sendsBody: Bool = true, ownFields: [(String, String)] = [],
                   for exchange: Exchange, context: ChannelHandlerContext) -> Bool {
        rewriteForClients(&headers, receivedVersion: version)
        // Fields this node writes for itself (e.g. its own Proxy-Authenticate), after the rewrite
        // that removes the origin's hop-by-hop ones.
        for (name, value) in ownFields { headers.replaceOrAdd(name: name, value: value) }
        if let cacheStatus = exchange.cacheStatus {
            headers.replaceOrAdd(name: "cache-status", value: cacheStatus.appended(to: headers[canonicalForm: "cache-status"].joined(separator: ", ")))
        }
        let request = exchange.head
        // HTTP/1.0 clients cannot be sent chunked framing: the body ends with the connection.
        let unframed = request.version == .http1_0 && !headers.contains(name: "content-length") && status.mayHaveResponseBody
        guard case .write(let closes) = exchange.lifecycle.responseHeadReady(from: source, closing: closing, unframed: unframed,
                                                                             sendsBody: sendsBody)
        else { return false }
        // HTTP/2 has no Connection field (RFC 9113 §8.2.2): the stream just ends.
        if closes && request.version.major == 1 { headers.replaceOrAdd(name: "connection", value: "close") }
        exchange.responseStatus = status.code
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        return true
    }

    /// What every response head gets on its way to a client: the origin-identity rewrite, Via,
    /// and no targeted fields only this node obeys.
    func rewriteForClients(_ headers: inout HTTPHeaders, receivedVersion version: HTTPVersion) {
        configuration.forwarding.rewriteResponseHeaders(&headers, receivedVersion: version)
        let current = engine.currentRules
        for name in current.rules.defaults.targeting.fieldsToStrip where headers.contains(name: name) {
            headers.remove(name: name)
        }
    }

    func isCurrent(_ exchange: Exchange) -> ChannelHandlerContext? {
        guard let context, case .forwarding(let current) = state, current === exchange else { return nil }
        return context
    }

    func responseHeadReceived(_ head: HTTPResponseHead, from server: OriginServer, exchange: Exchange) -> EventLoopFuture<Void> {
        guard let context = isCurrent(exchange) else { return exchange.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        exchange.origin = server
        exchange.responseHeaders = head.headers
        var headers = head.headers
        headers.removeHopByHopFields()
        writeHead(status: head.status, headers: &headers, version: head.version, source: .origin, for: exchange, context: context)
        // Sent in this turn of the event loop: the client learns the status even if the body then
        // breaks, and a body part that came in the same read goes out in the same write.
        Self.flushAtEndOfTurn(context)
        return context.eventLoop.makeSucceededVoidFuture()
    }

    /// Flushes once the event loop has done what it is doing now: a head written while the
    /// origin's read is being decoded leaves with the body parts of that read, in one write
    /// (one segment for a small response) instead of one for the head and one for the body.
    static func flushAtEndOfTurn(_ context: ChannelHandlerContext) {
        context.eventLoop.assumeIsolated().execute { context.flush() }
    }

    /// RFC 9110 §15.2: "A proxy MUST forward 1xx responses unless the proxy itself requested the
    /// generation of the 1xx response", but not to an HTTP/1.0 client, which cannot parse them. 100
    /// is this node's own business (it answers Expect itself) and 101 is never asked for.
    func interimResponseReceived(_ head: HTTPResponseHead, exchange: Exchange) {
        guard let context = isCurrent(exchange), exchange.lifecycle.mayForwardInterim,
              exchange.head.version.major >= 2 || exchange.head.version.minor >= 1,
              (102..<200).contains(head.status.code)
        else { return }
        var headers = head.headers
        headers.removeHopByHopFields()
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: exchange.head.version, status: head.status,
                                                                     headers: headers))), promise: nil)
    }

    func responseBodyPartReceived(_ part: ByteBuffer, fromCache: Bool, exchange: Exchange) -> EventLoopFuture<Void> {
        guard let context = isCurrent(exchange) else { return exchange.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        exchange.responseBytes += part.readableBytes
        if fromCache {
            engine.stats.count(.bytesFromCache, by: part.readableBytes)
        } else {
            engine.stats.count(.bytesFromOrigin, by: part.readableBytes)
        }
        return context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(part))))
    }

    func responseCompleted(exchange: Exchange) {
        guard let context = isCurrent(exchange) else { return }
        if exchange.invalidates, let request = exchange.request, let status = exchange.responseStatus {
            engine.invalidate(after: request, status: Int(status), response: exchange.responseHeaders ?? HTTPHeaders())
        }
        finishResponse(exchange, context: context)
    }

    /// The response's end: recorded, then the connection kept for the next request or closed, as
    /// the exchange's lifecycle decides.
    func finishResponse(_ exchange: Exchange, context: ChannelHandlerContext) {
        guard case .finish(let keepAlive) = exchange.lifecycle.responseEnded() else { return }
        recordFinished(exchange)
        if !keepAlive {
            exchange.pump?.fail(ChannelError.outputClosed)
            state = .closed
            // Lingering: the client may still be sending (a refusal answered before its body).
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { [timeouts] _ in
                // An HTTP/2 stream has no connection timers of its own: it is closed at once.
                if timeouts.isAttached { timeouts.closeLingering() } else { context.close(promise: nil) }
            }
        } else {
            // Become idle before writing the end: the pipeline handler may hand over the next
            // pipelined request from inside that write.
            state = .idle
            timeouts.responseCompleted()
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            // A read held back for the request body is owed to the next request.
            resumeReading()
        }
    }

    func originFailed(_ failure: OriginFailure, origin server: OriginServer?, exchange: Exchange) {
        guard let context = isCurrent(exchange) else { return }
        exchange.origin = server ?? exchange.origin
        exchange.failureNote = failure.description
        logger.warning("origin request failed", metadata: [
            "origin": "\(server?.description ?? "-")", "reason": "\(failure)", "method": "\(exchange.head.method.wireName)",
            "target": "\(exchange.head.uri)",
        ])
        switch exchange.lifecycle.failed() {
        case .closeAbruptly:
            // The client already has a head: only an abrupt close says the body is incomplete.
            closeAbruptly(exchange, context: context)
        case .writeErrorPage(let closing):
            if closing { exchange.pump?.fail(ChannelError.outputClosed) }
            writeErrorPage(failure.gatewayStatus, for: exchange, closing: closing, context: context)
        case .none:
            break
        }
    }

    // MARK: helpers

    /// Ends the exchange and the connection without another byte (what was written already,
    /// such as a head whose flush waits for the end of this turn, is flushed first): the
    /// lifecycle's `closeAbruptly`.
    func closeAbruptly(_ exchange: Exchange, context: ChannelHandlerContext) {
        recordFinished(exchange)
        state = .closed
        exchange.pump?.fail(ChannelError.outputClosed)
        context.flush()
        context.close(promise: nil)
    }

    /// The access log line and the per-host figures of a finished (or failed) exchange.
    func recordFinished(_ exchange: Exchange) {
        accessLog.record(exchange)
        let status = exchange.cacheStatus
        let lookup = status.map { $0.hit || ($0.forward != .bypass && $0.forward != .method) } ?? false
        engine.hosts.record(host: exchange.head.headers.first(name: "host") ?? "", lookup: lookup,
                            servedFromCache: exchange.servedFromCache, bytes: exchange.responseBytes)
    }

    /// Gives up on the current exchange (a client-side limit broke) and answers `status` if no
    /// response has started; the connection closes either way.
    private func abandon(_ exchange: Exchange, answering status: HTTPResponseStatus, context: ChannelHandlerContext) {
        exchange.stop()
        state = .discarding
        switch exchange.lifecycle.abandoned() {
        case .writeErrorPage(let closing): writeErrorPage(status, for: exchange, closing: closing, context: context)
        case .closeAbruptly: closeAbruptly(exchange, context: context)
        case .none: break
        }
    }

    func writeErrorPage(_ status: HTTPResponseStatus, for exchange: Exchange, closing: Bool, context: ChannelHandlerContext,
                        extraHeaders: [(String, String)] = [], explanation: String? = nil) {
        let page = ErrorPage.response(status: status, closing: closing, cacheStatus: nil, explanation: explanation)
        // Every response carries Cache-Status: a page written before any cache decision gets one.
        if exchange.cacheStatus == nil {
            exchange.cacheStatus = ErrorPage.cacheStatus(for: status, cacheName: engine.configuration.cacheName)
        }
        var headers = page.head.headers
        guard writeHead(status: status, headers: &headers, closing: closing, source: .node, ownFields: extraHeaders, for: exchange,
                        context: context)
        else { return }
        exchange.responseBytes = page.body.readableBytes
        context.write(wrapOutboundOut(.body(.byteBuffer(page.body))), promise: nil)
        finishResponse(exchange, context: context)
    }
}
