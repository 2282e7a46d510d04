// GrowingBloomFilter: a set of 64-bit hashes that answers "maybe" or "certainly not", in a
// couple of bytes per hash, however many are added — a scalable Bloom filter (Almeida, Baquero,
// Preguiça and Hutchison, "Scalable Bloom Filters", Information Processing Letters, 2007).
//
// It is a chain of plain Bloom filters. Additions go to the last one; once that one holds its
// capacity, a new one follows with twice the capacity and half the false-positive rate, so the
// rates add up to at most twice the first one's (2%) whatever the count, and each filter costs
// 10–20 bits per hash it holds. Nothing is ever removed; a hash answered "maybe" already is not
// added again, so re-adding takes no room.
//
// Invariants: a hash once inserted is always answered "maybe" (no false negatives); a hash never
// inserted is answered "maybe" with a probability of at most about 2%; memory grows with the
// count (about 1.6 bytes a hash at 100,000, 2.2 at 1,000,000), never with a capacity set ahead.
import Foundation

struct GrowingBloomFilter: Sendable {
    /// One plain Bloom filter of `capacity` hashes, with `probes` bits set per hash.
    private struct Stage: Sendable {
        var words: [UInt64]
        let bitCount: UInt64
        let probes: Int
        let capacity: Int
        let seed: UInt64
        var count = 0

        init(capacity: Int, falsePositiveRate: Double, seed: UInt64) {
            // The optimal sizes: m = -n ln p / (ln 2)², k = -log2 p.
            let bits = max(64, Int((-Double(capacity) * log(falsePositiveRate) / (M_LN2 * M_LN2)).rounded(.up)))
            words = [UInt64](repeating: 0, count: (bits + 63) / 64)
            bitCount = UInt64(bits)
            probes = max(1, Int((-log2(falsePositiveRate)).rounded()))
            self.capacity = capacity
            self.seed = seed
        }

        /// The bit positions of `hash` (double hashing over a mixed hash, Kirsch and Mitzenmacher).
        private func positions(of hash: UInt64) -> some Sequence<Int> {
            let mixed = GrowingBloomFilter.mix(hash ^ seed)
            let first = mixed >> 32, step = (mixed & 0xffff_ffff) | 1
            let bitCount = bitCount
            return (0..<UInt64(probes)).lazy.map { probe in
                // Multiply-shift reduction of a 32-bit value to 0..<bitCount.
                Int((((first &+ probe &* step) & 0xffff_ffff) &* bitCount) >> 32)
            }
        }

        mutating func insert(_ hash: UInt64) {
            for position in positions(of: hash) { words[position >> 6] |= 1 << UInt64(position & 63) }
            count += 1
        }

        func mayContain(_ hash: UInt64) -> Bool {
            positions(of: hash).allSatisfy { words[$0 >> 6] & (1 << UInt64($0 & 63)) != 0 }
        }

        var byteCount: Int { words.count * 8 }
    }

    private var stages: [Stage] = []
    private let firstCapacity: Int
    private let firstFalsePositiveRate: Double

    /// - Parameters:
    ///   - firstCapacity: hashes the first filter holds (each next one holds twice as many).
    ///   - falsePositiveRate: the first filter's rate; the whole chain's stays under twice it.
    init(firstCapacity: Int = 16_384, falsePositiveRate: Double = 0.01) {
        precondition(firstCapacity > 0 && falsePositiveRate > 0 && falsePositiveRate < 1, "parameters out of range")
        self.firstCapacity = firstCapacity
        firstFalsePositiveRate = falsePositiveRate
    }

    /// Hashes added (not counting those already answered "maybe").
    var count: Int { stages.reduce(0) { $0 + $1.count } }

    /// The bytes the filters hold.
    var byteCount: Int { stages.reduce(0) { $0 + $1.byteCount } }

    /// How many filters the chain has.
    var stageCount: Int { stages.count }

    /// Adds `hash` unless the chain already answers "maybe" for it (so a hash added again, or
    /// one the chain mistakes for present, takes no room).
    mutating func insert(_ hash: UInt64) {
        guard !mayContain(hash) else { return }
        if stages.isEmpty || stages[stages.count - 1].count >= stages[stages.count - 1].capacity {
            let index = stages.count
            stages.append(Stage(
                capacity: firstCapacity << min(index, 40),
                falsePositiveRate: firstFalsePositiveRate / Double(1 << min(index, 40)),
                seed: Self.mix(UInt64(index) &+ 0x9e37_79b9_7f4a_7c15)))
        }
        stages[stages.count - 1].insert(hash)
    }

    func mayContain(_ hash: UInt64) -> Bool {
        stages.contains { $0.mayContain(hash) }
    }

    /// SplitMix64's finaliser: spreads every input bit over the output.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
