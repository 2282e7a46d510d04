// One request's conversation with the origins: an attempt (an OriginExchange) per chosen origin,
// at most two, the response-head deadline (from the request's sending) and the idle-body deadline
// (from the head, moved lazily so a busy body costs no timer per part, and never firing while the
// client is the slow side). One timer serves both: scheduled for the nearest deadline, it is not
// rescheduled when a deadline moves later (it fires, finds the deadline ahead, and arms itself for
// the rest), so a call usually schedules one timer and cancels it once. Interim 1xx heads of the
// current attempt are passed on before its final head. Where the call is, and what each event
// leads to, is OriginCallStateMachine's to say; this class performs its actions (attempts, timers,
// the consumer's callbacks). Confined to one event loop; every entry point asserts it.
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
    /// The call's one timer and when it fires; deadlines and activity are on the loop's clock.
    private var timer: Scheduled<Void>?
    private var timerFiresAt: NIODeadline?
    private var headDeadline: NIODeadline?
    private var bodyDeadline: NIODeadline?
    private var lastBodyActivity = NIODeadline.uptimeNanoseconds(0)

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
            let deadline = eventLoop.now + client.responseHeadTimeout
            headDeadline = deadline
            schedule(at: deadline)
        case .armBodyTimerAgain:
            // The client is the slow side, or the body moved since: look again later.
            let idle = eventLoop.now - lastBodyActivity
            let writing = lifecycle.state == .streaming(writing: true)
            armBodyDeadline(at: eventLoop.now + (writing || idle >= client.idleBodyTimeout ? client.idleBodyTimeout : client.idleBodyTimeout - idle))
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
        timer?.cancel()
        timer = nil
        timerFiresAt = nil
        headDeadline = nil
        bodyDeadline = nil
    }

    /// The body is idle too long at `deadline` unless it moves; the timer fires by then.
    private func armBodyDeadline(at deadline: NIODeadline) {
        bodyDeadline = deadline
        schedule(at: deadline)
    }

    /// Makes the timer fire by `deadline`: left alone when it fires by then already.
    private func schedule(at deadline: NIODeadline) {
        if let timerFiresAt, timerFiresAt <= deadline { return }
        timer?.cancel()
        timerFiresAt = deadline
        timer = eventLoop.scheduleTask(deadline: deadline) { [self] in timerFired() }
    }

    /// The head's deadline while it is awaited, else the body's; one not yet reached re-arms.
    private func timerFired() {
        timer = nil
        timerFiresAt = nil
        let now = eventLoop.now
        if let headDeadline {
            guard now >= headDeadline else { return schedule(at: headDeadline) }
            self.headDeadline = nil
            perform(lifecycle.headTimerFired())
        } else if let bodyDeadline {
            guard now >= bodyDeadline else { return schedule(at: bodyDeadline) }
            self.bodyDeadline = nil
            perform(lifecycle.bodyTimerFired(idleLongEnough: now - lastBodyActivity >= client.idleBodyTimeout))
        }
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
        // The head's deadline is over; the timer, set for it, re-arms for the body's when it fires.
        headDeadline = nil
        if let index = lifecycle.origin { client.recordResponse(index) }
        lastBodyActivity = eventLoop.now
        armBodyDeadline(at: lastBodyActivity + client.idleBodyTimeout)
        return handler.originResponseHeadReceived(head, from: origin)
    }

    func bodyPartReceived(_ part: ByteBuffer, by exchange: OriginExchange) -> EventLoopFuture<Void> {
        guard exchange === self.exchange, case .deliver = lifecycle.bodyPartReceived(), let handler else {
            return eventLoop.makeSucceededVoidFuture()
        }
        lastBodyActivity = eventLoop.now
        let written = handler.originBodyPartReceived(part)
        written.whenComplete { [self] _ in
            lifecycle.bodyPartWritten()
            lastBodyActivity = eventLoop.now
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
