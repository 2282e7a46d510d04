// LeastRecentlyUsed: the eviction policy of one memory shard, as a value type with no I/O. It
// orders slots (small non-negative integers the owner hands out and reuses) from most to least
// recently used and keeps their costs. When an admission takes the total over the limit it
// answers with the victims, oldest first; the owner deletes the entries in those slots. The
// policy never sees the entries themselves.
//
// Invariants:
// - `totalCost` is the sum of the costs of the tracked slots; `count` is how many are tracked.
// - After `admit` returns, `totalCost <= limit`, unless the admitted slot alone costs more.
// - The slot just admitted is never among its own victims; victims are no longer tracked.
// - Recency is an intrusive doubly linked list stored in one array indexed by slot: admit, touch
//   and remove are O(1) and allocate nothing per node (the array grows to the highest slot seen).

/// Least-recently-used eviction over slots with costs, bounded by `limit`.
public struct LeastRecentlyUsed: EvictionPolicy {
    /// The owner's handle for one entry: an index it allocates densely and reuses.
    public typealias Slot = Int

    private static let noSlot: Slot = -1

    /// The neighbours and cost of one slot. `newer` points toward the most recent end.
    private struct Link: Sendable {
        var newer: Slot = LeastRecentlyUsed.noSlot
        var older: Slot = LeastRecentlyUsed.noSlot
        var cost = 0
        var isTracked = false
    }

    /// The total cost above which `admit` evicts.
    public let limit: Int
    /// The sum of the costs of the tracked slots.
    public private(set) var totalCost = 0
    /// How many slots are tracked.
    public private(set) var count = 0

    private var links: [Link] = []
    private var newest: Slot = LeastRecentlyUsed.noSlot
    private var oldest: Slot = LeastRecentlyUsed.noSlot

    /// LRU has no ghosts and no probation.
    public var ghostHits: Int { 0 }
    public var promotions: Int { 0 }

    public init(limit: Int) {
        precondition(limit >= 0, "a negative limit")
        self.limit = limit
    }

    /// Whether `id` is tracked.
    public func contains(_ id: Slot) -> Bool {
        id >= 0 && id < links.count && links[id].isTracked
    }

    /// Tracks `id` as the most recently used with `cost`; an already tracked slot takes the new
    /// cost and moves to the front. Returns the slots that must go to bring the total back under
    /// the limit, oldest first; they are no longer tracked. `id` itself is never returned.
    public mutating func admit(_ id: Slot, cost: Int) -> [Slot] {
        precondition(id >= 0, "a negative slot")
        precondition(cost >= 0, "a negative cost")
        if contains(id) {
            unlink(id)
            totalCost -= links[id].cost
        } else {
            if id >= links.count {
                links.append(contentsOf: repeatElement(Link(), count: id - links.count + 1))
            }
            links[id].isTracked = true
            count += 1
        }
        links[id].cost = cost
        totalCost += cost
        linkAsNewest(id)

        var victims: [Slot] = []
        // The admitted slot is the newest, so it is the oldest only when it is alone.
        while totalCost > limit, oldest != id {
            let victim = oldest
            remove(victim)
            victims.append(victim)
        }
        return victims
    }

    /// `admit(_:cost:)` with each victim's reason; the fingerprint is not needed.
    public mutating func admit(_ id: Slot, cost: Int, fingerprint: UInt64) -> [EvictionVictim] {
        admit(id, cost: cost).map { EvictionVictim(slot: $0, reason: .leastRecentlyUsed) }
    }

    /// Marks `id` as the most recently used. Does nothing for an untracked slot.
    public mutating func touch(_ id: Slot) {
        guard contains(id), newest != id else { return }
        unlink(id)
        linkAsNewest(id)
    }

    /// Stops tracking `id`. Returns false when it was not tracked.
    @discardableResult
    public mutating func remove(_ id: Slot) -> Bool {
        guard contains(id) else { return false }
        unlink(id)
        totalCost -= links[id].cost
        count -= 1
        links[id] = Link()
        return true
    }

    /// Stops tracking every slot.
    public mutating func removeAll() {
        links.removeAll(keepingCapacity: true)
        newest = Self.noSlot
        oldest = Self.noSlot
        totalCost = 0
        count = 0
    }

    /// The tracked slots, least recently used first (the order victims are chosen in).
    public var slotsOldestFirst: [Slot] {
        var slots: [Slot] = []
        slots.reserveCapacity(count)
        var cursor = oldest
        while cursor != Self.noSlot {
            slots.append(cursor)
            cursor = links[cursor].newer
        }
        return slots
    }

    private mutating func linkAsNewest(_ id: Slot) {
        links[id].older = newest
        links[id].newer = Self.noSlot
        if newest != Self.noSlot { links[newest].newer = id }
        newest = id
        if oldest == Self.noSlot { oldest = id }
    }

    private mutating func unlink(_ id: Slot) {
        let newer = links[id].newer
        let older = links[id].older
        if newer != Self.noSlot { links[newer].older = older } else { newest = older }
        if older != Self.noSlot { links[older].newer = newer } else { oldest = newer }
        links[id].newer = Self.noSlot
        links[id].older = Self.noSlot
    }
}
