// GrowingBloomFilter, the disk tier's filter of keys it may hold: no hash added is ever answered
// "certainly not", hashes never added are mistaken for present at the rate promised, the chain
// grows by doubling, and its memory stays near two bytes a hash.
@testable import CacheStore
import Testing

@Suite("Growing Bloom filter")
struct GrowingBloomFilterTests {
    /// Distinct pseudo-random hashes: SplitMix64 over a counter, from `start`.
    static func hashes(_ count: Int, from start: UInt64) -> [UInt64] {
        (0..<UInt64(count)).map { GrowingBloomFilter.mix(start &+ $0) }
    }

    @Test("every hash added is answered maybe; of hashes never added, at most about 2% are")
    func noFalseNegatives() {
        var filter = GrowingBloomFilter()
        #expect(!filter.mayContain(42))
        let added = Self.hashes(200_000, from: 0)
        for hash in added { filter.insert(hash) }
        #expect(added.allSatisfy(filter.mayContain))
        let absent = Self.hashes(200_000, from: 1 << 40)
        let mistaken = absent.filter(filter.mayContain).count
        #expect(mistaken > 0)  // a Bloom filter that never errs would be too large
        #expect(Double(mistaken) / Double(absent.count) < 0.02, "\(mistaken) of \(absent.count)")
    }

    @Test("the chain doubles: 16,384 hashes, then 32,768 more, and so on; about two bytes a hash")
    func growth() {
        var filter = GrowingBloomFilter()
        let added = Self.hashes(100_000, from: 7)
        for (index, hash) in added.enumerated() {
            filter.insert(hash)
            if index == 16_383 { #expect(filter.stageCount == 1) }
        }
        // 16,384 + 32,768 + 65,536 ≥ 100,000, less the hashes mistaken for present (not added).
        #expect(filter.stageCount == 3)
        #expect(filter.count <= 100_000 && filter.count > 98_000, "\(filter.count)")
        #expect(filter.byteCount < 2 * 100_000, "\(filter.byteCount) bytes")
        #expect(filter.byteCount > 100_000)
    }

    @Test("adding a hash again takes no room")
    func repeatedInsertions() {
        var filter = GrowingBloomFilter(firstCapacity: 100)
        for hash in Self.hashes(100, from: 3) { filter.insert(hash) }
        let count = filter.count
        for _ in 0..<10 {
            for hash in Self.hashes(100, from: 3) { filter.insert(hash) }
        }
        #expect(filter.count == count)
        #expect(filter.stageCount == 1)
    }
}
