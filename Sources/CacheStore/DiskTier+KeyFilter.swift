// Which keys the disk tier may hold, kept in memory, so that a memory miss for a key the disk has
// never held does not read the index (a thread hop and a SQLite query on the fill path).
//
// It is a growing Bloom filter (GrowingBloomFilter) of the keys' 64-bit FNV-1a hashes, loaded
// from the index at start-up and added to by every store. Invariants: until loading has
// finished, every key may be held; afterwards a key the filter answers "certainly not" for was
// never stored (so skipping the read loses nothing); a key answered "maybe" may have been
// removed since or never stored at all (one index read wasted, never a wrong answer: at most
// about 2% of the keys never stored). About 2 bytes per stored key; rebuilt at each start-up,
// so removals do not accumulate across runs.
import GRDB
import NIOConcurrencyHelpers

extension DiskTier {
    struct KeyFilter: Sendable {
        var hashes = GrowingBloomFilter()
        var loaded = false
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
        keyFilter.withLockedValue { filter in
            for hash in hashes { filter.hashes.insert(hash) }
        }
    }

    /// Reads every key in the index into the filter, then marks it loaded. Blocks on SQLite.
    func loadKeyFilter() {
        var hashes: [UInt64] = []
        do {
            try pool.read { database in
                let keys = try String.fetchCursor(database, sql: "SELECT key FROM objects")
                while let key = try keys.next() { hashes.append(Self.fingerprint(key)) }
            }
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
