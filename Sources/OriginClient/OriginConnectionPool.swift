// The keep-alive connections of one event loop, per origin: idle ones reused most recent first,
// new ones opened while under the per-loop limit, and requests beyond the limit waiting in a FIFO
// queue per origin. Idle connections are closed after the idle-connection timeout by one sweep
// timer per pool rather than one timer per connection.
//
// Invariants:
// - Confined to `eventLoop`; every connection of this pool lives on that loop too, so a request,
//   its connection and its call never hop threads.
// - `open[origin]` counts connecting plus established connections and never exceeds `limit`;
//   it drops when a connect fails or an established channel's close future completes.
// - A waiting exchange is either in its origin's queue or has been handed a connection or a
//   failure, never both.
import NIOCore

final class OriginConnectionPool: @unchecked Sendable {
    /// Opens a usable connection to an origin on the given loop; the completion runs on that loop.
    /// OriginConnector.connect in the node; an EmbeddedChannel in pipeline tests.
    typealias Connect = @Sendable (
        _ origin: Int, _ eventLoop: any EventLoop,
        _ completion: @escaping (Result<OriginConnectionHandler, any Error>) -> Void
    ) -> Void

    private struct Idle {
        let connection: OriginConnectionHandler
        let since: NIODeadline
    }

    private struct Entry {
        /// Most recently released last.
        var idle: [Idle] = []
        var open = 0
        var waiting = CircularBuffer<OriginExchange>()
    }

    let eventLoop: any EventLoop
    private let connect: Connect
    /// Connections per origin on this loop.
    let limit: Int
    private let idleTimeout: TimeAmount
    private var entries: [Entry]
    private var established: [ObjectIdentifier: OriginConnectionHandler] = [:]
    private var sweep: Scheduled<Void>?
    private var isShutDown = false
    /// Replaced by a reload: waiting requests are still served, but no connection goes idle.
    private var isRetired = false

    init(eventLoop: any EventLoop, origins: Int, limit: Int, idleTimeout: TimeAmount, connect: @escaping Connect) {
        precondition(limit > 0, "a pool needs room for at least one connection per origin")
        self.eventLoop = eventLoop
        self.connect = connect
        self.limit = limit
        self.idleTimeout = idleTimeout
        self.entries = Array(repeating: Entry(), count: origins)
    }

    /// Gives `exchange` a connection to its origin now, or as soon as one is free. With `fresh`,
    /// idle connections are passed over (the exchange's last one proved stale).
    func lease(_ exchange: OriginExchange, fresh: Bool) {
        eventLoop.assertInEventLoop()
        guard !isShutDown else {
            exchange.connectionFailed(.other("the origin client is shut down"))
            return
        }
        let origin = exchange.origin
        if !fresh {
            while let idle = entries[origin].idle.popLast() {
                // One closed while idle is skipped; its close future does the accounting.
                if idle.connection.isIdle {
                    exchange.connectionLeased(idle.connection)
                    return
                }
            }
        }
        if entries[origin].open < limit {
            open(origin, for: exchange)
        } else {
            entries[origin].waiting.append(exchange)
        }
    }

    /// A waiting exchange gave up.
    func withdraw(_ exchange: OriginExchange) {
        eventLoop.assertInEventLoop()
        if let position = entries[exchange.origin].waiting.firstIndex(where: { $0 === exchange }) {
            entries[exchange.origin].waiting.remove(at: position)
        }
    }

    /// Closes every connection and refuses new requests; completes once the open channels closed.
    func shutdown() -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        isShutDown = true
        sweep?.cancel()
        sweep = nil
        for index in entries.indices {
            entries[index].idle.removeAll()
            while let exchange = entries[index].waiting.popFirst() {
                exchange.connectionFailed(.other("the origin client is shut down"))
            }
        }
        let closing = established.values.compactMap { connection -> EventLoopFuture<Void>? in
            let closed = connection.channel?.closeFuture
            connection.closeRequested()
            return closed
        }
        return EventLoopFuture.andAllComplete(closing, on: eventLoop)
    }

    /// The origins were replaced: idle connections close now, and each busy one once its
    /// response is done and nobody waits for it.
    func retire() {
        eventLoop.assertInEventLoop()
        isRetired = true
        for index in entries.indices {
            while let idle = entries[index].idle.popLast() { idle.connection.closeRequested() }
        }
    }

    // MARK: - connections coming and going

    private func open(_ origin: Int, for exchange: OriginExchange?) {
        entries[origin].open += 1
        connect(origin, eventLoop) { [self] result in
            switch result {
            case .success(let connection):
                guard let channel = connection.channel else {
                    // Closed between becoming usable and now; its pipeline is gone.
                    entries[origin].open -= 1
                    if let exchange, exchange.isWaitingForConnection { exchange.connectionFailed(.connectionClosed) }
                    serveWaiting(origin)
                    return
                }
                established[ObjectIdentifier(connection)] = connection
                connection.onReleased = { [unowned self] in self.released($0) }
                channel.closeFuture.assumeIsolated().whenComplete { [self] _ in closed(connection) }
                if isShutDown {
                    connection.closeRequested()
                } else if let exchange, exchange.isWaitingForConnection {
                    exchange.connectionLeased(connection)
                } else {
                    released(connection)
                }
            case .failure(let error):
                entries[origin].open -= 1
                // Whatever kept the connection from becoming usable, the request was not sent.
                var failure = OriginFailure(error, headReceived: false)
                if !failure.requestNeverSent { failure = .connectFailed(failure.description) }
                exchange?.connectionFailed(failure)
                serveWaiting(origin)
            }
        }
    }

    /// A response completed on `connection` and it may carry another request.
    private func released(_ connection: OriginConnectionHandler) {
        eventLoop.assertInEventLoop()
        guard !isShutDown else { return connection.closeRequested() }
        let origin = connection.origin
        if let next = entries[origin].waiting.popFirst() {
            next.connectionLeased(connection)
            return
        }
        guard !isRetired else { return connection.closeRequested() }
        entries[origin].idle.append(Idle(connection: connection, since: eventLoop.now))
        if sweep == nil { scheduleSweep(at: eventLoop.now + idleTimeout) }
    }

    private func closed(_ connection: OriginConnectionHandler) {
        let origin = connection.origin
        established[ObjectIdentifier(connection)] = nil
        entries[origin].open -= 1
        entries[origin].idle.removeAll { $0.connection === connection }
        serveWaiting(origin)
    }

    /// Opens connections for waiting exchanges while there is room.
    private func serveWaiting(_ origin: Int) {
        while !isShutDown, entries[origin].open < limit, let next = entries[origin].waiting.popFirst() {
            open(origin, for: next)
        }
    }

    // MARK: - idle timeout

    private func scheduleSweep(at deadline: NIODeadline) {
        sweep = eventLoop.scheduleTask(deadline: deadline) { [self] in
            sweep = nil
            sweepIdle()
        }
    }

    /// Closes connections idle for longer than the timeout; re-arms for the next one due.
    private func sweepIdle() {
        let now = eventLoop.now
        var nextDue: NIODeadline? = nil
        for index in entries.indices {
            // Oldest first: the stack grows at its end.
            while let oldest = entries[index].idle.first, oldest.since + idleTimeout <= now {
                entries[index].idle.removeFirst()
                oldest.connection.closeRequested()
            }
            if let oldest = entries[index].idle.first {
                nextDue = min(nextDue ?? oldest.since + idleTimeout, oldest.since + idleTimeout)
            }
        }
        if let nextDue, !isShutDown { scheduleSweep(at: nextDue) }
    }
}
