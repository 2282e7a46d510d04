// The disk tier seen from the event loops. The disk tier's own methods block (SQLite, files), so
// reads run on a thread pool and come back as futures, and writes (stores, updates, removals) go
// through one serial queue in the order they were made — never on an event loop. Stores wait in
// a bounded buffer for up to `storeDelay` (or until `flushThreshold` of them wait), then the
// writer empties it in one go: one transaction, one fsync, and each index page written once for
// many fills, where a transaction per fill or two rewrote the same pages over and over.
// Invariants: nothing here is called with a lock held; every other write (update, removal,
// purge, a streaming fill's commit) and `drain()` first writes the stores waiting, so writes
// still apply in the order they were made; `drain()` returns once every queued write ran; at
// most `maximumPendingStores` stores and `maximumPendingBytes` body bytes wait at once; at most
// one read of a key is under way at a time (`consult`), however many requests want it.
import CacheStore
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

public final class DiskAccess: Sendable {
    public let storage: any CacheStorage
    private let pool: NIOThreadPool
    /// Every write to the disk tier, in order (stores, updates, removals, purges, commits).
    let writer = DispatchQueue(label: "outpost.disk-writer")
    private let logger: Logger

    /// Stores waiting for the writer; see `store`.
    private struct Pending: Sendable {
        var entries: [StoredEntry] = []
        /// An empty array with the capacity of a batch already written, handed back by the
        /// writer: the next batch fills it, so the event loops do not grow a new array (and
        /// leave its smaller copies as gaps between the objects they store) for every batch.
        var spare: [StoredEntry] = []
        var bytes = 0
        var flushScheduled = false
        var dropped = 0
        var droppingLogged = false
    }

    private enum StoreDecision { case queued, scheduleFlush, flushNow, dropped, droppedFirst }

    private let pending = NIOLockedValueBox(Pending())
    /// The reads under way, by key; see `consult`.
    private let reads = NIOLockedValueBox<[String: EventLoopFuture<[StoredEntry]>]>([:])
    /// The bounds on stores waiting for the writer.
    let maximumPendingStores: Int
    let maximumPendingBytes: Int
    /// How long the first store waiting may wait for others to share its transaction.
    let storeDelay: DispatchTimeInterval
    /// Stores (or a quarter of `maximumPendingBytes`) waiting at which the writer starts at once.
    let flushThreshold: Int

    /// Bodies longer than this are not read whole: a read leaves them in their files, verified,
    /// and a hit streams them in parts (`readBodyPart`). Memory holds one part per response
    /// under way rather than the body.
    public let wholeBodyLimit: Int

    /// The default `wholeBodyLimit` (the node passes its memory tier's largest object instead).
    public static let defaultWholeBodyLimit = 8 << 20

    public init(storage: any CacheStorage, threads: Int = 2, maximumPendingStores: Int = 1_024,
                maximumPendingBytes: Int = 64 << 20, storeDelay: DispatchTimeInterval = .milliseconds(10),
                wholeBodyLimit: Int = DiskAccess.defaultWholeBodyLimit, logger: Logger) {
        self.wholeBodyLimit = wholeBodyLimit
        self.storeDelay = storeDelay
        self.flushThreshold = max(1, maximumPendingStores / 4)
        self.maximumPendingStores = maximumPendingStores
        self.maximumPendingBytes = maximumPendingBytes
        self.storage = storage
        self.pool = NIOThreadPool(numberOfThreads: threads)
        self.pool.start()
        self.logger = logger
    }

    /// Whether the disk may hold `key`; false means a read would find nothing. Never blocks.
    public func mayHold(key: String) -> Bool { storage.mayHold(key: key) }

    /// The stored variants of `key` on disk, read off the event loops.
    private func variants(for key: String, on eventLoop: any EventLoop) -> EventLoopFuture<[StoredEntry]> {
        let storage = self.storage, limit = wholeBodyLimit
        return pool.runIfActive(eventLoop: eventLoop) { storage.variants(for: key, readingWholeUpTo: limit) }
    }

    /// Reads `count` bytes at `offset` of a body left in its file, off the event loops.
    public func readBodyPart(_ file: BodyFile, offset: Int, count: Int, on eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer> {
        pool.runIfActive(eventLoop: eventLoop) { try file.read(offset: offset, count: count) }
    }

    /// Reads `key`'s variants off the event loops and hands them to `whenRead`, once for every
    /// request that asks while the read is under way: the first starts the read and its
    /// `whenRead` runs; the others wait for that read, and their `whenRead` is dropped. So a
    /// burst of requests for a key that only the disk holds costs one index read, one body read
    /// and one promotion. The future completes (on `eventLoop`) with what `whenRead` returned.
    public func consult(key: String, on eventLoop: any EventLoop,
                        whenRead: @escaping @Sendable ([StoredEntry]) -> [StoredEntry]) -> EventLoopFuture<[StoredEntry]> {
        enum Role { case reader(EventLoopPromise<[StoredEntry]>), waiter(EventLoopFuture<[StoredEntry]>) }
        let role = reads.withLockedValue { reads -> Role in
            if let underway = reads[key] { return .waiter(underway) }
            let promise = eventLoop.makePromise(of: [StoredEntry].self)
            reads[key] = promise.futureResult
            return .reader(promise)
        }
        switch role {
        case .waiter(let underway):
            return underway.hop(to: eventLoop)
        case .reader(let promise):
            variants(for: key, on: eventLoop).map(whenRead).cascade(to: promise)
            promise.futureResult.whenComplete { [reads] _ in
                reads.withLockedValue { _ = $0.removeValue(forKey: key) }
            }
            return promise.futureResult
        }
    }

    /// Keys whose disk read is under way.
    public var readsUnderway: Int { reads.withLockedValue { $0.count } }

    /// Stores a complete response (the memory tier has committed it) in the background. While
    /// a disk tier has paused storing (disk full), the store is skipped there and counted.
    /// Stores wait in a bounded buffer, up to `storeDelay` after the first, and the writer takes
    /// all that are waiting at once, so the disk tier commits them together. When the buffer is full (the disk cannot keep up with
    /// the fill rate) the store is dropped and counted: memory and the origin still serve it,
    /// and memory use stays bounded.
    public func store(_ entry: StoredEntry) {
        let size = entry.bodyLength
        let decision = pending.withLockedValue { pending -> StoreDecision in
            guard pending.entries.count < maximumPendingStores, pending.bytes + size <= maximumPendingBytes else {
                pending.dropped += 1
                defer { pending.droppingLogged = true }
                return pending.droppingLogged ? .dropped : .droppedFirst
            }
            pending.entries.append(entry)
            pending.bytes += size
            let byteThreshold = maximumPendingBytes / 4
            let crossedBytes = pending.bytes - size < byteThreshold && pending.bytes >= byteThreshold
            if pending.entries.count == flushThreshold || crossedBytes {
                pending.flushScheduled = true
                return .flushNow
            }
            if pending.flushScheduled { return .queued }
            pending.flushScheduled = true
            return .scheduleFlush
        }
        switch decision {
        case .queued, .dropped:
            break
        case .flushNow:
            writer.async { [self] in flushPending() }
        case .droppedFirst:
            logger.warning("disk cache writer is behind; stores are dropped until it catches up",
                           metadata: ["waiting-stores": "\(maximumPendingStores)", "waiting-bytes-limit": "\(maximumPendingBytes)"])
        case .scheduleFlush:
            writer.asyncAfter(deadline: .now() + storeDelay) { [self] in flushPending() }
        }
    }

    /// Stores dropped because the writer was behind, since start.
    public var storesDropped: Int { pending.withLockedValue { $0.dropped } }

    /// On the writer: stores everything waiting, until nothing is. Any block on the writer may
    /// run it; `flushScheduled` goes false only when one found nothing waiting, so a store
    /// made after that schedules a flush of its own.
    func flushPending() {
        while true {
            var batch = pending.withLockedValue { pending -> [StoredEntry] in
                var batch = pending.spare
                pending.spare = []
                swap(&batch, &pending.entries)
                pending.bytes = 0
                if batch.isEmpty {
                    pending.flushScheduled = false
                    pending.droppingLogged = false
                }
                return batch
            }
            guard !batch.isEmpty else {
                pending.withLockedValue { $0.spare = batch }
                return
            }
            storage.store(batch)
            batch.removeAll(keepingCapacity: true)
            pending.withLockedValue { pending in
                if pending.spare.capacity < batch.capacity { pending.spare = batch }
            }
        }
    }

    /// Runs `write` on the writer once the stores waiting before it are written, so writes apply
    /// in the order they were made.
    private func afterStoresWaiting(_ write: @escaping @Sendable (any CacheStorage) -> Void) {
        writer.async { [self] in
            flushPending()
            write(storage)
        }
    }

    public func update(_ response: StoredResponse) {
        afterStoresWaiting { storage in storage.update(response) }
    }

    public func remove(key: String) {
        afterStoresWaiting { storage in storage.remove(key: key) }
    }

    /// Applies a purge after every write queued before it (so a store acknowledged earlier cannot
    /// survive it), and returns what it selected once the index has committed.
    public func purge(_ selection: PurgeSelection, action: PurgeAction) async -> [PurgedVariant] {
        await withCheckedContinuation { continuation in
            afterStoresWaiting { storage in continuation.resume(returning: storage.purge(selection, action: action)) }
        }
    }

    /// The same in the background, for invalidations that need no receipt.
    public func purgeLater(_ selection: PurgeSelection) {
        afterStoresWaiting { storage in storage.purge(selection, action: .remove) }
    }

    /// Waits for the queued writes and the stores waiting (at shutdown, so a restart finds what
    /// was acknowledged).
    public func drain() {
        writer.sync { flushPending() }
    }

    /// Drains the writes, stops a disk tier's background reconciliation (the next start-up does
    /// it again) and stops the read threads.
    public func shutdown() async {
        drain()
        storage.stopBackgroundWork()
        try? await pool.shutdownGracefully()
    }
}
