// S3-FIFO on its own, as pure value-type tests: tables of events and the victims they must
// produce (with reasons), ghost hits, promotion, the bound after every admission in a
// randomised run, and the scan case — a key used 30 times outlives one pass of 1,500 one-time
// keys — for the policy alone and through a small memory tier.
@testable import CacheStore
import CachePolicy
import Testing

@Suite("S3-FIFO policy")
struct ThreeQueueFIFOTests {
    /// One event of a table: admit a slot (with a fingerprint) or touch one.
    enum Event {
        case admit(Int, cost: Int, fingerprint: UInt64)
        case touch(Int)
        case remove(Int)
    }

    /// Runs `events`; returns the victims each produced, in order.
    static func run(_ policy: inout ThreeQueueFIFO, _ events: [Event]) -> [[EvictionVictim]] {
        events.map { event in
            switch event {
            case .admit(let slot, let cost, let fingerprint):
                return policy.admit(slot, cost: cost, fingerprint: fingerprint)
            case .touch(let slot):
                policy.touch(slot)
                return []
            case .remove(let slot):
                policy.remove(slot)
                return []
            }
        }
    }

    @Test("a table of events and the victims they produce")
    func eventTable() {
        // Limit 100: probation aims at 10, main at 90. Costs of 10 make the queues easy to follow.
        var policy = ThreeQueueFIFO(limit: 100)
        let probation = EvictionReason.probationEnded, main = EvictionReason.mainAged
        let table: [(Event, [EvictionVictim])] = [
            // Ten slots fill the tier; slot 0 is used twice while in probation.
            (.admit(0, cost: 10, fingerprint: 100), []),
            (.touch(0), []), (.touch(0), []),
            (.admit(1, cost: 10, fingerprint: 101), []), (.admit(2, cost: 10, fingerprint: 102), []),
            (.admit(3, cost: 10, fingerprint: 103), []), (.admit(4, cost: 10, fingerprint: 104), []),
            (.admit(5, cost: 10, fingerprint: 105), []), (.admit(6, cost: 10, fingerprint: 106), []),
            (.admit(7, cost: 10, fingerprint: 107), []), (.admit(8, cost: 10, fingerprint: 108), []),
            (.admit(9, cost: 10, fingerprint: 109), []),
            // The eleventh: slot 0 is promoted to main, slot 1 (unused) leaves probation.
            (.admit(10, cost: 10, fingerprint: 110), [EvictionVictim(slot: 1, reason: probation)]),
            (.admit(11, cost: 10, fingerprint: 111), [EvictionVictim(slot: 2, reason: probation)]),
            // Slot 1's key comes back in slot 1: a ghost hit, straight to main.
            (.admit(1, cost: 10, fingerprint: 101), [EvictionVictim(slot: 3, reason: probation)]),
            (.touch(4), []),
            // Removal is not eviction and leaves no ghost.
            (.remove(5), []),
            (.admit(5, cost: 10, fingerprint: 205), []),
            (.admit(12, cost: 10, fingerprint: 112), [EvictionVictim(slot: 4, reason: probation)]),
        ]
        let victims = Self.run(&policy, table.map(\.0))
        for (index, (expected, got)) in zip(table.map(\.1), victims).enumerated() {
            #expect(got == expected, "event \(index)")
        }
        #expect(policy.ghostHits == 1)
        #expect(policy.promotions == 1)
        #expect(policy.mainSlots == [0, 1])
        #expect(policy.totalCost == 100)
        #expect(policy.count == 10)
    }

    @Test("main gives a used slot another pass, one use less, and evicts the unused")
    func mainReinsertion() {
        // Probation of 0 bytes: every slot reaching its end with two uses goes to main.
        var policy = ThreeQueueFIFO(limit: 30, smallRatio: 0)
        for slot in 0..<3 {
            #expect(policy.admit(slot, cost: 10, fingerprint: UInt64(slot)) == [])
            policy.touch(slot)
            policy.touch(slot)
        }
        // A fourth moves 0, 1 and 2 (two uses each) to main until only the new slot is in
        // probation; main's end, 0, has had no use since and goes.
        #expect(policy.admit(3, cost: 10, fingerprint: 3) == [EvictionVictim(slot: 0, reason: .mainAged)])
        #expect(policy.mainSlots == [1, 2])
        // 1 is used once, 3 twice. A fifth: 3 moves to main; main's end, 1, was used, so it
        // goes round again with no use left, and 2 (unused) goes.
        policy.touch(1)
        policy.touch(3)
        policy.touch(3)
        #expect(policy.admit(4, cost: 10, fingerprint: 4) == [EvictionVictim(slot: 2, reason: .mainAged)])
        #expect(policy.mainSlots == [3, 1])
        #expect(policy.probationSlots == [4])
        #expect(policy.totalCost == 30)
    }

    @Test("the slot admitted or updated is never its own victim, and the bound holds")
    func boundAndProtection() {
        var policy = ThreeQueueFIFO(limit: 100)
        #expect(policy.admit(0, cost: 40, fingerprint: 0) == [])
        #expect(policy.admit(1, cost: 40, fingerprint: 1) == [])
        // Slot 0 grows in place (an update): 1 must go, not 0.
        #expect(policy.admit(0, cost: 90, fingerprint: 0) == [EvictionVictim(slot: 1, reason: .probationEnded)])
        #expect(policy.contains(0))
        #expect(policy.totalCost == 90)
        // Alone and over the limit: nothing else to evict.
        #expect(policy.admit(0, cost: 150, fingerprint: 0) == [])
    }

    @Test("a randomised run keeps the sums, the bound and the ghost limit")
    func randomised() {
        var generator = SeededGenerator(seed: 14)
        var policy = ThreeQueueFIFO(limit: 5_000)
        var tracked: [Int: Int] = [:]
        for _ in 0..<20_000 {
            let slot = Int.random(in: 0..<200, using: &generator)
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<5:
                let cost = Int.random(in: 1...400, using: &generator)
                tracked[slot] = cost
                for victim in policy.admit(slot, cost: cost, fingerprint: UInt64(slot) &* 7919) {
                    #expect(victim.slot != slot)
                    #expect(tracked.removeValue(forKey: victim.slot) != nil)
                }
            case 5..<9: policy.touch(slot)
            default: if policy.remove(slot) { tracked[slot] = nil }
            }
            #expect(policy.totalCost <= 5_000)
        }
        #expect(policy.totalCost == tracked.values.reduce(0, +))
        #expect(policy.count == tracked.count)
        #expect(Set(policy.probationSlots + policy.mainSlots) == Set(tracked.keys))
    }

    @Test("scan case: a slot used 30 times outlives one pass of 1,500 one-time slots")
    func scanResistance() {
        var policy = ThreeQueueFIFO(limit: 100 * 1_000)
        #expect(policy.admit(0, cost: 1_000, fingerprint: 0) == [])
        for _ in 0..<30 { policy.touch(0) }
        for index in 1...1_500 {
            for victim in policy.admit(index, cost: 1_000, fingerprint: UInt64(index)) { #expect(victim.slot != 0) }
        }
        #expect(policy.contains(0))
        // LRU, for contrast, lets the scan flush it.
        var lru = LeastRecentlyUsed(limit: 100 * 1_000)
        _ = lru.admit(0, cost: 1_000)
        for _ in 0..<30 { lru.touch(0) }
        for index in 1...1_500 { _ = lru.admit(index, cost: 1_000) }
        #expect(!lru.contains(0))
    }

    @Test("scan case through a small memory tier: the hot key is still a hit after the scan")
    func scanThroughMemoryTier() {
        let entryCost = StoredEntry(response: makeResponse(key: "hot"), body: bytes(1_000)).cost
        for (eviction, survives) in [(EvictionChoice.threeQueueFIFO, true), (.leastRecentlyUsed, false)] {
            let tier = MemoryTier(capacityBytes: 200 * entryCost, shardCount: 4, eviction: eviction)
            #expect(store(tier, makeResponse(key: "hot"), body: bytes(1_000)))
            for _ in 0..<30 { #expect(tier.variants(for: "hot").count == 1) }
            for index in 0..<1_500 { store(tier, makeResponse(key: "scan-\(index)"), body: bytes(1_000)) }
            #expect((tier.variants(for: "hot").count == 1) == survives, "\(eviction)")
            if eviction == .threeQueueFIFO {
                let usage = tier.usage
                #expect(usage.evictionsByReason[.probationEnded, default: 0] > 1_000)
                #expect(usage.evictions == usage.evictionsByReason.values.reduce(0, +))
            }
        }
    }
}
