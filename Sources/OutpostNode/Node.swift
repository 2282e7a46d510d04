// A running node: its event loops, its origin client and its public listener, started from one
// NodeConfiguration and stopped gracefully. Used by `outpost serve`, `outpost demo` and tests.
import CacheStore
import EdgeCache
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
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger

    /// The bound public port (useful when listening on port 0).
    public var port: Int { server.port }

    private init(configuration: NodeConfiguration, origin: OriginClient, engine: CacheEngine, server: EdgeServer,
                 group: MultiThreadedEventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.origin = origin
        self.engine = engine
        self.server = server
        self.group = group
        self.logger = logger
    }

    public static func start(_ configuration: NodeConfiguration, logger: Logger, accessLogger: Logger? = nil) async throws -> Node {
        let configuration = try configuration.validated()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        let origin = OriginClient(
            origins: configuration.origins, configuration: configuration.originClient,
            eventLoopGroup: group, logger: logger)
        let memory = MemoryTier(capacityBytes: configuration.memorySize)
        let disk: DiskAccess?
        do {
            disk = try openDisk(configuration, logger: logger)
        } catch {
            try? await origin.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
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
        logger.notice("outpost started", metadata: ["port": "\(server.port)", "config": "\(configuration.summary)"])
        return Node(configuration: configuration, origin: origin, engine: engine, server: server, group: group, logger: logger)
    }

    /// Stops accepting, lets in-flight requests finish within the grace period, releases all.
    public func shutdown(gracePeriod: TimeAmount? = nil) async {
        let grace = gracePeriod ?? configuration.shutdownGracePeriod
        logger.notice("outpost stopping", metadata: ["grace": "\(DurationText.format(grace))"])
        let clean = await server.shutdown(gracePeriod: grace)
        // Every acknowledged store reaches the disk before the process goes.
        await engine.disk?.shutdown()
        try? await origin.shutdown()
        try? await group.shutdownGracefully()
        logger.notice("outpost stopped", metadata: ["clean": "\(clean)"])
    }
}

/// Opens the disk tier in the cache directory, unless `--disk-size 0` turns it off. The node
/// serves while the tier reconciles its index with its files in the background (it logs "disk
/// cache reconciled" when done): bodies are verified on every read meanwhile.
private func openDisk(_ configuration: NodeConfiguration, logger: Logger) throws -> DiskAccess? {
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
        return DiskAccess(storage: tier, logger: logger)
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
