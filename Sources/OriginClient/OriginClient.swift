// The node's connection to its origins: a pool of keep-alive HTTP/1.1 connections per event
// loop (OriginConnectionPool), round-robin selection with passive health, one retry on another
// origin for idempotent requests that never reached the first, and the response-head and
// idle-body timers (OriginCall).
// Invariants: every call ends in exactly one `originResponseCompleted` or `originFailed`; a call,
// its pool and its connection share one event loop, so the data path never changes threads.
// The per-origin connection bound is split evenly across the group's event loops.
// The origins themselves live in an OriginRoster that a reload replaces as a whole: a call keeps
// the roster it started with to its end, and the replaced roster's connections close as their
// last responses complete.
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
    private let current: NIOLockedValueBox<OriginRoster>
    /// Rosters replaced by a reload, kept until shutdown closes what they still hold.
    private let retired = NIOLockedValueBox<[OriginRoster]>([])
    private let configuration: OriginClientConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    /// Makes the connect function for a list of origins.
    private let connector: @Sendable ([OriginServer]) -> OriginConnectionPool.Connect

    /// The origins requests go to now, in configuration order.
    public var origins: [OriginServer] { roster.origins }
    var roster: OriginRoster { current.withLockedValue { $0 } }

    public convenience init(
        origins: [OriginServer], configuration: OriginClientConfiguration,
        eventLoopGroup: any EventLoopGroup, logger: Logger
    ) {
        self.init(origins: origins, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger) { origins in
            let connector = OriginConnector(origins: origins, connectTimeout: configuration.connectTimeout, tls: configuration.tls)
            return { connector.connect(origin: $0, on: $1, completion: $2) }
        }
    }

    /// With the connection opener replaced, for tests that run connections on EmbeddedChannels.
    convenience init(
        origins: [OriginServer], configuration: OriginClientConfiguration,
        eventLoopGroup: any EventLoopGroup, logger: Logger, connect: @escaping OriginConnectionPool.Connect
    ) {
        self.init(origins: origins, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger) { _ in connect }
    }

    init(
        origins: [OriginServer], configuration: OriginClientConfiguration, eventLoopGroup: any EventLoopGroup,
        logger: Logger, connector: @escaping @Sendable ([OriginServer]) -> OriginConnectionPool.Connect
    ) {
        precondition(!origins.isEmpty, "an origin client needs at least one origin")
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.connector = connector
        self.current = NIOLockedValueBox(OriginRoster(
            origins: origins, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger,
            connect: connector(origins)))
    }

    /// Sends new requests to `origins` from now on (a reload). Calls under way finish on the
    /// origins they started with; the old connections close once their responses are done.
    public func replaceOrigins(_ origins: [OriginServer]) {
        precondition(!origins.isEmpty, "an origin client needs at least one origin")
        let roster = OriginRoster(origins: origins, configuration: configuration, eventLoopGroup: eventLoopGroup,
                                  logger: logger, connect: connector(origins))
        let old = current.withLockedValue { current in
            defer { current = roster }
            return current
        }
        retired.withLockedValue { $0.append(old) }
        old.retire()
    }

    /// No longer used for new requests (a forward destination dropped from its registry): idle
    /// connections close now, busy ones when their response is done.
    public func retire() {
        roster.retire()
    }

    /// Whether at least one origin is currently taken to be up.
    public func anyOriginUp(now: NIODeadline = .now()) -> Bool { roster.anyOriginUp(now: now) }

    /// Each origin's passive health, in configuration order.
    public func healthReport(now: NIODeadline = .now()) -> [OriginHealthReport] { roster.healthReport(now: now) }

    /// Starts a call on `eventLoop`; `handler` is called on that loop only.
    public func execute(
        _ request: OriginRequest, on eventLoop: any EventLoop, handler: any OriginResponseHandling
    ) -> OriginCall {
        let call = OriginCall(eventLoop: eventLoop, request: request, handler: handler, roster: roster)
        call.attempt(excluding: nil)
        return call
    }

    /// Closes every origin connection; calls still running fail, new ones fail at once.
    public func shutdown() async throws {
        for roster in [roster] + retired.withLockedValue({ $0 }) { await roster.shutdown() }
    }
}
