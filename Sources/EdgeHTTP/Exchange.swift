// One request and what became of it. It receives the origin's answer either from its own origin
// call (a pass) or from the fill of its key (as the leader or a waiter), and hands each event to
// the connection's handler, which writes only while this exchange is the current one. Where the
// exchange is in its life, and what follows from each event, is `lifecycle`'s to say
// (ExchangeStateMachine); this class holds what the exchange owns: its call, fill, timers and the
// figures its access-log line reports. Confined to the connection's event loop.
import CachePolicy
import CacheStore
import EdgeCache
import NIOCore
import NIOHTTP1
import OriginClient

final class Exchange: OriginResponseHandling, FillSubscriber, @unchecked Sendable {
    let head: HTTPRequestHead
    let client: String?
    let started = NIODeadline.now()
    let eventLoop: any EventLoop
    private weak var handler: ProxyHandler?

    var request: CacheRequest?
    var call: OriginCall?
    var pump: RequestBodyPump?
    var lifecycle: ExchangeStateMachine
    var requestBodyBytes = 0
    /// When the last piece of the request body arrived, and the timer that watches for the next.
    var lastRequestBodyActivity = NIODeadline.now()
    var requestBodyTimer: Scheduled<Void>?
    var invalidates = false
    /// The status sent, for the access log (499 or 400 when the client left or broke first).
    var responseStatus: UInt?
    var responseHeaders: HTTPHeaders?
    var responseBytes = 0
    var origin: OriginServer?
    var failureNote: String?
    var cacheStatus: CacheStatus? {
        didSet { renderedCacheStatus = nil }
    }
    /// `cacheStatus` as a field value, once something has rendered it (see `cacheStatusText`).
    private var renderedCacheStatus: String?

    /// `cacheStatus` rendered, once per exchange however many times it is asked for (the hit's
    /// head and the access log).
    var cacheStatusText: String? {
        if let renderedCacheStatus { return renderedCacheStatus }
        renderedCacheStatus = cacheStatus?.description
        return renderedCacheStatus
    }
    /// Forward listeners: the client's absolute URL, the access rule that admitted or refused it,
    /// and where the request goes instead of the node's origins.
    var absoluteTarget: String?
    var accessRule: String?
    var destination: ForwardRoute?
    /// While new credentials are verified off the event loop (`lifecycle.holdsRequestBody`): the
    /// body parts (and end) that arrived meanwhile, replayed once the request may go on.
    var heldBodyParts: [ByteBuffer] = []
    var heldEnd = false

    // The fill path.
    private var plan: FillPlan?
    private var fill: FillHandle?
    /// The one range of the body sent, when a range request is answered from a fill.
    private var rangeWindow: RangeWindow?
    /// Whether the response came from the store (a hit, or a stored body revalidated with 304).
    var servedFromCache: Bool { cacheStatus?.hit == true || lifecycle.source == .store }

    init(head: HTTPRequestHead, client: String?, eventLoop: any EventLoop, handler: ProxyHandler) {
        self.head = head
        self.client = client
        self.eventLoop = eventLoop
        self.handler = handler
        self.lifecycle = ExchangeStateMachine(keepAliveRequested: head.isKeepAlive)
    }

    /// The client is gone or the request was abandoned: stop everything this exchange started.
    func stop() {
        call?.cancel()
        pump?.fail(ChannelError.eof)
        requestBodyTimer?.cancel()
        fill?.detach(self)
        fill = nil
    }

    // MARK: the pass path

    func originResponseHeadReceived(_ head: HTTPResponseHead, from origin: OriginServer) -> EventLoopFuture<Void> {
        guard let handler else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        return handler.responseHeadReceived(head, from: origin, exchange: self)
    }

    func originInformationalReceived(_ head: HTTPResponseHead) {
        handler?.interimResponseReceived(head, exchange: self)
    }

    func originBodyPartReceived(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        guard let handler else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        return handler.responseBodyPartReceived(part, fromCache: false, exchange: self)
    }

    func originResponseCompleted() {
        handler?.responseCompleted(exchange: self)
    }

    func originFailed(_ failure: OriginFailure, origin: OriginServer, headDelivered: Bool) {
        handler?.originFailed(failure, origin: origin, exchange: self)
    }

    // MARK: the fill path

    /// Leads or waits on the fill of `plan.key`.
    func joinFill(_ plan: FillPlan) {
        guard let handler else { return }
        self.plan = plan
        let (fill, role) = handler.engine.fills.join(plan, subscriber: self)
        self.fill = fill
        lifecycle.fillJoined(leading: role == .leader)
        // A waiter is declined by the fill (fillDeclined) if its response has not started
        // within the collapse timeout.
        if role == .leader { fill.start(handler.fillRequest(plan, for: self)) }
    }

    private func fetchAlone(_ plan: FillPlan) {
        guard let handler, handler.isCurrent(self) != nil else { return }
        handler.engine.stats.count(.collapseAbandoned)
        let fill = handler.engine.fills.alone(plan, subscriber: self)
        self.fill = fill
        fill.start(handler.fillRequest(plan, for: self))
    }

    func fillDeclined(_ reason: FillDecline) {
        guard let plan, case .fetchAlone = lifecycle.stopWaiting() else { return }
        fill = nil
        fetchAlone(plan)
    }

    func fillStarted(_ response: FillResponse) -> EventLoopFuture<Void> {
        guard let handler, let context = handler.isCurrent(self), case .respond(let collapsed) = lifecycle.fillStarted() else {
            return eventLoop.makeSucceededVoidFuture()
        }
        var source = ExchangeStateMachine.Source.origin
        var sendsBody = head.method != .HEAD
        origin = response.origin
        let engine = handler.engine
        let name = engine.configuration.cacheName
        let code = Int(response.status.code)
        var headers: HTTPHeaders
        switch response.outcome {
        case .fetched(let notStored):
            // A plain miss says only `fwd=uri-miss`; a revalidation also says what the origin
            // answered, and the reason it was forwarded or not stored goes in `detail`. `stored`
            // only when the body was already stored as this head goes out (RFC 9211 §2.7).
            cacheStatus = .forwarded(
                cacheName: name, response.reason.forwardReason, status: response.reason == .noStoredResponse ? nil : code,
                stored: notStored == nil && response.storedWhole, collapsed: collapsed, timeToLive: notStored == nil ? response.timeToLive : nil,
                detail: notStored ?? (response.reason == .noStoredResponse ? nil : response.reason))
            headers = response.headers
            headers.removeHopByHopFields()
        case .revalidated:
            engine.stats.count(.hitsRevalidated)
            cacheStatus = .forwarded(cacheName: name, response.reason.forwardReason, status: 304, collapsed: collapsed,
                                     timeToLive: response.timeToLive)
            headers = storedHeaders(response)
            source = .store
        case .staleIfError(let staleness, let originStatus):
            engine.stats.count(.hitsStaleIfError)
            var status = CacheStatus.forwarded(cacheName: name, .stale, status: originStatus, collapsed: collapsed, timeToLive: -staleness)
            status.detail = "stale-if-error"
            cacheStatus = status
            headers = storedHeaders(response)
            source = .store
        }
        var status = response.status
        // RFC 9111 §4.3.2: the client's own validators are answered here, never forwarded.
        if (200..<300).contains(code),
           ConditionalRequest.evaluate(method: head.method.rawValue, request: head.headers, storedStatus: code,
                                       stored: headers, storedResponseTime: engine.configuration.clock.now()) == .notModified {
            status = .notModified
            headers = HTTPHeaders(ConditionalRequest.notModifiedFields(stored: headers))
            sendsBody = false
        }
        if status == .ok, head.headers.contains(name: "range") {
            status = answerRange(headers: &headers, response: response, sendsBody: &sendsBody)
        }
        handler.writeHead(status: status, headers: &headers, source: source, sendsBody: sendsBody, for: self, context: context)
        ProxyHandler.flushAtEndOfTurn(context)
        return eventLoop.makeSucceededVoidFuture()
    }

    /// RFC 9110 §14: the fill fetched the whole representation (ranges are never forwarded);
    /// a single range is cut from it as it streams, an unsatisfiable one gets 416. Several
    /// ranges, or a length not known from the head, get the whole 200 (§14.2 allows ignoring Range).
    private func answerRange(headers: inout HTTPHeaders, response: FillResponse, sendsBody: inout Bool) -> HTTPResponseStatus {
        guard let length = response.stored?.bodyLength ?? headers.first(name: "content-length").flatMap({ Int($0) }) else {
            return .ok
        }
        switch ByteRanges.evaluate(method: head.method.rawValue, request: head.headers, storedStatus: 200,
                                   stored: headers, length: length) {
        case .partial(let ranges) where ranges.count == 1:
            ProxyHandler.describePart(&headers, range: ranges[0], length: length)
            rangeWindow = RangeWindow(range: ranges[0])
            return .partialContent
        case .unsatisfiable:
            ProxyHandler.describeUnsatisfiable(&headers, length: length)
            sendsBody = false
            return .rangeNotSatisfiable
        case .whole, .partial:
            return .ok
        }
    }

    private func storedHeaders(_ response: FillResponse) -> HTTPHeaders {
        guard let handler, let stored = response.stored else { return response.headers }
        var headers = handler.storedHeaders(stored, bodyLength: stored.bodyLength, notModified: false)
        let age = stored.cached.age.currentAge(now: handler.engine.configuration.clock.now())
        headers.replaceOrAdd(name: "age", value: ResponseAge.fieldValue(currentAge: age))
        return headers
    }

    func fillInterimResponse(_ head: HTTPResponseHead) {
        handler?.interimResponseReceived(head, exchange: self)
    }

    func fillBodyPart(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        guard let handler, lifecycle.sendsBody else { return eventLoop.makeSucceededVoidFuture() }
        let fromCache = lifecycle.source == .store
        if rangeWindow != nil {
            guard let slice = rangeWindow!.slice(part) else { return eventLoop.makeSucceededVoidFuture() }
            return handler.responseBodyPartReceived(slice, fromCache: fromCache, exchange: self)
        }
        return handler.responseBodyPartReceived(part, fromCache: fromCache, exchange: self)
    }

    func fillCompleted() {
        fill = nil
        handler?.responseCompleted(exchange: self)
    }

    func fillFailed(_ failure: OriginFailure) {
        fill = nil
        handler?.originFailed(failure, origin: nil, exchange: self)
    }
}
