// Which keys the disk tier may hold, kept in memory, so that a memory miss for a key the disk has
// never held does not read the index (a thread hop and a SQLite query on the fill path).
//
// It holds 32-bit fingerprints (the low half of the key's 64-bit FNV-1a hash), loaded from the
// index at start-up and added to by every store. Invariants: until loading has finished, every
// key may be held; afterwards a key whose fingerprint is absent was never stored (so skipping the
// read loses nothing); a fingerprint present may belong to a key removed since or to another key
// (one index read wasted, never a wrong answer: with a million keys stored, one miss in about
// 4,000 for a key never stored). About 8 bytes per stored key; rebuilt at each start-up, so
// removals do not accumulate across runs.
import GRDB
import NIOConcurrencyHelpers

extension DiskTier {
    struct KeyFilter: Sendable {
        var hashes: Set<UInt32> = []
        var loaded = false
    }

    /// A key's fingerprint in the filter.
    static func fingerprint(_ key: String) -> UInt32 {
        UInt32(truncatingIfNeeded: MemoryTier.stableHash(key))
    }

    /// Whether the disk tier may hold a variant of `key`. Never blocks on I/O.
    public func mayHold(key: String) -> Bool {
        let hash = Self.fingerprint(key)
        return keyFilter.withLockedValue { !$0.loaded || $0.hashes.contains(hash) }
    }

    /// Records keys being stored (before their rows commit, so a reader never misses them).
    func noteStoring(_ keys: [String]) {
        let hashes = keys.map(Self.fingerprint)
        keyFilter.withLockedValue { $0.hashes.formUnion(hashes) }
    }

    /// Reads every key in the index into the filter, then marks it loaded. Blocks on SQLite.
    func loadKeyFilter() {
        var hashes = Set<UInt32>()
        do {
            try pool.read { database in
                let keys = try String.fetchCursor(database, sql: "SELECT key FROM objects")
                while let key = try keys.next() { hashes.insert(Self.fingerprint(key)) }
            }
        } catch {
            logger?.warning("disk cache key filter not loaded; every memory miss reads the index", metadata: ["error": "\(error)"])
            return
        }
        keyFilter.withLockedValue { filter in
            filter.hashes.formUnion(hashes)
            filter.loaded = true
        }
    }
}
