// The lifecycle of one keep-alive HTTP/1.1 connection to an origin, as a value type: each event
// (past tense) moves the state and returns the one action the channel handler must perform.
// No I/O, no clock, no event loop: the table of event → action is unit-tested on its own.
//
//   connecting ──established──▶ idle ──requestStarted──▶ inRequest ──response end──▶ idle (reused)
//        │                       │                          │
//        └────── failure ────────┴──── close / failure ─────┴──▶ closed
//
// Invariants:
// - One request at a time (no pipelining); `inRequest` tracks the request body and the response
//   independently, because an origin may answer before the body is complete (RFC 9112 §9.5).
// - At most one response event is being delivered to the exchange at a time (`deliveryBusy`);
//   parts that arrive meanwhile wait in `pendingParts`, and reading from the socket resumes only
//   once the consumer has taken everything (backpressure toward the origin).
// - The connection goes back to the pool only when the response was read to its end, the request
//   body finished, and the response allows persistence; every other ending closes it.
import NIOCore
import NIOHTTP1

struct OriginConnectionStateMachine {
    enum State: Equatable {
        /// TCP (and TLS) being established.
        case connecting
        /// In the pool, no request; a read is outstanding so that a close by the origin is noticed.
        case idle
        /// A request head has been written; see `RequestProgress`.
        case inRequest
        case closed
    }

    /// What the connection does once a response has been delivered to its end.
    enum AfterResponse: Equatable {
        /// Back to the pool for the next request, with a read outstanding.
        case release
        case close
    }

    enum Action: Equatable {
        case none
        /// Ask the channel for more bytes.
        case read
        /// The connection is usable: hand it to the pool, and keep a read outstanding.
        case announceEstablished
        /// The connection could not be established: report it and close.
        case failEstablishment(OriginFailure)
        /// Write (and flush) the request head; with `startBody` stream the body next, otherwise
        /// write the end of the request too. Then keep a read outstanding for the response.
        case writeRequestHead(HTTPRequestHead, startBody: Bool)
        case writeRequestBodyPart(ByteBuffer)
        /// The request is no longer accepting body parts: fail the write.
        case refuseRequestBodyPart
        case writeRequestEnd
        /// A 1xx interim response (not 101); nothing is awaited.
        case forwardInformational(HTTPResponseHead)
        case forwardHead(HTTPResponseHead)
        case forwardBodyPart(ByteBuffer)
        case forwardEnd(AfterResponse)
        /// Report the failure to the exchange and close. `staleConnection`: a reused connection
        /// closed before any response byte, so the request may be sent again on a fresh one.
        case failRequest(OriginFailure, staleConnection: Bool)
        case close
    }

    enum RequestBody: Equatable {
        case streaming
        case finished
    }

    /// The current request; meaningful only in `.inRequest`.
    struct RequestProgress: Equatable {
        var method: HTTPMethod = .GET
        var body: RequestBody = .finished
        /// Another request completed on this connection before this one.
        var reused = false
        /// Some response head (an interim one included) has arrived.
        var responseStarted = false
        var headReceived = false
        var endReceived = false
        /// An event handed to the exchange has not yet been taken (its future is pending).
        var deliveryBusy = false
        var pendingParts = CircularBuffer<ByteBuffer>()
        /// The final head allows persistence (RFC 9112 §9.3) and the channel is still open.
        var persistent = false
    }

    private(set) var state: State = .connecting
    private(set) var request = RequestProgress()
    /// Requests completed on this connection.
    private(set) var completedRequests = 0

    init() {}

    // MARK: - the connection

    /// TCP connected, and for https the TLS handshake completed.
    mutating func connectionEstablished() -> Action {
        guard state == .connecting else { return .none }
        state = .idle
        return .announceEstablished
    }

    /// The channel became inactive.
    mutating func channelClosed() -> Action {
        switch state {
        case .connecting:
            state = .closed
            return .failEstablishment(.connectionClosed)
        case .idle:
            state = .closed
            return .none
        case .inRequest:
            if request.endReceived {
                // A response framed by the close (RFC 9112 §6.3 rule 8) has ended; what the
                // consumer has not taken yet is still delivered.
                request.persistent = false
                return .none
            }
            return failRequest(.connectionClosed)
        case .closed:
            return .none
        }
    }

    /// A socket read ended. If it held no complete message (half a head, say) or everything was
    /// taken at once, nothing else would ask for more: read again unless the consumer is busy.
    mutating func channelReadCompleted() -> Action {
        switch state {
        case .idle:
            return .read
        case .inRequest:
            return request.deliveryBusy || request.endReceived ? .none : .read
        case .connecting, .closed:
            return .none
        }
    }

    /// An error surfaced in the pipeline (I/O, parse, TLS).
    mutating func errorCaught(_ failure: OriginFailure) -> Action {
        switch state {
        case .connecting:
            state = .closed
            return .failEstablishment(failure)
        case .idle:
            state = .closed
            return .close
        case .inRequest:
            return failRequest(failure)
        case .closed:
            return .none
        }
    }

    /// The pool closes the connection (idle too long, or shutdown).
    mutating func closeRequested() -> Action {
        switch state {
        case .connecting, .idle:
            state = .closed
            return .close
        case .inRequest:
            return failRequest(.other("the origin client is shutting down"))
        case .closed:
            return .none
        }
    }

    // MARK: - the request

    mutating func requestStarted(_ head: HTTPRequestHead, hasBody: Bool) -> Action {
        switch state {
        case .idle:
            state = .inRequest
            request = RequestProgress(
                method: head.method, body: hasBody ? .streaming : .finished, reused: completedRequests > 0)
            return .writeRequestHead(head, startBody: hasBody)
        case .closed:
            // Closed by the origin at the very moment it was leased: nothing was sent.
            return .failRequest(.connectionClosed, staleConnection: completedRequests > 0)
        case .connecting, .inRequest:
            preconditionFailure("a request was started on a connection in state \(state)")
        }
    }

    mutating func requestBodyPartSubmitted(_ part: ByteBuffer) -> Action {
        guard state == .inRequest, request.body == .streaming else { return .refuseRequestBodyPart }
        return .writeRequestBodyPart(part)
    }

    mutating func requestBodyFinished() -> Action {
        guard state == .inRequest, request.body == .streaming else { return .none }
        request.body = .finished
        return .writeRequestEnd
    }

    /// The request body's source failed (the client went away or broke a limit).
    mutating func requestBodyFailed() -> Action {
        guard state == .inRequest, request.body == .streaming else { return .none }
        return failRequest(.other("the request body did not finish"))
    }

    /// The exchange no longer wants the answer (the call was cancelled or timed out).
    mutating func cancelled() -> Action {
        switch state {
        case .inRequest:
            state = .closed
            request.pendingParts.removeAll()
            return .close
        case .connecting, .idle, .closed:
            return .none
        }
    }

    // MARK: - the response

    mutating func responseHeadReceived(_ head: HTTPResponseHead) -> Action {
        switch state {
        case .inRequest where !request.headReceived:
            request.responseStarted = true
            if head.status == .switchingProtocols {
                // No upgrade is ever requested (Upgrade is hop-by-hop and removed).
                return failRequest(.invalidResponse("101 Switching Protocols was not asked for"))
            }
            if head.status.code < 200 {
                // RFC 9110 §15.2: interim responses precede the final one and are passed on.
                return .forwardInformational(head)
            }
            request.headReceived = true
            request.persistent = Self.persists(head, requestMethod: request.method)
            request.deliveryBusy = true
            return .forwardHead(head)
        case .inRequest:
            return failRequest(.invalidResponse("a second response head"))
        case .idle:
            // Nothing was asked: an origin that talks unprompted is not reused.
            state = .closed
            return .close
        case .connecting, .closed:
            return .none
        }
    }

    mutating func responseBodyPartReceived(_ part: ByteBuffer) -> Action {
        guard state == .inRequest, request.headReceived, !request.endReceived else { return .none }
        if request.deliveryBusy {
            request.pendingParts.append(part)
            return .none
        }
        request.deliveryBusy = true
        return .forwardBodyPart(part)
    }

    mutating func responseEndReceived() -> Action {
        guard state == .inRequest, request.headReceived, !request.endReceived else { return .none }
        request.endReceived = true
        return request.deliveryBusy ? .none : finishResponse()
    }

    /// The exchange took the last delivered event (its future succeeded).
    mutating func deliveryCompleted() -> Action {
        guard state == .inRequest, request.deliveryBusy else { return .none }
        if let part = request.pendingParts.popFirst() { return .forwardBodyPart(part) }
        if request.endReceived { return finishResponse() }
        request.deliveryBusy = false
        return .read
    }

    /// The exchange could not take the delivered event (its future failed).
    mutating func deliveryFailed(_ failure: OriginFailure) -> Action {
        guard state == .inRequest else { return .none }
        return failRequest(failure)
    }

    // MARK: - helpers

    private mutating func finishResponse() -> Action {
        request.deliveryBusy = false
        if request.persistent && request.body == .finished {
            state = .idle
            completedRequests += 1
            return .forwardEnd(.release)
        }
        // RFC 9112 §9.6: after a response without persistence, or one that did not wait for the
        // rest of the request body, the connection cannot carry another request.
        state = .closed
        return .forwardEnd(.close)
    }

    private mutating func failRequest(_ failure: OriginFailure) -> Action {
        let stale = request.reused && !request.responseStarted && failure == .connectionClosed
        state = .closed
        request.pendingParts.removeAll()
        return .failRequest(failure, staleConnection: stale)
    }

    /// Whether the connection may carry another request after `head`'s response.
    /// RFC 9112 §9.3: HTTP/1.1 persists unless "close" is sent; HTTP/1.0 responses are not reused
    /// here at all. RFC 9112 §6.3: a response delimited by the close cannot be followed by another.
    static func persists(_ head: HTTPResponseHead, requestMethod: HTTPMethod) -> Bool {
        guard head.version == .http1_1, head.isKeepAlive else { return false }
        let code = head.status.code
        if requestMethod == .HEAD || code == 204 || code == 304 || code < 200 { return true }
        if head.headers.contains(name: "content-length") { return true }
        // Any transfer coding other than chunked last is delimited by the close (§6.3 rule 4).
        guard let codings = head.headers[canonicalForm: "transfer-encoding"].last else { return false }
        return codings.lowercased() == "chunked"
    }
}
