// A running node: its event loops, its origin client and its public listener, started from one
// NodeConfiguration and stopped gracefully. Used by `outpost serve`, `outpost demo` and tests.
import AdminHTTP
import CacheStore
import EdgeCache
import Foundation
import EdgeHTTP
import Logging
import NIOCore
import NIOPosix
import OriginClient
import ServiceLifecycle

public final class Node: Sendable {
    public let configuration: NodeConfiguration
    public let origin: OriginClient
    public let engine: CacheEngine
    private let server: EdgeServer
    private let admin: AdminParts?
    /// Warming memory from the disk tier, while it runs (see `MemoryWarming`).
    public let warming: MemoryWarming?
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger

    /// The bound public port (useful when listening on port 0).
    public var port: Int { server.port }
    /// The bound admin port, when the admin listener is on.
    public var adminPort: Int? { admin?.server.port }

    /// The admin listener and what it runs on.
    struct AdminParts: Sendable {
        var server: AdminServer
        var traffic: TrafficRecorder
        var pool: NIOThreadPool
    }

    private init(configuration: NodeConfiguration, origin: OriginClient, engine: CacheEngine, server: EdgeServer, admin: AdminParts?,
                 warming: MemoryWarming?, group: MultiThreadedEventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.origin = origin
        self.engine = engine
        self.server = server
        self.admin = admin
        self.warming = warming
        self.group = group
        self.logger = logger
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
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        let origin = OriginClient(
            origins: configuration.origins, configuration: configuration.originClient,
            eventLoopGroup: group, logger: logger)
        let memory = MemoryTier(capacityBytes: configuration.memorySize)
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
        let disk = tier.map { DiskAccess(storage: $0, logger: logger) }
        let engine = CacheEngine(configuration: configuration.cache, storage: memory, disk: disk, origin: origin, logger: logger)
        let server: EdgeServer
        do {
            server = try await EdgeServer.start(
                host: configuration.listen.host, port: configuration.listen.port,
                configuration: configuration.edge, origin: origin, engine: engine, group: group, logger: logger,
                accessLogger: accessLogger ?? logger)
        } catch {
            await disk?.shutdown()
            try? await origin.shutdown()
            try? await group.shutdownGracefully()
            throw ConfigurationError(setting: "--listen", message: "cannot listen on \(configuration.listen): \(error)")
        }
        var admin: AdminParts?
        if let listen = configuration.adminListen, let token {
            let sources = AdminSources(engine: engine, memory: memory, disk: tier, origin: origin)
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
                _ = await server.shutdown(gracePeriod: .zero)
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
        logger.notice("outpost started", metadata: [
            "port": "\(server.port)", "admin-port": "\(admin.map { String($0.server.port) } ?? "off")", "config": "\(configuration.summary)",
        ])
        return Node(configuration: configuration, origin: origin, engine: engine, server: server, admin: admin, warming: warming,
                    group: group, logger: logger)
    }

    /// Stops accepting, lets in-flight requests finish within the grace period, releases all.
    public func shutdown(gracePeriod: TimeAmount? = nil) async {
        let grace = gracePeriod ?? configuration.shutdownGracePeriod
        logger.notice("outpost stopping", metadata: ["grace": "\(DurationText.format(grace))"])
        if let admin {
            admin.traffic.stop()
            await admin.server.shutdown()
        }
        let clean = await server.shutdown(gracePeriod: grace)
        warming?.stop()
        // Every acknowledged store reaches the disk before the process goes.
        await engine.disk?.shutdown()
        try? await admin?.pool.shutdownGracefully()
        try? await origin.shutdown()
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

/// `outpost serve` as a service: runs until SIGTERM/SIGINT, then shuts down gracefully.
public struct NodeService: Service {
    let configuration: NodeConfiguration
    let logger: Logger
    let accessLogger: Logger

    public init(configuration: NodeConfiguration, logger: Logger, accessLogger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.accessLogger = accessLogger
    }

    public func run() async throws {
        let node = try await Node.start(configuration, logger: logger, accessLogger: accessLogger)
        try? await gracefulShutdown()
        await node.shutdown()
    }
}
