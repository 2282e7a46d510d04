// One request's conversation with the origins: an attempt (an OriginExchange) per chosen origin,
// at most two, the response-head timer (armed once the request has been sent) and the idle-body
// timer (armed at the head, re-armed lazily so a busy body costs no timer per part, and never
// firing while the client is the slow side). Interim 1xx heads of the current attempt are passed
// on before its final head. Confined to one event loop; every entry point asserts it.
// Invariant: every call ends in exactly one `originResponseCompleted` or `originFailed`, unless
// cancelled, after which nothing more is called.
import NIOCore
import NIOHTTP1

public final class OriginCall: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let request: OriginRequest
    /// Built once; an attempt only replaces Host when the origin's own name is wanted.
    private let head: HTTPRequestHead
    private var handler: (any OriginResponseHandling)?
    /// The origins as they were when the call started (a reload does not change them under it).
    private let client: OriginRoster

    private var retried = false
    private var originIndex = 0
    private var exchange: OriginExchange?
    private var headDelivered = false
    private var headTimer: Scheduled<Void>?
    private var bodyTimer: Scheduled<Void>?
    private var lastBodyActivity = NIODeadline.now()
    private var writePending = false
    private var finished = false

    init(eventLoop: any EventLoop, request: OriginRequest, handler: any OriginResponseHandling, roster: OriginRoster) {
        self.eventLoop = eventLoop
        self.request = request
        self.head = request.originHead()
        self.handler = handler
        self.client = roster
    }

    /// The client went away or no longer wants the answer: stop, and call nothing more.
    public func cancel() {
        eventLoop.assertInEventLoop()
        guard !finished else { return }
        finished = true
        handler = nil
        cancelTimers()
        exchange?.cancel()
        exchange = nil
    }

    func attempt(excluding: Int?) {
        eventLoop.assertInEventLoop()
        guard let index = client.selectOrigin(excluding: excluding) else {
            preconditionFailure("selectOrigin returns an origin whenever one exists")
        }
        originIndex = index
        headDelivered = false
        var head = self.head
        if request.hostFromOrigin { head.headers.replaceOrAdd(name: "host", value: client.hostHeaderValues[index]) }
        let exchange = OriginExchange(
            call: self, origin: index, head: head, body: request.body, isIdempotent: request.isIdempotent,
            pool: client.pool(for: eventLoop))
        self.exchange = exchange
        exchange.start()
    }

    private var origin: OriginServer { client.origins[originIndex] }

    private func cancelTimers() {
        headTimer?.cancel(); headTimer = nil
        bodyTimer?.cancel(); bodyTimer = nil
    }

    private func fail(_ failure: OriginFailure) {
        guard !finished else { return }
        finished = true
        cancelTimers()
        let handler = self.handler
        self.handler = nil
        handler?.originFailed(failure, origin: origin, headDelivered: headDelivered)
    }

    /// A timer of the current attempt fired: drop the exchange (closing its connection) and fail.
    private func timedOut(_ failure: OriginFailure) {
        guard !finished else { return }
        exchange?.cancel()
        exchange = nil
        fail(failure)
    }

    // MARK: events from the current exchange

    func requestSent(by exchange: OriginExchange) {
        guard exchange === self.exchange, !finished else { return }
        // Sent again on a fresh connection after a stale one: the wait starts over.
        headTimer?.cancel()
        headTimer = eventLoop.scheduleTask(in: client.responseHeadTimeout) { [self] in
            guard exchange === self.exchange else { return }
            timedOut(.responseHeadTimedOut)
        }
    }

    func informationalReceived(_ head: HTTPResponseHead, by exchange: OriginExchange) {
        guard exchange === self.exchange, !finished, let handler else { return }
        handler.originInformationalReceived(head)
    }

    func headReceived(_ head: HTTPResponseHead, by exchange: OriginExchange) -> EventLoopFuture<Void> {
        guard exchange === self.exchange, !finished, let handler else { return eventLoop.makeSucceededVoidFuture() }
        headTimer?.cancel(); headTimer = nil
        client.recordResponse(originIndex)
        headDelivered = true
        lastBodyActivity = .now()
        armBodyTimer(in: client.idleBodyTimeout)
        return handler.originResponseHeadReceived(head, from: origin)
    }

    private func armBodyTimer(in delay: TimeAmount) {
        let exchange = self.exchange
        bodyTimer = eventLoop.scheduleTask(in: delay) { [self] in
            guard !finished, exchange === self.exchange else { return }
            let idle = NIODeadline.now() - lastBodyActivity
            if writePending || idle < client.idleBodyTimeout {
                // The client is the slow side, or the body moved since: look again later.
                armBodyTimer(in: writePending ? client.idleBodyTimeout : client.idleBodyTimeout - idle)
            } else {
                timedOut(.bodyIdleTimedOut)
            }
        }
    }

    func bodyPartReceived(_ part: ByteBuffer, by exchange: OriginExchange) -> EventLoopFuture<Void> {
        guard exchange === self.exchange, !finished, let handler else { return eventLoop.makeSucceededVoidFuture() }
        lastBodyActivity = .now()
        writePending = true
        let written = handler.originBodyPartReceived(part)
        written.whenComplete { [self] _ in
            writePending = false
            lastBodyActivity = .now()
        }
        return written
    }

    func completed(by exchange: OriginExchange) {
        guard exchange === self.exchange, !finished else { return }
        finished = true
        self.exchange = nil
        cancelTimers()
        let handler = self.handler
        self.handler = nil
        handler?.originResponseCompleted()
    }

    func failed(_ failure: OriginFailure, exchange: OriginExchange, bodyStarted: Bool) {
        guard exchange === self.exchange, !finished else { return }
        self.exchange = nil
        if failure.requestNeverSent {
            client.recordConnectFailure(originIndex, failure)
            // RFC 9110 §9.2.2: an idempotent request that never reached the origin may be sent
            // again, once, to another origin — unless its body has started to stream away.
            if request.isIdempotent, !retried, !bodyStarted, client.origins.count > 1 {
                retried = true
                cancelTimers()
                attempt(excluding: originIndex)
                return
            }
        }
        fail(failure)
    }
}
