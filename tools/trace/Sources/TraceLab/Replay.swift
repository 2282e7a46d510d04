// Replay: runs a trace through one eviction policy at one capacity and counts misses.
//
// Two ways, both with the real types and the trace's own clock (no sleeping, no sockets):
// - `policy`: the eviction policy value type alone (`LeastRecentlyUsed`, `ThreeQueueFIFO`), one
//   queue set over the whole capacity, an object costing its size — the same model as
//   libCacheSim's, so the two can be compared row for row.
// - `memoryTier`: the real `MemoryTier` (16 shards, the node's default), each object stored as a
//   response whose body is a slice of one shared buffer (no copy), so its cost is its size plus
//   the tier's metadata estimate; what the node itself would do.
// An object larger than what can hold it is a miss and is not admitted, as in libCacheSim.
import CachePolicy
import CacheStore
import NIOCore

struct Outcome: Sendable, Codable {
    var policy: String
    var engine: String
    var capacityBytes: Int
    var capacityShare: Double
    var requests = 0
    var misses = 0
    var requestedBytes = 0
    var missedBytes = 0
    var evictions = 0
    var ghostHits = 0
    var promotions = 0

    var objectMissRatio: Double { requests > 0 ? Double(misses) / Double(requests) : 0 }
    var byteMissRatio: Double { requestedBytes > 0 ? Double(missedBytes) / Double(requestedBytes) : 0 }
}

enum Replay {
    /// The policy type alone, with slots handed out and reused as the memory tier's shards do.
    static func policy(_ trace: Trace, eviction: EvictionChoice, capacityBytes: Int, share: Double) -> Outcome {
        var policy = eviction.makePolicy(limit: capacityBytes)
        var outcome = Outcome(policy: eviction.rawValue, engine: "policy", capacityBytes: capacityBytes, capacityShare: share)
        var slotOfKey: [UInt64: Int] = [:]
        var keyOfSlot: [UInt64] = []
        var freeSlots: [Int] = []
        for request in trace.requests {
            outcome.requests += 1
            outcome.requestedBytes += request.size
            if let slot = slotOfKey[request.key] {
                policy.touch(slot)
                continue
            }
            outcome.misses += 1
            outcome.missedBytes += request.size
            guard request.size <= capacityBytes else { continue }
            let slot: Int
            if let free = freeSlots.popLast() {
                slot = free
                keyOfSlot[slot] = request.key
            } else {
                slot = keyOfSlot.count
                keyOfSlot.append(request.key)
            }
            slotOfKey[request.key] = slot
            for victim in policy.admit(slot, cost: request.size, fingerprint: request.key) {
                slotOfKey[keyOfSlot[victim.slot]] = nil
                freeSlots.append(victim.slot)
                outcome.evictions += 1
            }
        }
        outcome.ghostHits = policy.ghostHits
        outcome.promotions = policy.promotions
        return outcome
    }

    /// The real memory tier, 16 shards.
    static func memoryTier(_ trace: Trace, eviction: EvictionChoice, capacityBytes: Int, share: Double) -> Outcome {
        let tier = MemoryTier(capacityBytes: capacityBytes, shardCount: 16, eviction: eviction)
        var outcome = Outcome(policy: eviction.rawValue, engine: "memory-tier", capacityBytes: capacityBytes, capacityShare: share)
        let largest = trace.requests.map(\.size).max() ?? 0
        let shared = ByteBuffer(repeating: 0, count: largest)
        for request in trace.requests {
            outcome.requests += 1
            outcome.requestedBytes += request.size
            let key = "GET http://trace.lab/\(request.key)"
            if !tier.variants(for: key).isEmpty { continue }
            outcome.misses += 1
            outcome.missedBytes += request.size
            let now = Timestamp(seconds: Double(request.time))
            let response = StoredResponse(
                key: key, variantKey: "", varyFieldNames: [], url: "http://trace.lab/\(request.key)", host: "trace.lab",
                status: 200, fields: [("Cache-Control", "max-age=86400")], requestTime: now, responseTime: now,
                bodyLength: request.size)
            tier.store([StoredEntry(response: response, body: shared.getSlice(at: 0, length: request.size)!)])
        }
        let usage = tier.usage
        outcome.evictions = usage.evictions
        outcome.ghostHits = usage.ghostHits
        outcome.promotions = usage.promotions
        return outcome
    }
}
