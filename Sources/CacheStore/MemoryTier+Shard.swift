// MemoryTier.Shard: the state of one shard of the memory tier, a plain value mutated only under
// the shard's lock (the tier wraps it in a `NIOLockedValueBox`). Every operation is in-memory
// bookkeeping: no I/O, no waiting, so the lock is held briefly.
//
// Invariants:
// - `objects[slot]` is non-nil exactly for the slots tracked by `policy` and reachable from
//   `buckets`; free slots are in `freeSlots` and reused before the pages grow.
// - `buckets[indexHash(of: key) & (buckets.count - 1)]` (a seeded hash of the key's bytes) is
//   the first slot of a chain, linked through each object's `nextInChain` (-1 ends it, and
//   marks an empty bucket), holding every stored variant of every key hashed there — each
//   exactly once, and a key's variants most recently stored first. A lookup compares the key's
//   bytes. There are never fewer buckets than stored objects (`linked`): the array doubles,
//   every chain relinked in order, before it would be, so a chain holds one object on average.
// - A key and variant key are stored at most once.
// - `policy.totalCost` is the sum of the objects' costs and never exceeds `capacity` once an
//   operation returns: an entry costing more than `capacity` (or 256 MiB) is never stored.
// - Every victim the policy returns is deleted at once and counted under its reason.
import CachePolicy
import NIOCore

extension MemoryTier {
    struct Shard: Sendable {
        /// The most bytes (sum of `StoredEntry.cost`) this shard holds.
        let capacity: Int
        private var objects = SlotPages<PackedResponse>()
        private var freeSlots: [Int32] = []
        private var buckets = [Int32](repeating: -1, count: 64)
        /// Objects in the chains.
        private var linked = 0
        private var policy: any EvictionPolicy
        /// Entries evicted to make room since the shard was created, by reason.
        private(set) var evictionsByReason: [EvictionReason: Int] = [:]
        /// Entries refused because they alone cost more than the shard holds.
        private(set) var admissionRejections = 0

        /// The bits of a key's index hash the index uses: all of them, except in tests that make
        /// every key share one chain.
        private let indexMask: Int

        init(capacity: Int, eviction: EvictionChoice = .threeQueueFIFO, indexMask: Int = -1) {
            self.capacity = capacity
            self.indexMask = indexMask
            policy = eviction.makePolicy(limit: capacity)
        }

        /// The most one object may cost here: the shard's capacity, and at most what an
        /// eviction link holds (`ThreeQueueFIFO.largestCost`, 256 MiB).
        private var largestCost: Int { min(capacity, ThreeQueueFIFO.largestCost) }

        private func indexHash(of key: String) -> Int { PackedResponse.indexHash(of: key) & indexMask }

        private func bucket(of hash: Int) -> Int { hash & (buckets.count - 1) }

        var usage: StorageUsage {
            StorageUsage(
                objects: policy.count, bytes: policy.totalCost, evictions: evictionsByReason.values.reduce(0, +),
                evictionsByReason: evictionsByReason, admissionRejections: admissionRejections,
                ghostHits: policy.ghostHits, promotions: policy.promotions)
        }

        /// The variants of `key`, most recently stored first; each counts as used.
        mutating func variants(for key: String) -> [StoredEntry] {
            var found: [StoredEntry] = []
            // The newest variant's slot, and the older ones' (no allocation for one variant).
            var newest = -1
            var older: [Int] = []
            var slot = Int(buckets[bucket(of: indexHash(of: key))])
            while slot >= 0 {
                let object = objects[slot]!
                if object.hasKey(key) {
                    found.append(StoredEntry(packed: object, key: key))
                    if object.header.hits < .max { object.header.hits += 1 }
                    if newest < 0 { newest = slot } else { older.append(slot) }
                }
                slot = Int(object.header.nextInChain)
            }
            // Touch oldest-stored first so the most recently stored ends up most recently used.
            for slot in older.reversed() { policy.touch(slot) }
            if newest >= 0 { policy.touch(newest) }
            return found
        }

        /// The slots of `key`'s variants, most recently stored first.
        private func slots(of key: String) -> [Int] {
            var slot = Int(buckets[bucket(of: indexHash(of: key))])
            var found: [Int] = []
            while slot >= 0 {
                let object = objects[slot]!
                if object.hasKey(key) { found.append(slot) }
                slot = Int(object.header.nextInChain)
            }
            return found
        }

        /// The slot of a stored variant, if it is stored.
        private func slot(key: String, variantKey: String) -> Int? {
            slots(of: key).first { objects[$0]!.hasVariantKey(variantKey) }
        }

        /// Stores `object` (packed from `response` before the lock was taken), replacing the
        /// variant with the same key and variant key, and evicts what the policy chooses to make
        /// room. Returns false, changing nothing, when it alone costs more than the shard holds.
        mutating func store(_ object: PackedResponse, _ response: StoredResponse) -> Bool {
            guard object.memoryCost <= largestCost else {
                admissionRejections += 1
                return false
            }
            let hash = indexHash(of: response.key)
            let target: Int
            if let existing = slot(key: response.key, variantKey: response.variantKey) {
                unlink(existing, hash: hash)
                objects[existing] = object
                target = existing
            } else {
                target = allocateSlot(for: object)
            }
            link(target, hash: hash)
            admit(target, object, response)
            return true
        }

        /// Counts an entry refused before it reached the shard (too large to pack).
        mutating func refuse() {
            admissionRejections += 1
        }

        /// Puts `kept` (the object `entry` was read from, packed again with an encoded head
        /// before the lock was taken) in its place while that object is still stored, and
        /// accounts the head's bytes (which may evict others, never the variant itself).
        mutating func keepEncodedHead(_ kept: PackedResponse, for entry: StoredEntry) {
            let response = entry.response
            guard let read = entry.unchangedPacked, let slot = slot(key: response.key, variantKey: response.variantKey),
                  let stored = objects[slot], stored === read, kept.memoryCost <= largestCost
            else { return }
            kept.header.hits = read.header.hits
            kept.header.nextInChain = read.header.nextInChain
            kept.header.softPurgedAt = read.header.softPurgedAt
            objects[slot] = kept
            admit(slot, kept, response)
        }

        /// Replaces the metadata of a stored variant, keeping its body, and re-accounts its cost.
        /// Returns false when the variant is absent, or when the new metadata makes it cost more
        /// than the shard holds (it is then removed: keeping it would break the bound).
        mutating func update(_ response: StoredResponse) -> Bool {
            guard let slot = slot(key: response.key, variantKey: response.variantKey), let old = objects[slot] else { return false }
            var updated = response
            updated.bodyLength = old.bodyLength
            guard updated.metadataCost + old.bodyLength <= largestCost, let object = PackedResponse.make(updated, body: old.body) else {
                policy.remove(slot)
                discard(slot)
                return false
            }
            object.header.hits = old.header.hits
            object.header.nextInChain = old.header.nextInChain
            objects[slot] = object
            admit(slot, object, updated)
            return true
        }

        /// Applies `action` to the variants of `key`; returns them.
        mutating func purge(key: String, action: PurgeAction) -> [PurgedVariant] {
            let selected = slots(of: key).map { slot -> Selected in
                let response = objects[slot]!.response(key: key)
                return Selected(slot: slot, object: objects[slot]!,
                                variant: PurgedVariant(key: key, variantKey: response.variantKey, bodyLength: response.bodyLength))
            }
            return apply(action, to: selected)
        }

        /// A purged variant in its slot, as it was when it was matched.
        struct Selected {
            var slot: Int
            var object: PackedResponse
            var variant: PurgedVariant
        }

        /// Applies `action` to `selected` variants whose slots still hold the object that was
        /// matched (one stored since is left alone); returns those.
        mutating func apply(_ action: PurgeAction, to selected: [Selected]) -> [PurgedVariant] {
            let current = selected.filter { selection in
                guard let stored = objects[selection.slot] else { return false }
                return stored === selection.object
            }
            switch action {
            case .count:
                break
            case .remove:
                for selection in current {
                    policy.remove(selection.slot)
                    discard(selection.slot)
                }
            case .markStale(let instant):
                // In place, under this lock: entries already read are copies. The cost does not
                // change: softPurgedAt is a fixed field.
                for selection in current { objects[selection.slot]!.header.softPurgedAt = instant.seconds }
            }
            return current.map(\.variant)
        }

        /// Removes every variant of `key`; returns how many went.
        mutating func remove(key: String) -> Int {
            let slots = slots(of: key)
            for slot in slots {
                policy.remove(slot)
                discard(slot)
            }
            return slots.count
        }

        /// Removes everything; returns how many entries went. The eviction counts are kept.
        mutating func removeAll() -> Int {
            let removed = policy.count
            objects.removeAll()
            freeSlots.removeAll()
            buckets = [Int32](repeating: -1, count: 64)
            linked = 0
            policy.removeAll()
            return removed
        }

        /// Every stored object with what the lock guards of it, in slot order, to be decoded
        /// outside the lock (`StoredObject.response`): a listing or a purge by prefix or tag
        /// holds the lock only to copy references, however many objects there are.
        func storedObjects() -> [StoredObject] {
            var stored: [StoredObject] = []
            stored.reserveCapacity(policy.count)
            objects.forEachOccupied { slot, object in
                stored.append(StoredObject(slot: slot, object: object, softPurgedAt: object.header.softPurgedAt,
                                           hits: Int(object.header.hits)))
            }
            return stored
        }

        /// The `limit` variants with the most hits, most first.
        func hottest(_ limit: Int) -> [(response: StoredResponse, hits: Int)] {
            var best: [(slot: Int, hits: Int)] = []
            objects.forEachOccupied { slot, object in
                let hits = Int(object.header.hits)
                guard limit > 0, best.count < limit || hits > best[best.count - 1].hits else { return }
                let position = best.firstIndex { $0.hits < hits } ?? best.count
                best.insert((slot, hits), at: position)
                if best.count > limit { best.removeLast() }
            }
            return best.compactMap { pick in objects[pick.slot].map { ($0.response(), pick.hits) } }
        }

        private mutating func allocateSlot(for object: PackedResponse) -> Int {
            if let slot = freeSlots.popLast() {
                objects[Int(slot)] = object
                return Int(slot)
            }
            return objects.append(object)
        }

        /// Puts `slot` first in its hash's chain.
        private mutating func link(_ slot: Int, hash: Int) {
            if linked >= buckets.count { doubleBuckets() }
            let bucket = bucket(of: hash)
            objects[slot]!.header.nextInChain = buckets[bucket]
            buckets[bucket] = Int32(slot)
            linked += 1
        }

        /// Takes `slot` out of its hash's chain.
        private mutating func unlink(_ slot: Int, hash: Int) {
            let bucket = bucket(of: hash)
            let next = objects[slot]!.header.nextInChain
            var current = Int(buckets[bucket])
            precondition(current >= 0, "unlinking a slot from an empty bucket")
            linked -= 1
            if current == slot {
                buckets[bucket] = next
                return
            }
            while true {
                let object = objects[current]!
                precondition(object.header.nextInChain >= 0, "unlinking a slot not in its chain")
                if Int(object.header.nextInChain) == slot {
                    object.header.nextInChain = next
                    return
                }
                current = Int(object.header.nextInChain)
            }
        }

        /// Doubles the buckets and relinks every chain, each object appended to its new chain in
        /// the order of its old one (a key's variants stay most recently stored first).
        private mutating func doubleBuckets() {
            var doubled = [Int32](repeating: -1, count: buckets.count * 2)
            var tails = [Int32](repeating: -1, count: doubled.count)
            for head in buckets {
                var slot = Int(head)
                while slot >= 0 {
                    let object = objects[slot]!
                    let next = Int(object.header.nextInChain)
                    let bucket = (object.keyHash & indexMask) & (doubled.count - 1)
                    object.header.nextInChain = -1
                    if tails[bucket] >= 0 {
                        objects[Int(tails[bucket])]!.header.nextInChain = Int32(slot)
                    } else {
                        doubled[bucket] = Int32(slot)
                    }
                    tails[bucket] = Int32(slot)
                    slot = next
                }
            }
            buckets = doubled
        }

        /// Tells the policy about a stored or re-costed slot, then deletes the victims it chose
        /// (it has already stopped tracking them) and counts each under its reason.
        private mutating func admit(_ slot: Int, _ object: PackedResponse, _ response: StoredResponse) {
            let fingerprint = StableHash.fingerprint(key: response.key, variantKey: response.variantKey)
            for victim in policy.admit(slot, cost: object.memoryCost, fingerprint: fingerprint) {
                discard(victim.slot)
                evictionsByReason[victim.reason, default: 0] += 1
            }
        }

        /// Frees a slot and drops it from the index. The caller handles `policy`.
        private mutating func discard(_ slot: Int) {
            guard let object = objects[slot] else { preconditionFailure("discarding an empty slot") }
            unlink(slot, hash: object.keyHash & indexMask)
            objects[slot] = nil
            freeSlots.append(Int32(slot))
        }
    }

    /// A stored object and its bookkeeping as read under its shard's lock.
    struct StoredObject {
        var slot: Int
        var object: PackedResponse
        var softPurgedAt: Double
        var hits: Int

        /// The stored response, decoded without the lock.
        var response: StoredResponse {
            object.response(softPurgedAt: softPurgedAt)
        }
    }
}
