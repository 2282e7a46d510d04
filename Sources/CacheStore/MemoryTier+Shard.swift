// MemoryTier.Shard: the state of one shard of the memory tier, a plain value mutated only under
// the shard's lock (the tier wraps it in a `NIOLockedValueBox`). Every operation is in-memory
// bookkeeping: no I/O, no waiting, so the lock is held briefly.
//
// Invariants:
// - `nodes[slot]` is non-nil exactly for the slots tracked by `recency` and listed in
//   `slotsByVariant`; free slots are in `freeSlots` and reused before the array grows.
// - `variantKeysByKey[key]` lists each stored variant of `key` once, most recently stored first,
//   and is never empty (the key is removed with its last variant).
// - `recency.totalCost` is the sum of the nodes' costs and never exceeds `capacity` once an
//   operation returns: an entry costing more than `capacity` is never stored.
// - Every stored entry has `response.bodyLength == body.readableBytes`.
import CachePolicy
import NIOCore

extension MemoryTier {
    /// The identity of one variant: primary key plus secondary (Vary) key.
    struct VariantIdentity: Hashable, Sendable {
        var key: String
        var variantKey: String
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
        private var slotsByVariant: [VariantIdentity: LeastRecentlyUsed.Slot] = [:]
        private var variantKeysByKey: [String: [String]] = [:]
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
            guard let variantKeys = variantKeysByKey[key] else { return [] }
            // One lookup per variant, and entries copied out of their nodes, never whole nodes.
            if variantKeys.count == 1 {
                let slot = self.slot(key: key, variantKey: variantKeys[0])
                recency.touch(slot)
                nodes[slot]!.hits += 1
                return [nodes[slot]!.entry]
            }
            let slots = variantKeys.map { slot(key: key, variantKey: $0) }
            // Touch oldest-stored first so the most recently stored ends up most recently used.
            for slot in slots.reversed() {
                recency.touch(slot)
                nodes[slot]!.hits += 1
            }
            return slots.map { nodes[$0]!.entry }
        }

        /// The slot of a variant listed in `variantKeysByKey`, which always has one (and a node
        /// in it: the callers' force-unwraps check that without copying the node).
        private func slot(key: String, variantKey: String) -> LeastRecentlyUsed.Slot {
            guard let slot = slotsByVariant[VariantIdentity(key: key, variantKey: variantKey)]
            else { preconditionFailure("variant index out of step with the slots") }
            return slot
        }

        /// Stores `entry`, replacing the variant with the same key and variant key, and evicts
        /// least recently used entries to make room. Returns false, changing nothing, when the
        /// entry alone costs more than the shard holds.
        mutating func store(_ entry: StoredEntry) -> Bool {
            let cost = entry.cost
            guard cost <= capacity else { return false }
            let identity = VariantIdentity(key: entry.response.key, variantKey: entry.response.variantKey)
            let slot: LeastRecentlyUsed.Slot
            if let existing = slotsByVariant[identity] {
                slot = existing
                nodes[slot] = Node(entry: entry, cost: cost)
                var variantKeys = variantKeysByKey[identity.key] ?? []
                variantKeys.removeAll { $0 == identity.variantKey }
                variantKeys.insert(identity.variantKey, at: 0)
                variantKeysByKey[identity.key] = variantKeys
            } else {
                slot = allocateSlot(for: Node(entry: entry, cost: cost))
                slotsByVariant[identity] = slot
                variantKeysByKey[identity.key, default: []].insert(identity.variantKey, at: 0)
            }
            evict(recency.admit(slot, cost: cost))
            return true
        }

        /// Keeps an encoded head with the variant while it still holds `entry.response`, and
        /// accounts its bytes (which may evict others, never the variant itself).
        mutating func keepEncodedHead(_ head: ByteBuffer, for entry: StoredEntry) {
            let identity = VariantIdentity(key: entry.response.key, variantKey: entry.response.variantKey)
            guard let slot = slotsByVariant[identity], var node = nodes[slot], node.entry.encodedHead == nil,
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
            let identity = VariantIdentity(key: response.key, variantKey: response.variantKey)
            guard let slot = slotsByVariant[identity], let node = nodes[slot] else { return false }
            var updated = response
            updated.bodyLength = node.entry.body.readableBytes
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
                for variantKey in variantKeysByKey[key] ?? [] {
                    guard let slot = slotsByVariant[VariantIdentity(key: key, variantKey: variantKey)], let node = nodes[slot]
                    else { continue }
                    selected.append((slot, PurgedVariant(key: key, variantKey: variantKey, bodyLength: node.entry.body.readableBytes)))
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
            guard let variantKeys = variantKeysByKey[key] else { return 0 }
            for variantKey in variantKeys {
                if let slot = slotsByVariant[VariantIdentity(key: key, variantKey: variantKey)] {
                    recency.remove(slot)
                    discard(slot)
                }
            }
            return variantKeys.count
        }

        /// Removes everything; returns how many entries went. The eviction count is kept.
        mutating func removeAll() -> Int {
            let removed = recency.count
            nodes.removeAll()
            freeSlots.removeAll()
            slotsByVariant.removeAll()
            variantKeysByKey.removeAll()
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
            let identity = VariantIdentity(key: node.entry.response.key, variantKey: node.entry.response.variantKey)
            nodes[slot] = nil
            freeSlots.append(slot)
            slotsByVariant[identity] = nil
            if var variantKeys = variantKeysByKey[identity.key] {
                variantKeys.removeAll { $0 == identity.variantKey }
                variantKeysByKey[identity.key] = variantKeys.isEmpty ? nil : variantKeys
            }
        }
    }
}
