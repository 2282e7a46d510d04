// The node's connection to its origins: a pool of keep-alive HTTP/1.1 connections per event
// loop (OriginConnectionPool), round-robin selection with passive health, one retry on another
// origin for idempotent requests that never reached the first, and the response-head and
// idle-body timers (OriginCall).
// Invariants: every call ends in exactly one `originResponseCompleted` or `originFailed`; a call,
// its pool and its connection share one event loop, so the data path never changes threads.
// The per-origin connection bound is split evenly across the group's event loops.
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

public struct OriginClientConfiguration: Sendable {
    public var connectTimeout: TimeAmount = .seconds(2)
    /// From the request having been sent to the response head arriving.
    public var responseHeadTimeout: TimeAmount = .seconds(30)
    /// Longest pause between two pieces of a response body.
    public var idleBodyTimeout: TimeAmount = .seconds(30)
    /// How long an idle pooled origin connection is kept.
    public var idleConnectionTimeout: TimeAmount = .seconds(60)
    /// Spread over the event loops: each loop's pool keeps at most ⌈connectionsPerOrigin / loops⌉
    /// per origin, and requests beyond that wait their turn (first come, first served).
    public var connectionsPerOrigin: Int = 256
    /// First back-off after a failed connect; doubles per consecutive failure up to the maximum.
    public var failureBackoff: TimeAmount = .seconds(2)
    public var maximumFailureBackoff: TimeAmount = .seconds(30)
    /// How https origins are trusted (CA bundle, verification, server name, client certificate).
    public var tls = OriginTLS()

    public init() {}
}

/// One origin's health as the admin API shows it.
public struct OriginHealthReport: Sendable {
    public var origin: OriginServer
    public var healthy: Bool
    public var consecutiveFailures: Int
}

public final class OriginClient: Sendable {
    public let origins: [OriginServer]
    private let health: NIOLockedValueBox<OriginHealth>
    private let configuration: OriginClientConfiguration
    private let logger: Logger
    private let connect: OriginConnectionPool.Connect
    /// The Host value naming each origin, for requests sent with `hostFromOrigin`.
    let hostHeaderValues: [String]
    /// One pool per event loop of the group, made up front so the data path takes no lock.
    private let pools: [ObjectIdentifier: OriginConnectionPool]
    private let poolLimit: Int
    /// Pools for loops outside the group (made on first use).
    private let otherPools = NIOLockedValueBox<[ObjectIdentifier: OriginConnectionPool]>([:])

    public convenience init(
        origins: [OriginServer], configuration: OriginClientConfiguration,
        eventLoopGroup: any EventLoopGroup, logger: Logger
    ) {
        let connector = OriginConnector(origins: origins, connectTimeout: configuration.connectTimeout, tls: configuration.tls)
        self.init(origins: origins, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger) {
            connector.connect(origin: $0, on: $1, completion: $2)
        }
    }

    /// With `connect` replaced, for tests that run connections on EmbeddedChannels.
    init(
        origins: [OriginServer], configuration: OriginClientConfiguration,
        eventLoopGroup: any EventLoopGroup, logger: Logger, connect: @escaping OriginConnectionPool.Connect
    ) {
        precondition(!origins.isEmpty, "an origin client needs at least one origin")
        self.origins = origins
        self.configuration = configuration
        self.logger = logger
        self.health = NIOLockedValueBox(OriginHealth(
            count: origins.count, baseBackoff: configuration.failureBackoff,
            maximumBackoff: configuration.maximumFailureBackoff))
        self.hostHeaderValues = origins.map(\.hostHeaderValue)
        self.connect = connect
        let loops = Array(eventLoopGroup.makeIterator())
        let limit = max(1, (configuration.connectionsPerOrigin + loops.count - 1) / max(loops.count, 1))
        self.poolLimit = limit
        var pools: [ObjectIdentifier: OriginConnectionPool] = [:]
        for loop in loops {
            pools[ObjectIdentifier(loop)] = OriginConnectionPool(
                eventLoop: loop, origins: origins.count, limit: limit,
                idleTimeout: configuration.idleConnectionTimeout, connect: connect)
        }
        self.pools = pools
    }

    /// Whether at least one origin is currently taken to be up.
    public func anyOriginUp(now: NIODeadline = .now()) -> Bool {
        health.withLockedValue { state in state.entries.indices.contains { state.isUp($0, now: now) } }
    }

    /// Each origin's passive health, in configuration order.
    public func healthReport(now: NIODeadline = .now()) -> [OriginHealthReport] {
        health.withLockedValue { state in
            state.entries.indices.map { index in
                OriginHealthReport(origin: origins[index], healthy: state.isUp(index, now: now),
                                   consecutiveFailures: state.entries[index].consecutiveFailures)
            }
        }
    }

    /// Starts a call on `eventLoop`; `handler` is called on that loop only.
    public func execute(
        _ request: OriginRequest, on eventLoop: any EventLoop, handler: any OriginResponseHandling
    ) -> OriginCall {
        let call = OriginCall(eventLoop: eventLoop, request: request, handler: handler, client: self)
        call.attempt(excluding: nil)
        return call
    }

    /// Closes every origin connection; calls still running fail, new ones fail at once.
    public func shutdown() async throws {
        let all = Array(pools.values) + otherPools.withLockedValue { Array($0.values) }
        for pool in all {
            try? await pool.eventLoop.flatSubmit { pool.shutdown() }.get()
        }
    }

    // MARK: - used by OriginCall

    func selectOrigin(excluding: Int?) -> Int? {
        health.withLockedValue { $0.select(now: .now(), excluding: excluding) }
    }

    func recordConnectFailure(_ index: Int, _ failure: OriginFailure) {
        let backoff = health.withLockedValue { $0.connectFailed(index, now: .now()) }
        logger.warning("origin marked down", metadata: [
            "origin": "\(origins[index])", "reason": "\(failure)",
            "retry-in-ms": "\(backoff.nanoseconds / 1_000_000)",
        ])
    }

    func recordResponse(_ index: Int) {
        let wasDown = health.withLockedValue { $0.responded(index) }
        if wasDown { logger.notice("origin back up", metadata: ["origin": "\(origins[index])"]) }
    }

    /// The pool of `eventLoop`, on which the call runs.
    func pool(for eventLoop: any EventLoop) -> OriginConnectionPool {
        let key = ObjectIdentifier(eventLoop)
        if let pool = pools[key] { return pool }
        return otherPools.withLockedValue { others in
            if let pool = others[key] { return pool }
            let pool = OriginConnectionPool(
                eventLoop: eventLoop, origins: origins.count, limit: poolLimit,
                idleTimeout: configuration.idleConnectionTimeout, connect: connect)
            others[key] = pool
            return pool
        }
    }

    var responseHeadTimeout: TimeAmount { configuration.responseHeadTimeout }
    var idleBodyTimeout: TimeAmount { configuration.idleBodyTimeout }
}
