// A running node: its event loops, its origin client and its public listener, started from one
// NodeConfiguration and stopped gracefully. Used by `outpost serve`, `outpost demo` and tests.
import AdminHTTP
import CacheStore
import EdgeCache
import Foundation
import EdgeHTTP
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import OriginClient
import ServiceLifecycle
import UnixSignals

public final class Node: Sendable {
    public let configuration: NodeConfiguration
    public let origin: OriginClient
    public let engine: CacheEngine
    /// Every public listener: the plain ones first, then the TLS ones, in the order given.
    private let servers: [EdgeServer]
    /// The TLS listeners' certificates (reloadable); nil without TLS listeners.
    public let tls: TLSTermination?
    private let admin: AdminParts?
    /// Warming memory from the disk tier, while it runs (see `MemoryWarming`).
    public let warming: MemoryWarming?
    private let group: MultiThreadedEventLoopGroup
    let logger: Logger
    /// The configuration in force, as reloads have changed it (see Node+Reload).
    private let live: NIOLockedValueBox<NodeConfiguration>
    let reloadSource = NIOLockedValueBox<(@Sendable () throws -> NodeConfiguration)?>(nil)
    /// One reload at a time.
    let reloading = NIOLock()

    /// The configuration in force: `configuration`, with what reloads applied.
    public internal(set) var liveConfiguration: NodeConfiguration {
        get { live.withLockedValue { $0 } }
        set { live.withLockedValue { $0 = newValue } }
    }

    /// The bound public port (useful when listening on port 0).
    public var port: Int { servers[0].port }
    /// The bound ports of the TLS listeners, in the order given.
    public var tlsPorts: [Int] {
        Array(servers.dropFirst(configuration.plainListens.count).prefix(configuration.tlsListens.count).map(\.port))
    }
    /// The bound ports of the forward proxy listeners, in the order given.
    public var forwardPorts: [Int] { Array(servers.suffix(configuration.forwardListens.count).map(\.port)) }
    /// The forward listeners' destinations (nil without forward listeners).
    private let destinations: ForwardDestinations?
    /// The bound ports of the plain listeners, in the order given.
    public var plainPorts: [Int] { Array(servers.prefix(configuration.plainListens.count).map(\.port)) }
    /// The bound admin port, when the admin listener is on.
    public var adminPort: Int? { admin?.server.port }

    /// The admin listener and what it runs on.
    struct AdminParts: Sendable {
        var server: AdminServer
        var traffic: TrafficRecorder
        var pool: NIOThreadPool
    }

    private init(configuration: NodeConfiguration, origin: OriginClient, engine: CacheEngine, servers: [EdgeServer], tls: TLSTermination?,
                 destinations: ForwardDestinations?, admin: AdminParts?,
                 warming: MemoryWarming?, group: MultiThreadedEventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.origin = origin
        self.engine = engine
        self.servers = servers
        self.tls = tls
        self.destinations = destinations
        self.admin = admin
        self.warming = warming
        self.group = group
        self.logger = logger
        self.live = NIOLockedValueBox(configuration)
    }

    public static func start(_ configuration: NodeConfiguration, logger: Logger, accessLogger: Logger? = nil) async throws -> Node {
        var configuration = try configuration.validated()
        let descriptors = DescriptorLimit.raiseToHard()
        let allowed = DescriptorLimit.connectionsAllowed(descriptors: descriptors, adminConnections: configuration.adminLimits.maximumConnections)
        if configuration.edge.maximumConnections > allowed {
            logger.notice("max-connections lowered to what the descriptor limit allows", metadata: [
                "requested": "\(configuration.edge.maximumConnections)", "allowed": "\(allowed)", "nofile": "\(descriptors)",
            ])
            configuration.edge.maximumConnections = allowed
        }
        if configuration.originClient.tls.verification == .none, configuration.origins.contains(where: { $0.scheme == "https" }) {
            logger.warning("origin TLS verification is OFF (--origin-tls-verify none): anyone on the path to the origins can impersonate them and poison this cache")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        let origin = OriginClient(
            origins: configuration.origins, configuration: configuration.originClient,
            eventLoopGroup: group, logger: logger)
        let memory = MemoryTier(capacityBytes: configuration.memorySize, eviction: configuration.cache.rules.eviction)
        let tier: DiskTier?
        let token: String?
        do {
            // The token first: a refused admin configuration should not have opened anything.
            token = try configuration.adminListen.map {
                try AdminToken.resolve(configuration, listen: $0, environment: ProcessInfo.processInfo.environment, logger: logger)
            }
            tier = try openDisk(configuration, logger: logger)
        } catch {
            try? await origin.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
        // A disk read brings whole (and promotes) the bodies memory can take; larger ones, which
        // memory would refuse, stream from their files.
        let wholeBodyLimit = memory.largestObjectBytes
        let disk = tier.map { DiskAccess(storage: $0, wholeBodyLimit: wholeBodyLimit, logger: logger) }
        let engine = CacheEngine(configuration: configuration.cache, storage: memory, disk: disk, origin: origin, logger: logger)
        var servers: [EdgeServer] = []
        let tls: TLSTermination?
        do {
            tls = configuration.tlsListens.isEmpty ? nil : try TLSTermination(pairs: configuration.tlsPairs, http2: configuration.http2)
        } catch {
            await disk?.shutdown()
            try? await origin.shutdown()
            try? await group.shutdownGracefully()
            throw ConfigurationError(setting: "--tls-certificate", message: "\(error)")
        }
        let destinations = configuration.forwardListens.isEmpty ? nil : ForwardDestinations(
            configuration: configuration.originClient, eventLoopGroup: group, logger: logger,
            maximum: configuration.edge.forward.maximumDestinations)
        let forward = destinations.map { ForwardContext(destinations: $0, tunnelsPerClient: configuration.edge.forward.tunnelsPerClient) }
        let listeners = configuration.plainListens.map { ($0, "--listen", nil as TLSTermination?, nil as ForwardContext?) }
            + configuration.tlsListens.map { ($0, "--tls-listen", tls, nil as ForwardContext?) }
            + configuration.forwardListens.map { ($0, "--forward-listen", nil as TLSTermination?, forward) }
        for (listen, setting, termination, forward) in listeners {
            do {
                servers.append(try await EdgeServer.start(
                    host: listen.host, port: listen.port, configuration: configuration.edge, origin: origin, engine: engine,
                    group: group, logger: logger, accessLogger: accessLogger ?? logger, tls: termination, forward: forward))
            } catch {
                for server in servers { _ = await server.shutdown(gracePeriod: .zero) }
                await disk?.shutdown()
                try? await origin.shutdown()
                try? await group.shutdownGracefully()
                throw ConfigurationError(setting: setting, message: "cannot listen on \(listen): \(error)")
            }
        }
        let reloadTrigger = ReloadTrigger()
        var admin: AdminParts?
        if let listen = configuration.adminListen, let token {
            let sources = AdminSources(engine: engine, memory: memory, disk: tier, origin: origin, reload: reloadTrigger)
            let traffic = TrafficRecorder(stats: engine.stats)
            let pool = NIOThreadPool(numberOfThreads: 1)
            pool.start()
            let router = AdminRouter(sources: sources, token: token, traffic: traffic, pool: pool, logger: logger)
            do {
                let adminServer = try await AdminServer.start(host: listen.host, port: listen.port, router: router,
                                                                limits: configuration.adminLimits, group: group, logger: logger)
                traffic.start(on: group.next())
                admin = AdminParts(server: adminServer, traffic: traffic, pool: pool)
            } catch {
                for server in servers { _ = await server.shutdown(gracePeriod: .zero) }
                try? await pool.shutdownGracefully()
                await disk?.shutdown()
                try? await origin.shutdown()
                try? await group.shutdownGracefully()
                throw ConfigurationError(setting: "--admin-listen", message: "cannot listen on \(listen): \(error)")
            }
        }
        // Once listening: the node serves while memory warms (a request finds on disk what
        // warming has not reached yet).
        let warming = tier.flatMap { tier in
            configuration.warmMemoryBytes > 0 ? engine.warmMemory(from: tier, limitBytes: configuration.warmMemoryBytes) : nil
        }
        // Each listener with the protocols it speaks.
        let protocols = configuration.http2 ? "https: HTTP/1.1, HTTP/2 (ALPN)" : "https: HTTP/1.1"
        let listening = zip(listeners, servers).map { listener, server in
            "\(listener.0.host):\(server.port) (\(listener.3 != nil ? "forward proxy: HTTP/1.1, CONNECT" : listener.2 == nil ? "http: HTTP/1.1" : protocols))"
        }.joined(separator: ", ")
        logger.notice("outpost started", metadata: [
            "port": "\(servers[0].port)", "listeners": "\(listening)", "admin-port": "\(admin.map { String($0.server.port) } ?? "off")",
            "config": "\(configuration.summary)",
        ])
        let node = Node(configuration: configuration, origin: origin, engine: engine, servers: servers, tls: tls,
                        destinations: destinations, admin: admin,
                        warming: warming, group: group, logger: logger)
        reloadTrigger.set { [weak node] in
            guard let node else { throw ConfigurationError(setting: "reload", message: "the node has stopped") }
            return try node.reloadFromSource()
        }
        return node
    }

    /// Stops accepting, lets in-flight requests finish within the grace period, releases all.
    public func shutdown(gracePeriod: TimeAmount? = nil) async {
        let grace = gracePeriod ?? configuration.shutdownGracePeriod
        logger.notice("outpost stopping", metadata: ["grace": "\(DurationText.format(grace))"])
        if let admin {
            admin.traffic.stop()
            await admin.server.shutdown()
        }
        var clean = true
        await withTaskGroup(of: Bool.self) { group in
            for server in servers { group.addTask { await server.shutdown(gracePeriod: grace) } }
            for await finished in group { clean = clean && finished }
        }
        warming?.stop()
        // Every acknowledged store reaches the disk before the process goes.
        await engine.disk?.shutdown()
        try? await admin?.pool.shutdownGracefully()
        try? await origin.shutdown()
        await destinations?.shutdown()
        try? await group.shutdownGracefully()
        logger.notice("outpost stopped", metadata: ["clean": "\(clean)"])
    }
}

/// Opens the disk tier in the cache directory, unless `--disk-size 0` turns it off. The node
/// serves while the tier reconciles its index with its files in the background (it logs "disk
/// cache reconciled" when done): bodies are verified on every read meanwhile.
private func openDisk(_ configuration: NodeConfiguration, logger: Logger) throws -> DiskTier? {
    guard configuration.diskSize > 0 else { return nil }
    do {
        let began = ContinuousClock.now
        let tier = try DiskTier(
            directory: configuration.cacheDirectory, capacityBytes: configuration.diskSize, reconcile: .inBackground,
            logger: logger)
        let usage = tier.usage
        logger.notice("disk tier open", metadata: [
            "cache-dir": "\(configuration.cacheDirectory)", "objects": "\(usage.objects)", "bytes": "\(usage.bytes)",
            "opened-in": "\(ContinuousClock.now - began)", "reconciliation": "in background",
        ])
        return tier
    } catch {
        throw ConfigurationError(setting: "--cache-dir", message: "cannot open the cache in \(configuration.cacheDirectory): \(error)")
    }
}

/// `outpost serve` as a service: runs until SIGTERM/SIGINT, then shuts down gracefully; each
/// SIGHUP reloads the configuration from `reloadSource` (see Node+Reload).
public struct NodeService: Service {
    let configuration: NodeConfiguration
    let logger: Logger
    let accessLogger: Logger
    let reloadSource: (@Sendable () throws -> NodeConfiguration)?

    public init(configuration: NodeConfiguration, logger: Logger, accessLogger: Logger,
                reloadSource: (@Sendable () throws -> NodeConfiguration)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.accessLogger = accessLogger
        self.reloadSource = reloadSource
    }

    public func run() async throws {
        let node = try await Node.start(configuration, logger: logger, accessLogger: accessLogger)
        if let reloadSource { node.setReloadSource(reloadSource) }
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() {
                    node.logger.notice("SIGHUP: reloading")
                    _ = try? node.reloadFromSource()
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await node.shutdown()
    }
}
