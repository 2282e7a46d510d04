// EvictionPolicy: what a memory shard asks of its eviction policy, and what the policy answers.
// A policy is a value type with no I/O and no clock: it tracks slots (small non-negative
// integers the owner hands out and reuses) with their costs, and when an admission takes the
// total over the limit it answers with the victims and the reason each went. The owner deletes
// the entries in those slots; the policy never sees the entries themselves.
//
// Invariants every conformer keeps:
// - `totalCost` is the sum of the costs of the tracked slots; `count` is how many are tracked.
// - After `admit` returns, `totalCost <= limit`, unless the admitted slot alone costs more.
// - The slot just admitted is never among its own victims; victims are no longer tracked.
import CachePolicy

/// Why a slot was evicted: the label of the `evictions` counters in /stats and /metrics.
public enum EvictionReason: String, Sendable, Hashable, CaseIterable {
    /// Least recently used (the LRU policy's only reason).
    case leastRecentlyUsed = "lru"
    /// Left S3-FIFO's small probation queue without being used again (a one-hit wonder).
    case probationEnded = "probation"
    /// Reached the end of S3-FIFO's main queue unused since its last pass.
    case mainAged = "main"
}

/// One slot the policy evicted, and why.
public struct EvictionVictim: Sendable, Hashable, CustomStringConvertible {
    public var slot: Int
    public var reason: EvictionReason
    public init(slot: Int, reason: EvictionReason) {
        self.slot = slot
        self.reason = reason
    }
    public var description: String { "\(slot):\(reason.rawValue)" }
}

/// A shard's eviction policy over slots with costs, bounded by `limit`.
public protocol EvictionPolicy: Sendable {
    /// The total cost above which `admit` evicts.
    var limit: Int { get }
    /// The sum of the costs of the tracked slots.
    var totalCost: Int { get }
    /// How many slots are tracked.
    var count: Int { get }
    /// Admissions that went straight to the protected part because their key had been evicted
    /// recently (S3-FIFO's ghost hits); always 0 for LRU.
    var ghostHits: Int { get }
    /// Slots moved from probation to the protected part because they were used there.
    var promotions: Int { get }
    /// Whether `slot` is tracked.
    func contains(_ slot: Int) -> Bool
    /// Tracks `slot` with `cost`; `fingerprint` identifies the entry across slot reuse (a stable
    /// hash of its key and variant). A tracked slot takes the new cost and counts as used.
    /// Returns the victims that bring the total back under the limit, in eviction order.
    mutating func admit(_ slot: Int, cost: Int, fingerprint: UInt64) -> [EvictionVictim]
    /// Records a use of `slot`. Does nothing for an untracked slot.
    mutating func touch(_ slot: Int)
    /// Stops tracking `slot` (a removal or purge, not an eviction). False when it was not tracked.
    @discardableResult
    mutating func remove(_ slot: Int) -> Bool
    /// Stops tracking every slot.
    mutating func removeAll()
}

extension EvictionChoice {
    /// A new, empty policy of this kind bounded by `limit`.
    public func makePolicy(limit: Int) -> any EvictionPolicy {
        switch self {
        case .leastRecentlyUsed: LeastRecentlyUsed(limit: limit)
        case .threeQueueFIFO: ThreeQueueFIFO(limit: limit)
        }
    }
}

/// 64-bit FNV-1a, stable across processes: shard selection and policy fingerprints.
enum StableHash {
    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325

    static func combine(_ hash: UInt64, _ text: String) -> UInt64 {
        var hash = hash
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The fingerprint of one variant: the key, a separator no key holds, the variant key.
    static func fingerprint(key: String, variantKey: String) -> UInt64 {
        var hash = combine(seed, key)
        hash ^= 0xff
        hash &*= 0x0000_0100_0000_01b3
        return combine(hash, variantKey)
    }
}
