// MemoryTier: the in-memory cache tier, a byte-bounded store of whole responses, each packed in
// one allocation of its exact size (`PackedResponse`: metadata, header fields, the encoded head a
// hit keeps, and a body up to 16 KiB; a larger body stays in its ByteBuffer, sent uncopied).
//
// It is split into shards so that concurrent requests rarely wait on the same lock: a key and all
// its variants live in the shard picked by a stable hash of the key (FNV-1a over its UTF-8, the
// same in every process, unlike `hashValue`). Each shard has its own lock, its own share of the
// capacity and its own eviction policy (`ThreeQueueFIFO`, S3-FIFO, by default, or
// `LeastRecentlyUsed`; either returns the victims for the shard to delete). A lock is held only
// for in-memory bookkeeping, never across I/O or while a
// fill's body is arriving: a fill accumulates its body unlocked and takes the lock once, to commit.
//
// Invariants:
// - Each shard holds at most `capacityBytes / shardCount` bytes, counted as `StoredEntry.cost`,
//   so the tier holds at most `capacityBytes`.
// - An entry costing more than one shard's capacity is never stored.
// - A stored entry's `response.bodyLength` equals its body's length.
// - Packing (the copy of a body into its object) happens before a shard's lock is taken.
import CachePolicy
import NIOConcurrencyHelpers
import NIOCore

/// A byte-bounded, sharded cache in memory, evicting by S3-FIFO (or LRU).
public final class MemoryTier: CacheStorage {
    /// The bound on the bytes held, across all shards.
    public let capacityBytes: Int
    /// The bound on the bytes held by one shard, and so the most one entry may cost.
    public let shardCapacityBytes: Int
    /// `CacheStorage`: a response must fit in its shard.
    public var largestObjectBytes: Int { min(shardCapacityBytes, ThreeQueueFIFO.largestCost) }
    /// The eviction policy every shard runs.
    public let eviction: EvictionChoice
    private let shards: [NIOLockedValueBox<Shard>]

    /// Creates an empty tier holding at most `capacityBytes`, split evenly over `shardCount`
    /// shards (the remainder of the division is not used), each evicting by `eviction`.
    public convenience init(capacityBytes: Int, shardCount: Int = 16, eviction: EvictionChoice = .threeQueueFIFO) {
        self.init(capacityBytes: capacityBytes, shardCount: shardCount, eviction: eviction, indexMask: -1)
    }

    /// `indexMask`: the bits of each key's index hash the shards use (tests use 0 to put every
    /// key in one chain).
    init(capacityBytes: Int, shardCount: Int, eviction: EvictionChoice, indexMask: Int) {
        precondition(capacityBytes >= 0, "a negative capacity")
        precondition(shardCount > 0, "a memory tier needs at least one shard")
        self.capacityBytes = capacityBytes
        self.eviction = eviction
        shardCapacityBytes = capacityBytes / shardCount
        shards = (0..<shardCount).map { _ in
            NIOLockedValueBox(Shard(capacity: capacityBytes / shardCount, eviction: eviction, indexMask: indexMask))
        }
    }

    public func variants(for key: String) -> [StoredEntry] {
        shard(for: key).withLockedValue { $0.variants(for: key) }
    }

    /// Starts a fill. The body is gathered outside any lock; `commit` stores it in the key's shard.
    /// See `MemoryTier.Fill` for the limits.
    public func beginFill(_ response: StoredResponse) -> any CacheFill {
        Fill(response: response, shard: shard(for: response.key), capacity: shardCapacityBytes)
    }

    /// Replaces the metadata of a stored variant and keeps its body; `bodyLength` is set to the
    /// stored body's length. Counts as a use. Returns false when the variant is absent, or when
    /// the new metadata would make it too large for its shard (it is then removed).
    @discardableResult
    public func update(_ response: StoredResponse) -> Bool {
        shard(for: response.key).withLockedValue { $0.update(response) }
    }

    /// Keeps the head with the variant `entry` was read from, in its packed object (see
    /// `PackedResponse`): a hit then copies head and body from one allocation.
    public func keepEncodedHead(_ head: ByteBuffer, for entry: StoredEntry) {
        guard let read = entry.unchangedPacked, read.encodedHeadLength == nil,
              let kept = read.keeping(encodedHead: head) else { return }
        shard(for: entry.response.key).withLockedValue { $0.keepEncodedHead(kept, for: entry) }
    }

    @discardableResult
    public func remove(key: String) -> Int {
        shard(for: key).withLockedValue { $0.remove(key: key) }
    }

    /// Objects and bytes held, and evictions since creation, summed over the shards. Each shard
    /// is read under its own lock, so under concurrent writes the sum is not one instant's view,
    /// but it never exceeds `capacityBytes`.
    public var usage: StorageUsage {
        shards.reduce(StorageUsage()) { total, shard in total + shard.withLockedValue { $0.usage } }
    }

    /// Stores complete responses, each under its shard's lock, without copying their bodies
    /// (a fill copies each part it is given; these are whole already). Returns how many were
    /// stored; an entry larger than a shard is refused.
    @discardableResult
    public func store(_ entries: [StoredEntry]) -> Int {
        var stored = 0
        for entry in entries {
            if store(entry) { stored += 1 }
        }
        return stored
    }

    /// Packs `entry` (no lock held: the copy into one allocation happens here) and stores it in
    /// its shard; false when it is refused.
    func store(_ entry: StoredEntry) -> Bool {
        Self.store(entry, in: shard(for: entry.response.key))
    }

    static func store(_ entry: StoredEntry, in shard: NIOLockedValueBox<Shard>) -> Bool {
        var response = entry.response
        response.bodyLength = entry.bodyLength
        guard let object = PackedResponse.make(response, body: entry.body) else {
            shard.withLockedValue { $0.refuse() }
            return false
        }
        return shard.withLockedValue { $0.store(object, response) }
    }

    /// Removes every entry; returns how many went. Does not count as evictions.
    @discardableResult
    public func removeAll() -> Int {
        shards.reduce(0) { count, shard in count + shard.withLockedValue { $0.removeAll() } }
    }

    /// A snapshot of the metadata of every stored variant, for listing. Order unspecified; does
    /// not count as a use. Each shard's lock is held only to copy references; the objects are
    /// decoded after.
    public func entries() -> [StoredResponse] {
        shards.flatMap { shard in shard.withLockedValue { $0.storedObjects() }.map(\.response) }
    }

    /// The same, with each variant's lookups since it was stored.
    public func entriesWithHits() -> [(response: StoredResponse, hits: Int)] {
        shards.flatMap { shard in shard.withLockedValue { $0.storedObjects() }.map { ($0.response, $0.hits) } }
    }

    /// The `limit` variants with the most lookups since stored, most first. Each shard picks its
    /// own under its lock; only those are copied.
    public func hottest(_ limit: Int) -> [(response: StoredResponse, hits: Int)] {
        let candidates = shards.flatMap { shard in shard.withLockedValue { $0.hottest(limit) } }
        return Array(candidates.sorted { $0.hits > $1.hits }.prefix(limit))
    }

    /// Applies `action` to every variant `selection` matches, shard by shard (each under its own
    /// lock, briefly); returns them. A variant stored again while its shard is being matched is
    /// left as the newer store made it. A key's variants all live in one shard.
    @discardableResult
    public func purge(_ selection: PurgeSelection, action: PurgeAction) -> [PurgedVariant] {
        if case .key(let key) = selection {
            return shard(for: key).withLockedValue { $0.purge(key: key, action: action) }
        }
        // Matched outside the lock (a prefix or tag purge decodes every object), applied under
        // it to the objects still stored as they were matched.
        return shards.flatMap { shard in
            let selected = shard.withLockedValue { $0.storedObjects() }.compactMap { stored -> Shard.Selected? in
                let response = stored.response
                guard selection.matches(response) else { return nil }
                return Shard.Selected(slot: stored.slot, object: stored.object, variant: PurgedVariant(
                    key: response.key, variantKey: response.variantKey, bodyLength: response.bodyLength))
            }
            return selected.isEmpty ? [] : shard.withLockedValue { $0.apply(action, to: selected) }
        }
    }

    private func shard(for key: String) -> NIOLockedValueBox<Shard> {
        shards[Self.shardIndex(for: key, shardCount: shards.count)]
    }

    /// The shard of `key`: its stable hash modulo the shard count.
    static func shardIndex(for key: String, shardCount: Int) -> Int {
        Int(stableHash(key) % UInt64(shardCount))
    }

    /// 64-bit FNV-1a over the UTF-8 of `key`: the same value in every process and on every run.
    static func stableHash(_ key: String) -> UInt64 {
        func fold(_ bytes: some Sequence<UInt8>) -> UInt64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
            return hash
        }
        // The contiguous bytes of a native string, without the view's per-byte indexing.
        return key.utf8.withContiguousStorageIfAvailable(fold) ?? fold(key.utf8)
    }
}
