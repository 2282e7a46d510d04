// The disk tier seen from the event loops. The disk tier's own methods block (SQLite, files), so
// reads run on a thread pool and come back as futures, and writes (stores, updates, removals) go
// through one serial queue in the order they were made — never on an event loop.
// Invariant: nothing here is called with a lock held; `drain()` returns once every queued write ran.
import CacheStore
import Dispatch
import Logging
import NIOCore
import NIOPosix

public final class DiskAccess: Sendable {
    public let storage: any CacheStorage
    private let pool: NIOThreadPool
    private let writer = DispatchQueue(label: "outpost.disk-writer")
    private let logger: Logger

    public init(storage: any CacheStorage, threads: Int = 2, logger: Logger) {
        self.storage = storage
        self.pool = NIOThreadPool(numberOfThreads: threads)
        self.pool.start()
        self.logger = logger
    }

    /// The stored variants of `key` on disk, read off the event loops.
    public func variants(for key: String, on eventLoop: any EventLoop) -> EventLoopFuture<[StoredEntry]> {
        let storage = self.storage
        return pool.runIfActive(eventLoop: eventLoop) { storage.variants(for: key) }
    }

    /// Stores a complete response (the memory tier has committed it) in the background. While
    /// a disk tier has paused storing (disk full), the store is skipped there and counted.
    public func store(_ entry: StoredEntry) {
        let storage = self.storage
        writer.async {
            let fill = storage.beginFill(entry.response)
            if fill.append(entry.body) { fill.commit() } else { fill.abandon() }
        }
    }

    public func update(_ response: StoredResponse) {
        let storage = self.storage
        writer.async { storage.update(response) }
    }

    public func remove(key: String) {
        let storage = self.storage
        writer.async { storage.remove(key: key) }
    }

    /// Applies a purge after every write queued before it (so a store acknowledged earlier cannot
    /// survive it), and returns what it selected once the index has committed.
    public func purge(_ selection: PurgeSelection, action: PurgeAction) async -> [PurgedVariant] {
        let storage = self.storage
        return await withCheckedContinuation { continuation in
            writer.async { continuation.resume(returning: storage.purge(selection, action: action)) }
        }
    }

    /// The same in the background, for invalidations that need no receipt.
    public func purgeLater(_ selection: PurgeSelection) {
        let storage = self.storage
        writer.async { storage.purge(selection, action: .remove) }
    }

    /// Waits for the queued writes (at shutdown, so a restart finds what was acknowledged).
    public func drain() {
        writer.sync {}
    }

    /// Drains the writes, stops a disk tier's background reconciliation (the next start-up does
    /// it again) and stops the read threads.
    public func shutdown() async {
        drain()
        (storage as? DiskTier)?.stopReconciliation()
        try? await pool.shutdownGracefully()
    }
}
