// Which keys the disk tier may hold, kept in memory, so that a memory miss for a key the disk has
// never held does not read the index (a thread hop and a SQLite query on the fill path).
//
// It is a growing Bloom filter (GrowingBloomFilter) of the keys' 64-bit FNV-1a hashes, loaded
// from the index at start-up and added to by every store. Invariants: until loading has
// finished, every key may be held; afterwards a key the filter answers "certainly not" for was
// never stored (so skipping the read loses nothing); a key answered "maybe" may have been
// removed since or never stored at all (one index read wasted, never a wrong answer: at most
// about 2% of the keys never stored). About 2 bytes per key added since it was built; rebuilt
// at each start-up, and in the background whenever it holds more than twice the keys the index
// has (and 65,536 more), so keys evicted or purged since do not accumulate: a flood of distinct
// URLs costs the filter about twice what the index holds, not what was ever stored. Keys noted
// while a rebuild reads the index, and the last 4,096 noted before it (whose rows may commit
// after the rebuild's read began: keys are noted before their rows commit), are added to the
// new filter too, so a rebuild forgets no key being stored unless more than 4,096 others were
// noted while its row committed (then one memory miss for it goes to the origin, not the disk).
import Foundation
import GRDB
import NIOConcurrencyHelpers

extension DiskTier {
    struct KeyFilter: Sendable {
        var hashes = GrowingBloomFilter()
        var loaded = false
        /// While a check or rebuild runs: the hashes noted meanwhile, for the new filter.
        var notedDuringRebuild: [UInt64]?
        /// Keys the filter may hold beyond twice the index's before it is rebuilt.
        var slack = 65_536
        /// The filter's count at which the index's count is read again to see whether to rebuild.
        var nextCheck = 65_536
        /// How many rebuilds ran.
        var rebuilds = 0
        /// The last `recentLimit` hashes noted, oldest overwritten first.
        var recent: [UInt64] = []
        var recentNext = 0
        var recentLimit = 4_096

        mutating func remember(_ hash: UInt64) {
            if recent.count < recentLimit {
                recent.append(hash)
            } else {
                recent[recentNext] = hash
                recentNext = (recentNext + 1) % recentLimit
            }
        }
    }

    /// A key's hash in the filter.
    static func fingerprint(_ key: String) -> UInt64 { MemoryTier.stableHash(key) }

    /// Whether the disk tier may hold a variant of `key`. Never blocks on I/O.
    public func mayHold(key: String) -> Bool {
        let hash = Self.fingerprint(key)
        return keyFilter.withLockedValue { !$0.loaded || $0.hashes.mayContain(hash) }
    }

    /// Records keys being stored (before their rows commit, so a reader never misses them).
    func noteStoring(_ keys: [String]) {
        let hashes = keys.map(Self.fingerprint)
        let check = keyFilter.withLockedValue { filter -> Bool in
            for hash in hashes {
                filter.hashes.insert(hash)
                filter.remember(hash)
            }
            filter.notedDuringRebuild?.append(contentsOf: hashes)
            guard filter.loaded, filter.notedDuringRebuild == nil, filter.hashes.count >= filter.nextCheck else { return false }
            // One check or rebuild at a time; the keys noted last (these among them) may not have
            // committed when the rebuild reads the index, so they go into the new filter too.
            filter.notedDuringRebuild = filter.recent
            return true
        }
        if check {
            let thread = Thread { [self] in rebuildKeyFilterIfStale() }
            thread.name = "outpost.disk-key-filter"
            thread.start()
        }
    }

    /// Rebuilds the filter from the index if it holds more than twice the index's rows (and
    /// `slack` more: rows count variants, so with many variants per key the filter may hold
    /// more than twice the keys before it is rebuilt); otherwise sets the next count to look
    /// again at. Blocks on SQLite;
    /// `noteStoring` starts it on a thread of its own, with `notedDuringRebuild` already set.
    func rebuildKeyFilterIfStale() {
        let slack = keyFilter.withLockedValue { $0.slack }
        let limit = 2 * usage.objects + slack
        let stale = keyFilter.withLockedValue { filter -> Bool in
            guard filter.hashes.count > limit else {
                filter.notedDuringRebuild = nil
                filter.nextCheck = limit + 1
                return false
            }
            return true
        }
        guard stale else { return }
        var fresh = GrowingBloomFilter()
        do {
            try forEachStoredKeyHash { fresh.insert($0) }
        } catch {
            logger?.warning("disk cache key filter not rebuilt; it keeps keys removed since", metadata: ["error": "\(error)"])
            keyFilter.withLockedValue { filter in
                filter.notedDuringRebuild = nil
                filter.nextCheck = filter.hashes.count + limit
            }
            return
        }
        let (kept, forgotten) = keyFilter.withLockedValue { filter -> (Int, Int) in
            for hash in filter.notedDuringRebuild ?? [] { fresh.insert(hash) }
            let forgotten = max(0, filter.hashes.count - fresh.count)
            filter.hashes = fresh
            filter.notedDuringRebuild = nil
            filter.nextCheck = 2 * fresh.count + filter.slack
            filter.rebuilds += 1
            return (fresh.count, forgotten)
        }
        logger?.info("disk cache key filter rebuilt", metadata: ["keys": "\(kept)", "forgotten": "\(forgotten)"])
    }

    /// Sets the key filter's slack (and the count of its next check) and how many recent keys
    /// a rebuild keeps: a seam for tests.
    func setKeyFilterSlack(_ slack: Int, recent: Int) {
        keyFilter.withLockedValue { filter in
            filter.slack = slack
            filter.nextCheck = slack
            filter.recentLimit = recent
            filter.recent = []
            filter.recentNext = 0
        }
    }

    /// How many times the key filter was rebuilt since start-up.
    var keyFilterRebuilds: Int { keyFilter.withLockedValue { $0.rebuilds } }

    /// Calls `body` with the hash of every key in the index, one row at a time. Blocks on SQLite.
    private func forEachStoredKeyHash(_ body: (UInt64) -> Void) throws {
        try pool.read { database in
            let keys = try String.fetchCursor(database, sql: "SELECT key FROM objects")
            while let key = try keys.next() { body(Self.fingerprint(key)) }
        }
    }

    /// Reads every key in the index into the filter, then marks it loaded. Blocks on SQLite.
    func loadKeyFilter() {
        var hashes: [UInt64] = []
        do {
            try forEachStoredKeyHash { hashes.append($0) }
        } catch {
            logger?.warning("disk cache key filter not loaded; every memory miss reads the index", metadata: ["error": "\(error)"])
            return
        }
        // In slices, so that event loops asking `mayHold` meanwhile wait for one slice at most.
        var start = 0
        while start < hashes.count {
            let slice = hashes[start..<min(start + 8_192, hashes.count)]
            keyFilter.withLockedValue { filter in
                for hash in slice { filter.hashes.insert(hash) }
            }
            start += slice.count
        }
        keyFilter.withLockedValue { $0.loaded = true }
    }
}
