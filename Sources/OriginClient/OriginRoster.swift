// One set of origins and everything that depends on their order: passive health, the Host value
// of each, and a connection pool per event loop. An OriginCall holds the roster it started with,
// so origin indices never change under a call; a reload makes a new roster (OriginClient).
import Logging
import NIOConcurrencyHelpers
import NIOCore

final class OriginRoster: Sendable {
    let origins: [OriginServer]
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

    init(origins: [OriginServer], configuration: OriginClientConfiguration, eventLoopGroup: any EventLoopGroup,
         logger: Logger, connect: @escaping OriginConnectionPool.Connect) {
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

    func anyOriginUp(now: NIODeadline) -> Bool {
        health.withLockedValue { state in state.entries.indices.contains { state.isUp($0, now: now) } }
    }

    func healthReport(now: NIODeadline) -> [OriginHealthReport] {
        health.withLockedValue { state in
            state.entries.indices.map { index in
                OriginHealthReport(origin: origins[index], healthy: state.isUp(index, now: now),
                                   consecutiveFailures: state.entries[index].consecutiveFailures)
            }
        }
    }

    private var allPools: [OriginConnectionPool] { Array(pools.values) + otherPools.withLockedValue { Array($0.values) } }

    /// Replaced by a reload: idle connections close now, busy ones when their response ends.
    func retire() {
        for pool in allPools { pool.eventLoop.execute { pool.retire() } }
    }

    func shutdown() async {
        for pool in allPools {
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
