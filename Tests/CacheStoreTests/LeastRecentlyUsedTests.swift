// The eviction policy on its own, as pure value-type tests: victims oldest first, never the slot
// just admitted, touch and re-admission reorder, removal re-accounts, and a randomised run
// against a plain array model of the same policy.
@testable import CacheStore
import Testing

@Suite("Least recently used policy")
struct LeastRecentlyUsedTests {
    @Test("admissions under the limit evict nothing and add up their costs")
    func underLimit() {
        var policy = LeastRecentlyUsed(limit: 100)
        #expect(policy.admit(0, cost: 30) == [])
        #expect(policy.admit(1, cost: 30) == [])
        #expect(policy.admit(2, cost: 40) == [])
        #expect(policy.totalCost == 100)
        #expect(policy.count == 3)
        #expect(policy.slotsOldestFirst == [0, 1, 2])
    }

    @Test("going over the limit returns the oldest slots, oldest first")
    func victimsOldestFirst() {
        var policy = LeastRecentlyUsed(limit: 100)
        #expect(policy.admit(0, cost: 40) == [])
        #expect(policy.admit(1, cost: 40) == [])
        #expect(policy.admit(2, cost: 40) == [0])
        #expect(policy.admit(3, cost: 90) == [1, 2])
        #expect(policy.totalCost == 90)
        #expect(policy.slotsOldestFirst == [3])
        #expect(policy.contains(0) == false)
    }

    @Test("the slot just admitted is never its own victim")
    func admittedNeverVictim() {
        var policy = LeastRecentlyUsed(limit: 50)
        #expect(policy.admit(0, cost: 10) == [])
        #expect(policy.admit(1, cost: 80) == [0])
        #expect(policy.contains(1))
        #expect(policy.totalCost == 80)
    }

    @Test("touching a slot saves it from the next eviction")
    func touchSaves() {
        var policy = LeastRecentlyUsed(limit: 100)
        for slot in 0..<3 { #expect(policy.admit(slot, cost: 30) == []) }
        policy.touch(0)
        #expect(policy.slotsOldestFirst == [1, 2, 0])
        #expect(policy.admit(3, cost: 30) == [1])
        policy.touch(42)  // untracked: nothing happens
        #expect(policy.slotsOldestFirst == [2, 0, 3])
    }

    @Test("admitting a tracked slot again takes the new cost and makes it the newest")
    func readmission() {
        var policy = LeastRecentlyUsed(limit: 100)
        #expect(policy.admit(0, cost: 30) == [])
        #expect(policy.admit(1, cost: 30) == [])
        #expect(policy.admit(0, cost: 60) == [])
        #expect(policy.totalCost == 90)
        #expect(policy.count == 2)
        #expect(policy.slotsOldestFirst == [1, 0])
        #expect(policy.admit(2, cost: 20) == [1])
    }

    @Test("remove subtracts the cost and frees the slot for reuse")
    func removal() {
        var policy = LeastRecentlyUsed(limit: 100)
        #expect(policy.admit(0, cost: 30) == [])
        #expect(policy.admit(1, cost: 30) == [])
        #expect(policy.admit(2, cost: 30) == [])
        #expect(policy.remove(1) == true)
        #expect(policy.remove(1) == false)
        #expect(policy.remove(7) == false)
        #expect(policy.totalCost == 60)
        #expect(policy.slotsOldestFirst == [0, 2])
        #expect(policy.admit(1, cost: 10) == [])
        #expect(policy.slotsOldestFirst == [0, 2, 1])
        policy.removeAll()
        #expect(policy.totalCost == 0)
        #expect(policy.count == 0)
        #expect(policy.slotsOldestFirst == [])
        #expect(policy.admit(5, cost: 100) == [])
    }

    @Test("a random run matches a plain array model of least recently used")
    func matchesModel() {
        var policy = LeastRecentlyUsed(limit: 1_000)
        var model: [(slot: Int, cost: Int)] = []  // oldest first
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<5_000 {
            let slot = Int.random(in: 0..<40, using: &generator)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0, 1:
                let cost = Int.random(in: 0..<300, using: &generator)
                model.removeAll { $0.slot == slot }
                model.append((slot, cost))
                var expected: [Int] = []
                while model.reduce(0, { $0 + $1.cost }) > 1_000, model.count > 1 {
                    expected.append(model.removeFirst().slot)
                }
                #expect(policy.admit(slot, cost: cost) == expected)
            case 2:
                if let index = model.firstIndex(where: { $0.slot == slot }) {
                    model.append(model.remove(at: index))
                }
                policy.touch(slot)
            default:
                let wasTracked = model.contains { $0.slot == slot }
                model.removeAll { $0.slot == slot }
                #expect(policy.remove(slot) == wasTracked)
            }
            #expect(policy.slotsOldestFirst == model.map(\.slot))
            #expect(policy.totalCost == model.reduce(0) { $0 + $1.cost })
            #expect(policy.count == model.count)
        }
    }
}
