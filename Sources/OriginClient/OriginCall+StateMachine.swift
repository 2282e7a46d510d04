// The lifecycle of one origin call (one request's conversation with the origins, OriginCall) as a
// value: the call reports each event, the machine returns the one action to perform. No I/O, no
// timers, no event loop; the origin chosen for an attempt is the owner's (OriginHealth picks it).
//
//   choosingOrigin ─▶ attempting ──request sent──▶ awaitingHead ──head──▶ streaming ──end──▶ finished
//          ▲               │                            │                    │
//          └── never sent, idempotent, not retried: ────┘                    │
//              retry on another origin                                       │
//                          └───── failure, head timer, cancel ───────────────┴──▶ finished
//
// Invariants:
// - the call ends once: exactly one `complete` or `fail` action, unless cancelled first, after
//   which every event answers `none`;
// - at most one retry, only of an idempotent request that certainly never reached an origin and
//   whose body has not started to stream (RFC 9110 §9.2.2), and only when another origin exists;
// - the head timer runs from the request's sending to its head, the idle-body timer from the head
//   to the end, and the body timer never fires a timeout while a part is being written to the
//   client (the client is the slow side then, not the origin).
import NIOCore

struct OriginCallStateMachine: Equatable {
    enum State: Equatable {
        /// The owner picks the origin of the next attempt (`attemptStarted`).
        case choosingOrigin(retried: Bool)
        /// Connecting and sending the request.
        case attempting(retried: Bool)
        /// The request was sent; its head timer runs.
        case awaitingHead(retried: Bool)
        /// The head was delivered; its body streams with the idle-body timer. `writing`: a part is
        /// with the consumer (the client's side) and not yet written.
        case streaming(writing: Bool)
        case finished
    }

    enum Action: Equatable {
        case none
        /// Start the head timer (replacing one already running: a resend on a fresh connection).
        case armHeadTimer
        /// Cancel the head timer, start the idle-body timer and hand the head on.
        case deliverHead
        /// Hand an interim (1xx) head or a body part on.
        case deliver
        /// Drop the current attempt (closing its connection), cancel the timers and fail the call.
        case timeOut(OriginFailure, headDelivered: Bool)
        /// The idle-body timer fired while the body moved or was being written: arm it again.
        case armBodyTimerAgain
        /// Mark the origin down for a connect failure, then choose another and attempt again.
        case retry(OriginFailure, markingDown: Int)
        /// Cancel the timers and report the failure (marking an origin down first, when it could
        /// not be reached); `headDelivered` tells the consumer whether it had a head.
        case fail(OriginFailure, markingDown: Int?, headDelivered: Bool)
        /// Cancel the timers and report the end of the response.
        case complete
        /// Cancel the timers and the attempt; report nothing.
        case cancel
    }

    private(set) var state: State = .choosingOrigin(retried: false)
    /// The origin of the current attempt, or of the last one once the call is over.
    private(set) var origin: Int?
    let isIdempotent: Bool
    let originCount: Int

    init(isIdempotent: Bool, originCount: Int) {
        self.isIdempotent = isIdempotent
        self.originCount = originCount
    }

    mutating func attemptStarted(origin: Int) {
        guard case .choosingOrigin(let retried) = state else { return }
        self.origin = origin
        state = .attempting(retried: retried)
    }

    mutating func requestSent() -> Action {
        switch state {
        case .attempting(let retried), .awaitingHead(let retried):
            state = .awaitingHead(retried: retried)
            return .armHeadTimer
        case .choosingOrigin, .streaming, .finished:
            return .none
        }
    }

    mutating func informationalReceived() -> Action {
        switch state {
        case .attempting, .awaitingHead: .deliver
        case .choosingOrigin, .streaming, .finished: .none
        }
    }

    /// A head may come before the request is all sent (an origin answering early, RFC 9112 §9.5).
    mutating func headReceived() -> Action {
        switch state {
        case .attempting, .awaitingHead:
            state = .streaming(writing: false)
            return .deliverHead
        case .choosingOrigin, .streaming, .finished:
            return .none
        }
    }

    mutating func bodyPartReceived() -> Action {
        guard case .streaming = state else { return .none }
        state = .streaming(writing: true)
        return .deliver
    }

    mutating func bodyPartWritten() {
        guard case .streaming(true) = state else { return }
        state = .streaming(writing: false)
    }

    mutating func headTimerFired() -> Action {
        guard case .awaitingHead = state else { return .none }
        state = .finished
        return .timeOut(.responseHeadTimedOut, headDelivered: false)
    }

    /// `idleLongEnough`: nothing arrived or was written for the whole idle-body timeout.
    mutating func bodyTimerFired(idleLongEnough: Bool) -> Action {
        guard case .streaming(let writing) = state else { return .none }
        if writing || !idleLongEnough { return .armBodyTimerAgain }
        state = .finished
        return .timeOut(.bodyIdleTimedOut, headDelivered: true)
    }

    mutating func completed() -> Action {
        guard case .streaming = state else { return .none }
        state = .finished
        return .complete
    }

    mutating func failed(_ failure: OriginFailure, bodyStarted: Bool) -> Action {
        switch state {
        case .finished, .choosingOrigin:
            return .none
        case .attempting(let retried), .awaitingHead(let retried):
            guard failure.requestNeverSent, let origin else {
                state = .finished
                return .fail(failure, markingDown: nil, headDelivered: false)
            }
            if isIdempotent, !retried, !bodyStarted, originCount > 1 {
                state = .choosingOrigin(retried: true)
                return .retry(failure, markingDown: origin)
            }
            state = .finished
            return .fail(failure, markingDown: origin, headDelivered: false)
        case .streaming:
            state = .finished
            return .fail(failure, markingDown: nil, headDelivered: true)
        }
    }

    mutating func cancelled() -> Action {
        guard state != .finished else { return .none }
        state = .finished
        return .cancel
    }
}
