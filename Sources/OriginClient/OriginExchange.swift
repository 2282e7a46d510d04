// One attempt of an OriginCall on one origin: it waits for a connection from its event loop's
// pool, runs the request on it, and passes every event up to the call. When a reused connection
// turns out to have been closed by the origin before any response byte (an idle keep-alive
// connection the origin dropped), it sends an idempotent request once more on a fresh connection.
//
// Invariants:
// - Confined to the call's event loop (the pool's and the connection's too).
// - Reports to the call until it has completed, failed or been cancelled; after that, nothing.
import NIOCore
import NIOHTTP1

final class OriginExchange: @unchecked Sendable {
    enum Phase {
        case created
        case waitingForConnection
        case running(OriginConnectionHandler)
        case done
    }

    let eventLoop: any EventLoop
    let origin: Int
    let head: HTTPRequestHead
    let body: OriginRequestBody?
    private let isIdempotent: Bool
    private let pool: OriginConnectionPool
    private var call: OriginCall?
    private(set) var phase = Phase.created
    /// The body source was handed a writer: the request can no longer be sent again.
    var bodyStarted = false
    private var retriedOnFreshConnection = false

    init(call: OriginCall, origin: Int, head: HTTPRequestHead, body: OriginRequestBody?, isIdempotent: Bool,
         pool: OriginConnectionPool) {
        self.call = call
        self.eventLoop = call.eventLoop
        self.origin = origin
        self.head = head
        self.body = body
        self.isIdempotent = isIdempotent
        self.pool = pool
    }

    func start() {
        eventLoop.assertInEventLoop()
        phase = .waitingForConnection
        pool.lease(self, fresh: false)
    }

    /// Whether the pool should still hand this exchange a connection.
    var isWaitingForConnection: Bool {
        if case .waitingForConnection = phase { return true }
        return false
    }

    /// The call is done with this attempt (cancelled, timed out): let go of the connection.
    func cancel() {
        eventLoop.assertInEventLoop()
        let phase = self.phase
        self.phase = .done
        call = nil
        switch phase {
        case .waitingForConnection: pool.withdraw(self)
        case .running(let connection): connection.cancel(self)
        case .created, .done: break
        }
    }

    // MARK: - from the pool

    func connectionLeased(_ connection: OriginConnectionHandler) {
        guard isWaitingForConnection else { preconditionFailure("a connection was leased to an exchange not waiting") }
        phase = .running(connection)
        connection.execute(self)
    }

    func connectionFailed(_ failure: OriginFailure) {
        guard isWaitingForConnection else { return }
        finish()?.failed(failure, exchange: self, bodyStarted: bodyStarted)
    }

    // MARK: - from the connection

    func requestSent() {
        call?.requestSent(by: self)
    }

    func informationalReceived(_ head: HTTPResponseHead) {
        call?.informationalReceived(head, by: self)
    }

    func headReceived(_ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        call?.headReceived(head, by: self) ?? eventLoop.makeSucceededVoidFuture()
    }

    func bodyPartReceived(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        call?.bodyPartReceived(part, by: self) ?? eventLoop.makeSucceededVoidFuture()
    }

    func completed() {
        finish()?.completed(by: self)
    }

    func failed(_ failure: OriginFailure, staleConnection: Bool) {
        guard case .running = phase else { return }
        if staleConnection, isIdempotent, !bodyStarted, !retriedOnFreshConnection {
            // RFC 9112 §9.3.1: a client may retry an idempotent request when the connection
            // closed before any part of the response arrived.
            retriedOnFreshConnection = true
            phase = .waitingForConnection
            pool.lease(self, fresh: true)
            return
        }
        finish()?.failed(failure, exchange: self, bodyStarted: bodyStarted)
    }

    /// Ends the exchange; returns the call to tell, if it still listens.
    private func finish() -> OriginCall? {
        let call = self.call
        self.call = nil
        phase = .done
        return call
    }
}
