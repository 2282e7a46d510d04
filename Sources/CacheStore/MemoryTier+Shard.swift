// MemoryTier.Shard: the state of one shard of the memory tier, a plain value mutated only under
// the shard's lock (the tier wraps it in a `NIOLockedValueBox`). Every operation is in-memory
// bookkeeping: no I/O, no waiting, so the lock is held briefly.
//
// Invariants:
// - `nodes[slot]` is non-nil exactly for the slots tracked by `policy` and listed in
//   `variantsByKey`; free slots are in `freeSlots` and reused before the array grows.
// - `variantsByKey[key]` lists each stored variant of `key` once with its slot, most recently
//   stored first, and is never empty (the key is removed with its last variant). One dictionary,
//   so a lookup hashes the key once, and a key with one variant allocates nothing beside it.
// - `policy.totalCost` is the sum of the nodes' costs and never exceeds `capacity` once an
//   operation returns: an entry costing more than `capacity` is never stored.
// - Every victim the policy returns is deleted at once and counted under its reason.
// - Every stored entry has `response.bodyLength == body.readableBytes`.
import CachePolicy
import NIOCore

extension MemoryTier {
    /// One stored variant of a key: its secondary (Vary) key and its slot.
    struct VariantSlot: Sendable {
        var variantKey: String
        var slot: Int
    }

    /// The variants of one primary key, most recently stored first; never empty.
    struct VariantSlots: Sendable {
        private(set) var newest: VariantSlot
        /// Empty (no allocation) for the usual key with one variant.
        private(set) var older: [VariantSlot] = []

        init(_ newest: VariantSlot) { self.newest = newest }

        var all: [VariantSlot] { [newest] + older }

        func slot(for variantKey: String) -> Int? {
            if newest.variantKey == variantKey { return newest.slot }
            return older.first { $0.variantKey == variantKey }?.slot
        }

        /// Puts `variant` first, replacing the entry with its variant key if there is one.
        mutating func storeNewest(_ variant: VariantSlot) {
            if newest.variantKey == variant.variantKey {
                newest = variant
                return
            }
            older.removeAll { $0.variantKey == variant.variantKey }
            older.insert(newest, at: 0)
            newest = variant
        }

        /// Removes `variantKey`; false when no variant is left (the caller drops the key).
        mutating func remove(_ variantKey: String) -> Bool {
            if newest.variantKey == variantKey {
                guard !older.isEmpty else { return false }
                newest = older.removeFirst()
            } else {
                older.removeAll { $0.variantKey == variantKey }
            }
            return true
        }
    }

    /// One stored variant in its slot.
    struct Node: Sendable {
        var entry: StoredEntry
        var cost: Int
        /// Lookups of its key since it was stored (for the hottest keys in /stats).
        var hits = 0
    }

    struct Shard: Sendable {
        /// The most bytes (sum of `StoredEntry.cost`) this shard holds.
        let capacity: Int
        private var nodes = SlotPages<Node>()
        private var freeSlots: [Int] = []
        private var variantsByKey: [String: VariantSlots] = [:]
        private var policy: any EvictionPolicy
        /// Entries evicted to make room since the shard was created, by reason.
        private(set) var evictionsByReason: [EvictionReason: Int] = [:]
        /// Entries refused because they alone cost more than the shard holds.
        private(set) var admissionRejections = 0

        init(capacity: Int, eviction: EvictionChoice = .threeQueueFIFO) {
            self.capacity = capacity
            policy = eviction.makePolicy(limit: capacity)
        }

        var usage: StorageUsage {
            StorageUsage(
                objects: policy.count, bytes: policy.totalCost, evictions: evictionsByReason.values.reduce(0, +),
                evictionsByReason: evictionsByReason, admissionRejections: admissionRejections,
                ghostHits: policy.ghostHits, promotions: policy.promotions)
        }

        /// The variants of `key`, most recently stored first; each counts as used.
        mutating func variants(for key: String) -> [StoredEntry] {
            guard let variants = variantsByKey[key] else { return [] }
            // Entries are copied out of their nodes, never whole nodes.
            if variants.older.isEmpty {
                let slot = variants.newest.slot
                policy.touch(slot)
                nodes[slot]!.hits += 1
                return [nodes[slot]!.entry]
            }
            let slots = variants.all.map(\.slot)
            // Touch oldest-stored first so the most recently stored ends up most recently used.
            for slot in slots.reversed() {
                policy.touch(slot)
                nodes[slot]!.hits += 1
            }
            return slots.map { nodes[$0]!.entry }
        }

        /// The slot of a stored variant, if it is stored.
        private func slot(key: String, variantKey: String) -> Int? {
            variantsByKey[key]?.slot(for: variantKey)
        }

        /// Stores `entry`, replacing the variant with the same key and variant key, and evicts
        /// what the policy chooses to make room. Returns false, changing nothing, when the
        /// entry alone costs more than the shard holds.
        mutating func store(_ entry: StoredEntry) -> Bool {
            let cost = entry.cost
            guard cost <= capacity else {
                admissionRejections += 1
                return false
            }
            let key = entry.response.key, variantKey = entry.response.variantKey
            let slot: Int
            if let existing = self.slot(key: key, variantKey: variantKey) {
                slot = existing
                nodes[slot] = Node(entry: entry, cost: cost)
            } else {
                slot = allocateSlot(for: Node(entry: entry, cost: cost))
            }
            let variant = VariantSlot(variantKey: variantKey, slot: slot)
            if variantsByKey[key] != nil {
                variantsByKey[key]!.storeNewest(variant)
            } else {
                variantsByKey[key] = VariantSlots(variant)
            }
            admit(slot, cost: cost, entry.response)
            return true
        }

        /// Keeps `entry.encodedHead` (and `entry.body`, the same bytes, perhaps moved into the
        /// head's buffer) with the variant while it still holds `entry.response`, and accounts the
        /// head's bytes (which may evict others, never the variant itself).
        mutating func keepEncodedHead(_ entry: StoredEntry) {
            guard let head = entry.encodedHead,
                  let slot = slot(key: entry.response.key, variantKey: entry.response.variantKey), var node = nodes[slot],
                  node.entry.encodedHead == nil, node.entry.body.readableBytes == entry.body.readableBytes,
                  node.entry.response == entry.response, node.cost + head.readableBytes <= capacity
            else { return }
            node.entry.encodedHead = head
            node.entry.body = entry.body
            node.cost = node.entry.cost
            nodes[slot] = node
            admit(slot, cost: node.cost, node.entry.response)
        }

        /// Replaces the metadata of a stored variant, keeping its body, and re-accounts its cost.
        /// Returns false when the variant is absent, or when the new metadata makes it cost more
        /// than the shard holds (it is then removed: keeping it would break the bound).
        mutating func update(_ response: StoredResponse) -> Bool {
            guard let slot = slot(key: response.key, variantKey: response.variantKey), let node = nodes[slot] else { return false }
            var updated = response
            updated.bodyLength = node.entry.body.readableBytes
            updated.fields = updated.fields.compacted()
            let entry = StoredEntry(response: updated, body: node.entry.body)
            let cost = entry.cost
            guard cost <= capacity else {
                policy.remove(slot)
                discard(slot)
                return false
            }
            nodes[slot] = Node(entry: entry, cost: cost, hits: node.hits)
            admit(slot, cost: cost, entry.response)
            return true
        }

        /// Applies `action` to every variant `selection` matches; returns them.
        mutating func purge(_ selection: PurgeSelection, action: PurgeAction) -> [PurgedVariant] {
            var selected: [(slot: Int, variant: PurgedVariant)] = []
            if case .key(let key) = selection {
                for variant in variantsByKey[key]?.all ?? [] {
                    guard let node = nodes[variant.slot] else { continue }
                    selected.append((variant.slot, PurgedVariant(key: key, variantKey: variant.variantKey,
                                                                 bodyLength: node.entry.body.readableBytes)))
                }
            } else {
                nodes.forEachOccupied { slot, node in
                    guard selection.matches(node.entry.response) else { return }
                    let response = node.entry.response
                    selected.append((slot, PurgedVariant(key: response.key, variantKey: response.variantKey,
                                                         bodyLength: node.entry.body.readableBytes)))
                }
            }
            switch action {
            case .count:
                break
            case .remove:
                for (slot, _) in selected {
                    policy.remove(slot)
                    discard(slot)
                }
            case .markStale(let instant):
                // The cost does not change: softPurgedAt is a fixed-size field.
                for (slot, _) in selected { nodes[slot]?.entry.response.softPurgedAt = instant }
            }
            return selected.map(\.variant)
        }

        /// Removes every variant of `key`; returns how many went.
        mutating func remove(key: String) -> Int {
            guard let variants = variantsByKey[key]?.all else { return 0 }
            for variant in variants {
                policy.remove(variant.slot)
                discard(variant.slot)
            }
            return variants.count
        }

        /// Removes everything; returns how many entries went. The eviction counts are kept.
        mutating func removeAll() -> Int {
            let removed = policy.count
            nodes.removeAll()
            freeSlots.removeAll()
            variantsByKey.removeAll()
            policy.removeAll()
            return removed
        }

        /// The metadata of every stored variant, in slot order.
        func responses() -> [StoredResponse] {
            var responses: [StoredResponse] = []
            nodes.forEachOccupied { _, node in responses.append(node.entry.response) }
            return responses
        }

        /// The `limit` variants with the most hits, most first.
        func hottest(_ limit: Int) -> [(response: StoredResponse, hits: Int)] {
            var best: [(slot: Int, hits: Int)] = []
            nodes.forEachOccupied { slot, node in
                guard limit > 0, best.count < limit || node.hits > best[best.count - 1].hits else { return }
                let position = best.firstIndex { $0.hits < node.hits } ?? best.count
                best.insert((slot, node.hits), at: position)
                if best.count > limit { best.removeLast() }
            }
            return best.compactMap { pick in nodes[pick.slot].map { ($0.entry.response, pick.hits) } }
        }

        /// Every stored variant's metadata with its hits since stored, in slot order.
        func responsesWithHits() -> [(response: StoredResponse, hits: Int)] {
            var responses: [(response: StoredResponse, hits: Int)] = []
            nodes.forEachOccupied { _, node in responses.append((node.entry.response, node.hits)) }
            return responses
        }

        private mutating func allocateSlot(for node: Node) -> Int {
            if let slot = freeSlots.popLast() {
                nodes[slot] = node
                return slot
            }
            return nodes.append(node)
        }

        /// Tells the policy about a stored or re-costed slot, then deletes the victims it chose
        /// (it has already stopped tracking them) and counts each under its reason.
        private mutating func admit(_ slot: Int, cost: Int, _ response: StoredResponse) {
            let fingerprint = StableHash.fingerprint(key: response.key, variantKey: response.variantKey)
            for victim in policy.admit(slot, cost: cost, fingerprint: fingerprint) {
                discard(victim.slot)
                evictionsByReason[victim.reason, default: 0] += 1
            }
        }

        /// Frees a slot and drops it from both indexes. The caller handles `policy`.
        private mutating func discard(_ slot: Int) {
            guard let node = nodes[slot] else { preconditionFailure("discarding an empty slot") }
            let key = node.entry.response.key
            nodes[slot] = nil
            freeSlots.append(slot)
            if variantsByKey[key]?.remove(node.entry.response.variantKey) == false {
                variantsByKey[key] = nil
            }
        }
    }
}
