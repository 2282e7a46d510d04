// The node's connection to its origins: AsyncHTTPClient's pool (connections reused across
// requests), round-robin selection with passive health, one retry on another origin for
// idempotent requests that never reached the first, and the response-head and idle-body timers.
// Invariant: every call ends in exactly one `originResponseCompleted` or `originFailed`.
import AsyncHTTPClient
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
    public var connectionsPerOrigin: Int = 256
    /// First back-off after a failed connect; doubles per consecutive failure up to the maximum.
    public var failureBackoff: TimeAmount = .seconds(2)
    public var maximumFailureBackoff: TimeAmount = .seconds(30)

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
    private let http: HTTPClient
    private let configuration: OriginClientConfiguration
    private let logger: Logger

    public init(
        origins: [OriginServer], configuration: OriginClientConfiguration,
        eventLoopGroup: any EventLoopGroup, logger: Logger
    ) {
        precondition(!origins.isEmpty, "an origin client needs at least one origin")
        self.origins = origins
        self.configuration = configuration
        self.logger = logger
        self.health = NIOLockedValueBox(OriginHealth(
            count: origins.count, baseBackoff: configuration.failureBackoff,
            maximumBackoff: configuration.maximumFailureBackoff))
        var client = HTTPClient.Configuration()
        client.redirectConfiguration = .disallow
        client.decompression = .disabled
        client.timeout = .init(
            connect: configuration.connectTimeout,
            read: max(configuration.responseHeadTimeout, configuration.idleBodyTimeout))
        client.connectionPool = .init(
            idleTimeout: configuration.idleConnectionTimeout,
            concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.connectionsPerOrigin)
        // Fail fast on a dead origin: passive health and the retry below choose another one.
        client.connectionPool.retryConnectionEstablishment = false
        client.httpVersion = .http1Only
        self.http = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: client)
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

    public func shutdown() async throws {
        try await http.shutdown()
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

    func start(
        _ request: OriginRequest, origin index: Int, delegate: OriginCall.Delegate, eventLoop: any EventLoop
    ) throws -> HTTPClient.Task<Void> {
        let origin = origins[index]
        var body: HTTPClient.Body? = nil
        if let source = request.body {
            body = .stream(contentLength: source.length.map(Int64.init)) { writer in
                delegate.bodyStarted()
                return source.start(OriginBodyWriter { part in writer.write(.byteBuffer(part)) })
            }
        }
        var headers = request.headers
        if request.hostFromOrigin { headers.replaceOrAdd(name: "host", value: origin.hostHeaderValue) }
        let clientRequest = try HTTPClient.Request(
            url: origin.baseURL + request.target, method: request.method, headers: headers, body: body)
        // `.delegate(on:)`, not `.delegateAndChannel(on:)`: a required loop makes the pool open
        // "overflow" connections that it closes as soon as they are released, so nothing would
        // ever be reused. With a preference the pool still favours a connection on this loop.
        return http.execute(
            request: clientRequest, delegate: delegate,
            eventLoop: .delegate(on: eventLoop), logger: nil)
    }

    var responseHeadTimeout: TimeAmount { configuration.responseHeadTimeout }
    var idleBodyTimeout: TimeAmount { configuration.idleBodyTimeout }
}
