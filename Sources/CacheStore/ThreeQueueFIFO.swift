// ThreeQueueFIFO: S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction",
// SOSP 2023) as a shard's eviction policy: a value type with no I/O, returning victims.
//
// - New slots enter the small probation queue (a tenth of the limit). A slot reaching the end of
//   probation moves to the main queue if it was used at least `promotionThreshold` times there;
//   otherwise it is evicted and its fingerprint goes to the ghost list.
// - A slot admitted while its fingerprint is a ghost (evicted from probation not long ago) goes
//   straight to the main queue.
// - The main queue is a FIFO with reinsertion: a slot at its end that was used since its last
//   pass goes back to the front with its use count lowered by one; an unused one is evicted.
// - A use (`touch`) only raises a counter capped at 3: no list moves under the shard's lock.
// So one pass of one-time keys churns through probation and never reaches what main protects.
// The parameters follow libCacheSim's S3FIFO (small 0.1, ghost 0.9, move-to-main threshold 2),
// the reference the trace lab (tools/trace) checks against.
//
// Invariants (beyond EvictionPolicy's):
// - A tracked slot is in exactly one queue; `small.bytes + main.bytes == totalCost`.
// - Queues are intrusive doubly linked lists in one array indexed by slot (16 bytes a slot):
//   admit, touch and remove allocate nothing per slot; eviction is O(1) amortised.
// - The ghost list holds fingerprints of at most `ghostLimit` bytes of evicted slots.

/// S3-FIFO eviction over slots with costs, bounded by `limit`.
public struct ThreeQueueFIFO: EvictionPolicy {
    public typealias Slot = Int

    /// Which queue a slot is in.
    enum Queue: UInt8, Sendable {
        case none = 0
        case small = 1
        case main = 2
    }

    /// A queue's ends (newest at the front, the next to leave at the back) and its bytes.
    struct QueueEnds: Sendable {
        var front: Int32 = -1
        var back: Int32 = -1
        var bytes = 0
        var count = 0
    }

    /// The neighbours, fingerprint, cost, use count and queue of one slot: 16 bytes. The cost
    /// (28 bits), the use count (2) and the queue (2) share one 32-bit word.
    struct Link: Sendable {
        /// Toward the front (newer) and the back (older) of its queue.
        var newer: Int32 = -1
        var older: Int32 = -1
        /// The fingerprint `admit` was given folded to 32 bits (`fold`): what the ghost list remembers.
        var fingerprint: UInt32 = 0
        private var word: UInt32 = 0

        private static let costMask: UInt32 = (1 << 28) - 1

        init() {}

        init(cost: Int, fingerprint: UInt64) {
            self.cost = cost
            self.fingerprint = Link.fold(fingerprint)
        }

        /// A 64-bit fingerprint in 32 bits, both halves mixed in: the low half of FNV-1a alone
        /// is a weak hash.
        static func fold(_ fingerprint: UInt64) -> UInt32 {
            UInt32(truncatingIfNeeded: fingerprint ^ (fingerprint >> 32))
        }

        /// At most `ThreeQueueFIFO.largestCost`.
        var cost: Int {
            get { Int(word & Self.costMask) }
            set { word = (word & ~Self.costMask) | UInt32(newValue) }
        }

        /// Uses since admitted or last passed, at most 3.
        var uses: UInt8 {
            get { UInt8((word >> 28) & 3) }
            set { word = (word & ~(3 << 28)) | (UInt32(newValue) << 28) }
        }

        var queue: Queue {
            get { Queue(rawValue: UInt8(word >> 30))! }
            set { word = (word & ~(3 << 30)) | (UInt32(newValue.rawValue) << 30) }
        }
    }

    /// The largest cost one slot may have (256 MiB - 1): a link keeps it in 28 bits.
    public static let largestCost = (1 << 28) - 1

    public let limit: Int
    /// The bytes probation aims to hold; beyond it, probation is evicted from first.
    public let smallLimit: Int
    /// Uses in probation needed to move to the main queue.
    public let promotionThreshold: UInt8
    public private(set) var ghostHits = 0
    public private(set) var promotions = 0

    private var links: [Link] = []
    private(set) var small = QueueEnds()
    private(set) var main = QueueEnds()
    private var ghosts: GhostFingerprints

    /// - Parameters:
    ///   - smallRatio: the share of `limit` for probation.
    ///   - ghostRatio: the bytes of evicted slots whose fingerprints are remembered, as a share
    ///     of `limit`.
    ///   - promotionThreshold: uses in probation that earn a place in the main queue.
    public init(limit: Int, smallRatio: Double = 0.1, ghostRatio: Double = 0.9, promotionThreshold: UInt8 = 2) {
        precondition(limit >= 0, "a negative limit")
        precondition((0...1).contains(smallRatio) && ghostRatio >= 0, "ratios out of range")
        self.limit = limit
        smallLimit = Int(Double(limit) * smallRatio)
        self.promotionThreshold = promotionThreshold
        ghosts = GhostFingerprints(limit: Int(Double(limit) * ghostRatio))
    }

    public var totalCost: Int { small.bytes + main.bytes }
    public var count: Int { small.count + main.count }

    public func contains(_ slot: Slot) -> Bool {
        slot >= 0 && slot < links.count && links[slot].queue != .none
    }

    public mutating func admit(_ slot: Slot, cost: Int, fingerprint: UInt64) -> [EvictionVictim] {
        precondition(slot >= 0 && slot < Int(Int32.max), "a slot out of range")
        precondition(cost >= 0 && cost <= Self.largestCost, "a cost out of range")
        if contains(slot) {
            // A replacement or an update: same place, new cost, and it counts as a use.
            adjustBytes(of: links[slot].queue, by: cost - links[slot].cost)
            links[slot].cost = cost
            links[slot].fingerprint = Link.fold(fingerprint)
            touch(slot)
        } else {
            if slot >= links.count {
                links.append(contentsOf: repeatElement(Link(), count: slot - links.count + 1))
            }
            links[slot] = Link(cost: cost, fingerprint: fingerprint)
            if ghosts.remove(links[slot].fingerprint) {
                ghostHits += 1
                pushFront(slot, into: .main)
            } else {
                pushFront(slot, into: .small)
            }
        }
        var victims: [EvictionVictim] = []
        while totalCost > limit, let victim = evictOne(protecting: slot) {
            victims.append(victim)
        }
        return victims
    }

    public mutating func touch(_ slot: Slot) {
        guard contains(slot), links[slot].uses < 3 else { return }
        links[slot].uses += 1
    }

    @discardableResult
    public mutating func remove(_ slot: Slot) -> Bool {
        guard contains(slot) else { return false }
        unlink(slot)
        links[slot] = Link()
        return true
    }

    public mutating func removeAll() {
        links.removeAll(keepingCapacity: true)
        small = QueueEnds()
        main = QueueEnds()
        ghosts.removeAll()
    }

    /// Probation's slots, next to leave first.
    public var probationSlots: [Slot] { slots(of: small) }
    /// The main queue's slots, next to leave first.
    public var mainSlots: [Slot] { slots(of: main) }
    /// How many fingerprints the ghost list holds.
    public var ghostCount: Int { ghosts.count }

    // MARK: - Eviction

    /// Evicts one slot other than `protected`, from the queue S3-FIFO picks; nil when nothing
    /// else is left to evict.
    private mutating func evictOne(protecting protected: Slot) -> EvictionVictim? {
        if main.bytes > limit - smallLimit || small.count == 0 {
            return evictFromMain(protecting: protected) ?? evictFromSmall(protecting: protected)
        }
        return evictFromSmall(protecting: protected) ?? evictFromMain(protecting: protected)
    }

    /// Moves used slots from the back of probation to main until one unused slot can go.
    private mutating func evictFromSmall(protecting protected: Slot) -> EvictionVictim? {
        while small.back >= 0 {
            let slot = Int(small.back)
            if slot == protected {
                // Re-admitted in place (an update): it goes to the front, others go first.
                guard small.count > 1 else { return nil }
                unlink(slot)
                pushFront(slot, into: .small)
                continue
            }
            unlink(slot)
            if links[slot].uses >= promotionThreshold {
                links[slot].uses = 0
                promotions += 1
                pushFront(slot, into: .main)
                continue
            }
            ghosts.insert(links[slot].fingerprint, cost: links[slot].cost)
            links[slot] = Link()
            return EvictionVictim(slot: slot, reason: .probationEnded)
        }
        return nil
    }

    /// Reinserts used slots from the back of main, one use less each, until an unused one goes.
    /// Ends: every pass lowers a use count, and counts are at most 3.
    private mutating func evictFromMain(protecting protected: Slot) -> EvictionVictim? {
        var passed = 0
        while main.back >= 0 {
            let slot = Int(main.back)
            if slot == protected {
                // The protected slot is spared once per queue length; alone, nothing goes.
                guard main.count > 1, passed < main.count * 4 else { return nil }
                unlink(slot)
                pushFront(slot, into: .main)
                passed += 1
                continue
            }
            unlink(slot)
            if links[slot].uses > 0 {
                links[slot].uses -= 1
                pushFront(slot, into: .main)
                continue
            }
            links[slot] = Link()
            return EvictionVictim(slot: slot, reason: .mainAged)
        }
        return nil
    }

    // MARK: - Intrusive lists

    private mutating func pushFront(_ slot: Slot, into queue: Queue) {
        var ends = queue == .small ? small : main
        let id = Int32(slot)
        links[slot].queue = queue
        links[slot].newer = -1
        links[slot].older = ends.front
        if ends.front >= 0 { links[Int(ends.front)].newer = id }
        ends.front = id
        if ends.back < 0 { ends.back = id }
        ends.bytes += links[slot].cost
        ends.count += 1
        if queue == .small { small = ends } else { main = ends }
    }

    private mutating func unlink(_ slot: Slot) {
        let queue = links[slot].queue
        var ends = queue == .small ? small : main
        let newer = links[slot].newer, older = links[slot].older
        if newer >= 0 { links[Int(newer)].older = older } else { ends.front = older }
        if older >= 0 { links[Int(older)].newer = newer } else { ends.back = newer }
        ends.bytes -= links[slot].cost
        ends.count -= 1
        if queue == .small { small = ends } else { main = ends }
        links[slot].newer = -1
        links[slot].older = -1
        links[slot].queue = .none
    }

    private mutating func adjustBytes(of queue: Queue, by delta: Int) {
        if queue == .small { small.bytes += delta } else if queue == .main { main.bytes += delta }
    }

    private func slots(of ends: QueueEnds) -> [Slot] {
        var slots: [Slot] = []
        var cursor = ends.back
        while cursor >= 0 {
            slots.append(Int(cursor))
            cursor = links[Int(cursor)].newer
        }
        return slots
    }
}
