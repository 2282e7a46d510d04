// One request's conversation with the origins: an attempt (an OriginExchange) per chosen origin,
// at most two, the response-head timer (armed once the request has been sent) and the idle-body
// timer (armed at the head, re-armed lazily so a busy body costs no timer per part, and never
// firing while the client is the slow side). Interim 1xx heads of the current attempt are passed
// on before its final head. Where the call is, and what each event leads to, is
// OriginCallStateMachine's to say; this class performs its actions (attempts, timers, the
// consumer's callbacks). Confined to one event loop; every entry point asserts it.
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

    private var lifecycle: OriginCallStateMachine
    /// The current attempt; events from an earlier one are ignored.
    private var exchange: OriginExchange?
    private var headTimer: Scheduled<Void>?
    private var bodyTimer: Scheduled<Void>?
    private var lastBodyActivity = NIODeadline.now()

    init(eventLoop: any EventLoop, request: OriginRequest, handler: any OriginResponseHandling, roster: OriginRoster) {
        self.eventLoop = eventLoop
        self.request = request
        self.head = request.originHead()
        self.handler = handler
        self.client = roster
        self.lifecycle = OriginCallStateMachine(isIdempotent: request.isIdempotent, originCount: roster.origins.count)
    }

    /// The client went away or no longer wants the answer: stop, and call nothing more.
    public func cancel() {
        eventLoop.assertInEventLoop()
        perform(lifecycle.cancelled())
    }

    func attempt(excluding: Int?) {
        eventLoop.assertInEventLoop()
        guard let index = client.selectOrigin(excluding: excluding) else {
            preconditionFailure("selectOrigin returns an origin whenever one exists")
        }
        lifecycle.attemptStarted(origin: index)
        var head = self.head
        if request.hostFromOrigin { head.headers.replaceOrAdd(name: "host", value: client.hostHeaderValues[index]) }
        let exchange = OriginExchange(
            call: self, origin: index, head: head, body: request.body, isIdempotent: request.isIdempotent,
            pool: client.pool(for: eventLoop))
        self.exchange = exchange
        exchange.start()
    }

    private var origin: OriginServer { client.origins[lifecycle.origin ?? 0] }

    /// Performs what the lifecycle said; the actions that hand something to the consumer are
    /// performed where they are returned (they carry the event's payload).
    private func perform(_ action: OriginCallStateMachine.Action) {
        switch action {
        case .none, .deliver, .deliverHead:
            break
        case .armHeadTimer:
            // Sent again on a fresh connection after a stale one: the wait starts over.
            headTimer?.cancel()
            let exchange = self.exchange
            headTimer = eventLoop.scheduleTask(in: client.responseHeadTimeout) { [self] in
                guard exchange === self.exchange else { return }
                perform(lifecycle.headTimerFired())
            }
        case .armBodyTimerAgain:
            // The client is the slow side, or the body moved since: look again later.
            let idle = NIODeadline.now() - lastBodyActivity
            let writing = lifecycle.state == .streaming(writing: true)
            armBodyTimer(in: writing || idle >= client.idleBodyTimeout ? client.idleBodyTimeout : client.idleBodyTimeout - idle)
        case .timeOut(let failure, let headDelivered):
            exchange?.cancel()
            exchange = nil
            report(failure, headDelivered: headDelivered)
        case .retry(let failure, let down):
            client.recordConnectFailure(down, failure)
            cancelTimers()
            // RFC 9110 §9.2.2: an idempotent request that never reached the origin may be sent
            // again, once, to another origin.
            attempt(excluding: down)
        case .fail(let failure, let down, let headDelivered):
            if let down { client.recordConnectFailure(down, failure) }
            report(failure, headDelivered: headDelivered)
        case .complete:
            exchange = nil
            cancelTimers()
            takeHandler()?.originResponseCompleted()
        case .cancel:
            handler = nil
            cancelTimers()
            exchange?.cancel()
            exchange = nil
        }
    }

    private func cancelTimers() {
        headTimer?.cancel(); headTimer = nil
        bodyTimer?.cancel(); bodyTimer = nil
    }

    private func report(_ failure: OriginFailure, headDelivered: Bool) {
        cancelTimers()
        takeHandler()?.originFailed(failure, origin: origin, headDelivered: headDelivered)
    }

    /// The consumer, for its last call: nothing is called after it.
    private func takeHandler() -> (any OriginResponseHandling)? {
        defer { handler = nil }
        return handler
    }

    private func armBodyTimer(in delay: TimeAmount) {
        let exchange = self.exchange
        bodyTimer = eventLoop.scheduleTask(in: delay) { [self] in
            guard exchange === self.exchange else { return }
            perform(lifecycle.bodyTimerFired(idleLongEnough: NIODeadline.now() - lastBodyActivity >= client.idleBodyTimeout))
        }
    }

    // MARK: events from the current exchange

    func requestSent(by exchange: OriginExchange) {
        guard exchange === self.exchange else { return }
        perform(lifecycle.requestSent())
    }

    func informationalReceived(_ head: HTTPResponseHead, by exchange: OriginExchange) {
        guard exchange === self.exchange, case .deliver = lifecycle.informationalReceived(), let handler else { return }
        handler.originInformationalReceived(head)
    }

    func headReceived(_ head: HTTPResponseHead, by exchange: OriginExchange) -> EventLoopFuture<Void> {
        guard exchange === self.exchange, case .deliverHead = lifecycle.headReceived(), let handler else {
            return eventLoop.makeSucceededVoidFuture()
        }
        headTimer?.cancel(); headTimer = nil
        if let index = lifecycle.origin { client.recordResponse(index) }
        lastBodyActivity = .now()
        armBodyTimer(in: client.idleBodyTimeout)
        return handler.originResponseHeadReceived(head, from: origin)
    }

    func bodyPartReceived(_ part: ByteBuffer, by exchange: OriginExchange) -> EventLoopFuture<Void> {
        guard exchange === self.exchange, case .deliver = lifecycle.bodyPartReceived(), let handler else {
            return eventLoop.makeSucceededVoidFuture()
        }
        lastBodyActivity = .now()
        let written = handler.originBodyPartReceived(part)
        written.whenComplete { [self] _ in
            lifecycle.bodyPartWritten()
            lastBodyActivity = .now()
        }
        return written
    }

    func completed(by exchange: OriginExchange) {
        guard exchange === self.exchange else { return }
        perform(lifecycle.completed())
    }

    func failed(_ failure: OriginFailure, exchange: OriginExchange, bodyStarted: Bool) {
        guard exchange === self.exchange else { return }
        self.exchange = nil
        perform(lifecycle.failed(failure, bodyStarted: bodyStarted))
    }
}
