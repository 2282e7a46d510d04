// MemoryTier.Shard: the state of one shard of the memory tier, a plain value mutated only under
// the shard's lock (the tier wraps it in a `NIOLockedValueBox`). Every operation is in-memory
// bookkeeping: no I/O, no waiting, so the lock is held briefly.
//
// Invariants:
// - `nodes[slot]` is non-nil exactly for the slots tracked by `recency` and listed in
//   `variantsByKey`; free slots are in `freeSlots` and reused before the array grows.
// - `variantsByKey[key]` lists each stored variant of `key` once with its slot, most recently
//   stored first, and is never empty (the key is removed with its last variant). One dictionary,
//   so a lookup hashes the key once, and a key with one variant allocates nothing beside it.
// - `recency.totalCost` is the sum of the nodes' costs and never exceeds `capacity` once an
//   operation returns: an entry costing more than `capacity` is never stored.
// - Every stored entry has `response.bodyLength == body.readableBytes`.
import CachePolicy
import NIOCore

extension MemoryTier {
    /// One stored variant of a key: its secondary (Vary) key and its slot.
    struct VariantSlot: Sendable {
        var variantKey: String
        var slot: LeastRecentlyUsed.Slot
    }

    /// The variants of one primary key, most recently stored first; never empty.
    struct VariantSlots: Sendable {
        private(set) var newest: VariantSlot
        /// Empty (no allocation) for the usual key with one variant.
        private(set) var older: [VariantSlot] = []

        init(_ newest: VariantSlot) { self.newest = newest }

        var all: [VariantSlot] { [newest] + older }

        func slot(for variantKey: String) -> LeastRecentlyUsed.Slot? {
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
        private var nodes: [Node?] = []
        private var freeSlots: [LeastRecentlyUsed.Slot] = []
        private var variantsByKey: [String: VariantSlots] = [:]
        private var recency: LeastRecentlyUsed
        /// Entries evicted to make room, since the shard was created.
        private(set) var evictions = 0

        init(capacity: Int) {
            self.capacity = capacity
            recency = LeastRecentlyUsed(limit: capacity)
        }

        var usage: StorageUsage {
            StorageUsage(objects: recency.count, bytes: recency.totalCost, evictions: evictions)
        }

        /// The variants of `key`, most recently stored first; each counts as used.
        mutating func variants(for key: String) -> [StoredEntry] {
            guard let variants = variantsByKey[key] else { return [] }
            // Entries are copied out of their nodes, never whole nodes.
            if variants.older.isEmpty {
                let slot = variants.newest.slot
                recency.touch(slot)
                nodes[slot]!.hits += 1
                return [nodes[slot]!.entry]
            }
            let slots = variants.all.map(\.slot)
            // Touch oldest-stored first so the most recently stored ends up most recently used.
            for slot in slots.reversed() {
                recency.touch(slot)
                nodes[slot]!.hits += 1
            }
            return slots.map { nodes[$0]!.entry }
        }

        /// The slot of a stored variant, if it is stored.
        private func slot(key: String, variantKey: String) -> LeastRecentlyUsed.Slot? {
            variantsByKey[key]?.slot(for: variantKey)
        }

        /// Stores `entry`, replacing the variant with the same key and variant key, and evicts
        /// least recently used entries to make room. Returns false, changing nothing, when the
        /// entry alone costs more than the shard holds.
        mutating func store(_ entry: StoredEntry) -> Bool {
            let cost = entry.cost
            guard cost <= capacity else { return false }
            let key = entry.response.key, variantKey = entry.response.variantKey
            let slot: LeastRecentlyUsed.Slot
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
            evict(recency.admit(slot, cost: cost))
            return true
        }

        /// Keeps an encoded head with the variant while it still holds `entry.response`, and
        /// accounts its bytes (which may evict others, never the variant itself).
        mutating func keepEncodedHead(_ head: ByteBuffer, for entry: StoredEntry) {
            guard let slot = slot(key: entry.response.key, variantKey: entry.response.variantKey), var node = nodes[slot],
                  node.entry.encodedHead == nil,
                  node.entry.response == entry.response, node.cost + head.readableBytes <= capacity
            else { return }
            node.entry.encodedHead = head
            node.cost = node.entry.cost
            nodes[slot] = node
            evict(recency.admit(slot, cost: node.cost))
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
                recency.remove(slot)
                discard(slot)
                return false
            }
            nodes[slot] = Node(entry: entry, cost: cost, hits: node.hits)
            evict(recency.admit(slot, cost: cost))
            return true
        }

        /// Applies `action` to every variant `selection` matches; returns them.
        mutating func purge(_ selection: PurgeSelection, action: PurgeAction) -> [PurgedVariant] {
            var selected: [(slot: LeastRecentlyUsed.Slot, variant: PurgedVariant)] = []
            if case .key(let key) = selection {
                for variant in variantsByKey[key]?.all ?? [] {
                    guard let node = nodes[variant.slot] else { continue }
                    selected.append((variant.slot, PurgedVariant(key: key, variantKey: variant.variantKey,
                                                                 bodyLength: node.entry.body.readableBytes)))
                }
            } else {
                for (slot, node) in nodes.enumerated() {
                    guard let node, selection.matches(node.entry.response) else { continue }
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
                    recency.remove(slot)
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
                recency.remove(variant.slot)
                discard(variant.slot)
            }
            return variants.count
        }

        /// Removes everything; returns how many entries went. The eviction count is kept.
        mutating func removeAll() -> Int {
            let removed = recency.count
            nodes.removeAll()
            freeSlots.removeAll()
            variantsByKey.removeAll()
            recency.removeAll()
            return removed
        }

        /// The metadata of every stored variant, in slot order.
        func responses() -> [StoredResponse] {
            nodes.compactMap { $0?.entry.response }
        }

        /// The `limit` variants with the most hits, most first.
        func hottest(_ limit: Int) -> [(response: StoredResponse, hits: Int)] {
            var best: [(slot: Int, hits: Int)] = []
            for (slot, node) in nodes.enumerated() {
                guard let node, best.count < limit || node.hits > best[best.count - 1].hits else { continue }
                let position = best.firstIndex { $0.hits < node.hits } ?? best.count
                best.insert((slot, node.hits), at: position)
                if best.count > limit { best.removeLast() }
            }
            return best.compactMap { pick in nodes[pick.slot].map { ($0.entry.response, pick.hits) } }
        }

        /// Every stored variant's metadata with its hits since stored, in slot order.
        func responsesWithHits() -> [(response: StoredResponse, hits: Int)] {
            nodes.compactMap { node in node.map { ($0.entry.response, $0.hits) } }
        }

        private mutating func allocateSlot(for node: Node) -> LeastRecentlyUsed.Slot {
            if let slot = freeSlots.popLast() {
                nodes[slot] = node
                return slot
            }
            nodes.append(node)
            return nodes.count - 1
        }

        /// Deletes the victims the policy chose; it has already stopped tracking them.
        private mutating func evict(_ victims: [LeastRecentlyUsed.Slot]) {
            for victim in victims { discard(victim) }
            evictions += victims.count
        }

        /// Frees a slot and drops it from both indexes. The caller handles `recency`.
        private mutating func discard(_ slot: LeastRecentlyUsed.Slot) {
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
