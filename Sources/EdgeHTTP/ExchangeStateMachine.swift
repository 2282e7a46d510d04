// The lifecycle of one client exchange (a request and its response) as a value, in the manner of
// SwiftNIO's and AsyncHTTPClient's `…StateMachine` types: the connection's handler reports each
// event, the machine answers with what to do, and the handler does it. No I/O, no NIO, no clock.
//
//   authenticating ──checked──▶ deciding ──consult disk──▶ consultingDisk ──answered──▶ deciding
//                                  │  fill, leading ─────────────────────────▶ awaitingResponse
//                                  │  fill, waiting ─▶ waitingOnFill ──declined──▶ awaitingResponse (alone)
//                                  │  pass ──────────────────────────────────▶ awaitingResponse
//                                  │                                                │ head
//                                  └── answered here (stored, refused) ─head─▶ responding
//                                                                                   │ end
//                                                              finished(keep-alive or not)
//   failure: before the head an error page is the response; after it, closed abruptly.
//   the client gone, in any state but finished: closed.
//
// Invariants:
// - one final head per exchange; a second is ignored;
// - the exchange ends once (finished or closed), and its access-log line and figures are recorded
//   at that moment, never twice: only the actions that end it (finish, closeAbruptly,
//   stopAndRecord) are performed with a record;
// - keep-alive (RFC 9112 §9.3): the connection is kept only if the client asked for it, the
//   response is framed, and — for a request whose response came from the origin — its body was
//   read to the end; an answer given here (stored, refused) leaves the rest of the request to the
//   connection, which drops it;
// - a failure after the head closes the connection: a truncated body is never passed off as whole.

struct ExchangeStateMachine: Equatable {
    /// Where the response's body comes from: the store (a hit, a revalidated or stale body), the
    /// origin (a miss, a pass), or this node (an error page, a refusal).
    enum Source: Equatable { case store, origin, node }

    enum State: Equatable {
        /// A forward listener's credentials are verified off the event loop; the request's body is held.
        case authenticating
        case deciding
        case consultingDisk
        /// A waiter on another request's fill, its collapse timer running.
        case waitingOnFill
        /// The fill (leading, or alone after waiting) or the origin call is out; no head yet.
        case awaitingResponse(collapsed: Bool)
        case responding(closing: Bool, forwarded: Bool, sendsBody: Bool)
        case finished(keepAlive: Bool)
        case closed
    }

    enum RequestState: Equatable {
        /// Not accepted (refused, or not yet checked): its body is the connection's to drop.
        case notAccepted
        case receivingBody
        case received
    }

    enum HeadAction: Equatable {
        /// Write the head; `closing` says the connection ends after this response (`Connection: close`).
        case write(closing: Bool)
        /// A head was already written, or the exchange is over: write nothing.
        case ignore
    }

    enum EndAction: Equatable {
        /// Write the end and record the exchange; keep the connection for the next request, or close it.
        case finish(keepAlive: Bool)
        case none
    }

    enum FailureAction: Equatable {
        /// Nothing was sent: answer with an error page, closing the connection after it or not.
        case writeErrorPage(closing: Bool)
        /// A head was sent: record the exchange and close without another byte.
        case closeAbruptly
        case none
    }

    enum WaitAction: Equatable {
        /// Stop waiting and fetch on a fill of this request's own.
        case fetchAlone
        case none
    }

    enum FillStartAction: Equatable {
        /// Answer from the fill's response; `collapsed` when this request waited on another's fetch.
        case respond(collapsed: Bool)
        case ignore
    }

    enum GoneAction: Equatable {
        /// Stop everything the exchange started and record it; `answered` says a head had been sent.
        case stopAndRecord(answered: Bool)
        case none
    }

    private(set) var state: State = .deciding
    private(set) var request: RequestState = .notAccepted
    /// Where the response came from, once its head was written (kept after the exchange ends).
    private(set) var source: Source?
    /// The client asked to keep the connection (RFC 9112 §9.3).
    let keepAliveRequested: Bool

    init(keepAliveRequested: Bool) {
        self.keepAliveRequested = keepAliveRequested
    }

    // MARK: queries

    /// A final head has been written (the exchange may also have ended since).
    var headSent: Bool {
        switch state {
        case .responding, .finished, .closed: true
        default: false
        }
    }

    var isOver: Bool {
        switch state {
        case .finished, .closed: true
        default: false
        }
    }

    var isReadingRequestBody: Bool { request == .receivingBody && !isOver }

    /// Request body parts are held (not forwarded, not read further) while credentials are checked.
    var holdsRequestBody: Bool { state == .authenticating }

    /// Body parts of the response go to the client (not a HEAD, a 304 or a 416 answered from a fill).
    var sendsBody: Bool {
        if case .responding(_, _, let sendsBody) = state { return sendsBody }
        return false
    }

    /// Interim (1xx) responses may still be forwarded: no final head yet.
    var mayForwardInterim: Bool {
        switch state {
        case .awaitingResponse, .waitingOnFill: true
        default: false
        }
    }

    // MARK: the request side

    mutating func credentialsNeeded() { move(from: .deciding, to: .authenticating) }

    mutating func credentialsChecked() { move(from: .authenticating, to: .deciding) }

    /// The head passed the checks: its body (possibly empty) is read for this exchange.
    mutating func requestAccepted() {
        guard request == .notAccepted else { return }
        request = .receivingBody
    }

    mutating func requestEnded() {
        guard request == .receivingBody else { return }
        request = .received
    }

    // MARK: deciding

    mutating func diskConsulted() { move(from: .deciding, to: .consultingDisk) }

    /// The disk answered; false when the exchange no longer waits for it (the client left).
    mutating func diskAnswered() -> Bool { move(from: .consultingDisk, to: .deciding) }

    /// Joined the key's fill: as its leader (the fill is started) or as a waiter (the fill's
    /// collapse timer bounds the wait).
    mutating func fillJoined(leading: Bool) {
        move(from: .deciding, to: leading ? .awaitingResponse(collapsed: false) : .waitingOnFill)
    }

    /// The request goes to the origin on its own call.
    mutating func passStarted() { move(from: .deciding, to: .awaitingResponse(collapsed: false)) }

    /// The fill declined this waiter: its response is not shareable, or it had not started within
    /// the collapse timeout. Only a waiter stops waiting: a leader is never declined, and a
    /// fill declines a waiter once at most.
    mutating func stopWaiting() -> WaitAction {
        move(from: .waitingOnFill, to: .awaitingResponse(collapsed: false)) ? .fetchAlone : .none
    }

    /// The fill's response is ready for this exchange.
    mutating func fillStarted() -> FillStartAction {
        switch state {
        case .waitingOnFill: return .respond(collapsed: true)
        case .awaitingResponse(let collapsed): return .respond(collapsed: collapsed)
        default: return .ignore
        }
    }

    // MARK: the response

    /// A final head is about to be written. `closing` when the caller ends the connection anyway
    /// (a refusal of broken framing); `unframed` when the body can only end with the connection
    /// (an HTTP/1.0 client and no Content-Length).
    mutating func responseHeadReady(from source: Source, closing: Bool, unframed: Bool, sendsBody: Bool = true) -> HeadAction {
        let forwarded: Bool
        switch state {
        case .deciding, .authenticating, .consultingDisk: forwarded = false
        case .awaitingResponse, .waitingOnFill: forwarded = true
        case .responding, .finished, .closed: return .ignore
        }
        let closes = closing || !keepAliveRequested || unframed
        state = .responding(closing: closes, forwarded: forwarded, sendsBody: sendsBody)
        self.source = source
        return .write(closing: closes)
    }

    /// The response's last byte was handed to the connection.
    mutating func responseEnded() -> EndAction {
        guard case .responding(let closing, let forwarded, _) = state else { return .none }
        let keepAlive = !closing && (!forwarded || request != .receivingBody)
        state = .finished(keepAlive: keepAlive)
        return .finish(keepAlive: keepAlive)
    }

    /// The origin (or the fill) failed. The rest of a request body that went to the origin cannot
    /// be trusted to be read, so an error page then closes the connection.
    mutating func failed() -> FailureAction {
        fail(errorPageCloses: request == .receivingBody || !keepAliveRequested)
    }

    /// A limit on the client's side broke (its body too large or too slow): the connection ends.
    mutating func abandoned() -> FailureAction { fail(errorPageCloses: true) }

    /// The client closed the connection, or it broke.
    mutating func clientGone() -> GoneAction {
        switch state {
        case .finished, .closed:
            return .none
        default:
            let answered = headSent
            state = .closed
            return .stopAndRecord(answered: answered)
        }
    }

    // MARK: private

    /// Moves to `next` when in `expected`; whether it did.
    @discardableResult
    private mutating func move(from expected: State, to next: State) -> Bool {
        guard state == expected else { return false }
        state = next
        return true
    }

    /// A failure: after the head, the connection closes without another byte; before it, an
    /// error page is the response.
    private mutating func fail(errorPageCloses: Bool) -> FailureAction {
        switch state {
        case .responding:
            state = .closed
            return .closeAbruptly
        case .finished, .closed:
            return .none
        default:
            return .writeErrorPage(closing: errorPageCloses)
        }
    }
}
