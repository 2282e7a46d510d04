// Warming memory from the disk tier at start-up, so a restart is not a cold start: the most
// recently used objects on disk, up to a byte budget, are promoted into the memory tier on a
// thread of their own while the node already serves.
//
// Invariants: it never blocks an event loop (its own thread does the SQLite and file reads);
// reads do not count as uses on disk (hit counts and recency stay the clients'); a key memory
// already holds is skipped, and promotion goes through `CacheEngine.promote`, so a purge or a
// newer fill that happens meanwhile wins. Variants are promoted least recent first, so the
// memory tier's LRU order ends up as the disk's. `stop()` ends it between two keys.
import CacheStore
import Dispatch
import Foundation
import Logging
import Synchronization

public final class MemoryWarming: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchGroup()
    private let promotedCount = Atomic<Int>(0)

    /// Variants promoted so far.
    public var promoted: Int { promotedCount.load(ordering: .relaxed) }

    /// Asks the warming to stop after the key it is reading, and waits until it has.
    public func stop() {
        stopRequested.store(true, ordering: .relaxed)
        finished.wait()
    }

    /// Waits until every selected key was read (or `stop()` ended it).
    public func waitUntilFinished() {
        finished.wait()
    }

    fileprivate func run(engine: CacheEngine, tier: DiskTier, limitBytes: Int, logger: Logger) {
        finished.enter()
        let thread = Thread { [self] in
            defer { finished.leave() }
            let began = ContinuousClock.now
            // Bodies too large for memory are left on disk (they are served from there).
            let keys = tier.recentlyUsedKeys(limitBytes: limitBytes, largestBody: engine.fills.memoryObjectLimit)
            var bytes = 0
            for key in keys.reversed() {
                if stopRequested.load(ordering: .relaxed) { break }
                guard engine.storage.variants(for: key).isEmpty else { continue }
                let generation = engine.fills.purgeFence.current
                let entries = tier.variants(for: key, countingUse: false)
                promotedCount.add(engine.promote(entries, readSince: generation).promoted, ordering: .relaxed)
                bytes += entries.reduce(0) { $0 + $1.bodyLength }
            }
            logger.notice("memory warmed from disk", metadata: [
                "keys": "\(keys.count)", "variants": "\(promoted)", "bytes-read": "\(bytes)", "budget": "\(limitBytes)",
                "took": "\(ContinuousClock.now - began)", "stopped": "\(stopRequested.load(ordering: .relaxed))",
            ])
        }
        thread.name = "outpost.memory-warming"
        thread.start()
    }
}

extension CacheEngine {
    /// Starts promoting the most recently used objects of `tier`, up to `limitBytes` of bodies,
    /// into memory in the background; see `MemoryWarming`.
    public func warmMemory(from tier: DiskTier, limitBytes: Int) -> MemoryWarming {
        let warming = MemoryWarming()
        warming.run(engine: self, tier: tier, limitBytes: limitBytes, logger: logger)
        return warming
    }
}
