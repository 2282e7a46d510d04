// One request's conversation with the origins: an attempt per chosen origin (at most two), the
// response-head timer (armed once the request has been sent) and the idle-body timer (armed at
// the head, re-armed lazily so a busy body costs no timer per part, and never firing while the
// client is the slow side). Confined to one event loop; every entry point asserts it.
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

public final class OriginCall: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let request: OriginRequest
    private var handler: (any OriginResponseHandling)?
    private let client: OriginClient

    private var attemptNumber = 0
    private var retried = false
    private var originIndex = 0
    private var task: HTTPClient.Task<Void>?
    private var headTimer: Scheduled<Void>?
    private var bodyTimer: Scheduled<Void>?
    private var timedOut: OriginFailure?
    private var lastBodyActivity = NIODeadline.now()
    private var writePending = false
    private var finished = false

    init(eventLoop: any EventLoop, request: OriginRequest, handler: any OriginResponseHandling, client: OriginClient) {
        self.eventLoop = eventLoop
        self.request = request
        self.handler = handler
        self.client = client
    }

    /// The client went away or no longer wants the answer: stop, and call nothing more.
    public func cancel() {
        eventLoop.assertInEventLoop()
        guard !finished else { return }
        finished = true
        handler = nil
        cancelTimers()
        task?.cancel()
    }

    func attempt(excluding: Int?) {
        eventLoop.assertInEventLoop()
        guard let index = client.selectOrigin(excluding: excluding) else {
            preconditionFailure("selectOrigin returns an origin whenever one exists")
        }
        attemptNumber += 1
        originIndex = index
        timedOut = nil
        let delegate = Delegate(call: self, attempt: attemptNumber)
        do {
            task = try client.start(request, origin: index, delegate: delegate, eventLoop: eventLoop)
        } catch {
            fail(OriginFailure(error, headReceived: false), headDelivered: false)
        }
    }

    private var origin: OriginServer { client.origins[originIndex] }

    private func cancelTimers() {
        headTimer?.cancel(); headTimer = nil
        bodyTimer?.cancel(); bodyTimer = nil
    }

    private func fail(_ failure: OriginFailure, headDelivered: Bool) {
        guard !finished else { return }
        finished = true
        cancelTimers()
        let handler = self.handler
        self.handler = nil
        handler?.originFailed(failure, origin: origin, headDelivered: headDelivered)
    }

    // MARK: events from the current attempt

    fileprivate func requestSent(attempt: Int) {
        guard attempt == attemptNumber, !finished else { return }
        headTimer = eventLoop.scheduleTask(in: client.responseHeadTimeout) { [self] in
            guard !finished, attempt == attemptNumber else { return }
            timedOut = .responseHeadTimedOut
            task?.cancel()
        }
    }

    fileprivate func headReceived(_ head: HTTPResponseHead, attempt: Int) -> EventLoopFuture<Void> {
        guard attempt == attemptNumber, !finished, let handler else { return eventLoop.makeSucceededVoidFuture() }
        headTimer?.cancel(); headTimer = nil
        client.recordResponse(originIndex)
        lastBodyActivity = .now()
        armBodyTimer(in: client.idleBodyTimeout)
        return handler.originResponseHeadReceived(head, from: origin)
    }

    private func armBodyTimer(in delay: TimeAmount) {
        let attempt = attemptNumber
        bodyTimer = eventLoop.scheduleTask(in: delay) { [self] in
            guard !finished, attempt == attemptNumber else { return }
            let idle = NIODeadline.now() - lastBodyActivity
            if writePending || idle < client.idleBodyTimeout {
                // The client is the slow side, or the body moved since: look again later.
                armBodyTimer(in: writePending ? client.idleBodyTimeout : client.idleBodyTimeout - idle)
            } else {
                timedOut = .bodyIdleTimedOut
                task?.cancel()
            }
        }
    }

    fileprivate func bodyPartReceived(_ part: ByteBuffer, attempt: Int) -> EventLoopFuture<Void> {
        guard attempt == attemptNumber, !finished, let handler else { return eventLoop.makeSucceededVoidFuture() }
        lastBodyActivity = .now()
        writePending = true
        let written = handler.originBodyPartReceived(part)
        written.whenComplete { [self] _ in
            writePending = false
            lastBodyActivity = .now()
        }
        return written
    }

    fileprivate func completed(attempt: Int) {
        guard attempt == attemptNumber, !finished else { return }
        finished = true
        cancelTimers()
        let handler = self.handler
        self.handler = nil
        handler?.originResponseCompleted()
    }

    fileprivate func failed(_ error: any Error, attempt current: Int, headReceived: Bool, bodyStarted: Bool) {
        guard current == attemptNumber, !finished else { return }
        let failure = timedOut ?? OriginFailure(error, headReceived: headReceived)
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
        fail(failure, headDelivered: headReceived)
    }

    // MARK: - the AsyncHTTPClient delegate of one attempt

    final class Delegate: HTTPClientResponseDelegate, @unchecked Sendable {
        typealias Response = Void
        private let call: OriginCall
        private let attempt: Int
        private var headReceived = false
        private var bodyWasStarted = false

        init(call: OriginCall, attempt: Int) {
            self.call = call
            self.attempt = attempt
        }

        /// The body stream was handed to the origin connection: a retry could no longer resend it.
        func bodyStarted() {
            if call.eventLoop.inEventLoop { bodyWasStarted = true }
            else { call.eventLoop.execute { self.bodyWasStarted = true } }
        }

        func didSendRequest(task: HTTPClient.Task<Void>) {
            call.eventLoop.assertInEventLoop()
            call.requestSent(attempt: attempt)
        }

        func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
            call.eventLoop.assertInEventLoop()
            headReceived = true
            return call.headReceived(head, attempt: attempt)
        }

        func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
            call.eventLoop.assertInEventLoop()
            return call.bodyPartReceived(buffer, attempt: attempt)
        }

        func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
            call.eventLoop.assertInEventLoop()
            call.failed(error, attempt: attempt, headReceived: headReceived, bodyStarted: bodyWasStarted)
        }

        func didFinishRequest(task: HTTPClient.Task<Void>) throws {
            call.eventLoop.assertInEventLoop()
            call.completed(attempt: attempt)
        }
    }
}
