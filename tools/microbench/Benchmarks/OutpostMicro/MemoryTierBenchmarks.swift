// The memory tier's LRU: a lookup that hits, a fill committed into a full tier (so every commit
// evicts), and the same mix of lookups and fills run on one thread and split over two threads
// sharing one tier, with its 16 shards and with a single shard (every operation on one lock).
import Benchmark
import CachePolicy
import CacheStore
import NIOCore

/// What a benchmark's setup prepares for its closure. Written by setup and teardown only,
/// never while the closure runs.
final class State<Value>: @unchecked Sendable {
    var value: Value?
}

/// Entries held by the populated tiers.
let memoryEntries = 10_000

func memoryTierBenchmarks() {
    let tier = State<MemoryTier>()
    let responses = State<[[StoredResponse]]>()
    let bodies = State<[ByteBuffer]>()
    let keys = (0..<memoryEntries).map(Fixtures.key)
    let populate: (_ capacity: Int, _ shards: Int) -> @Sendable () async throws -> Void = { capacity, shards in
        {
            // One set of stored responses (and body) per thread, built separately, so the threads
            // share only what the tier itself shares, not the benchmark's strings and buffers.
            let stored = (0..<2).map { _ in (0..<memoryEntries).map(Fixtures.storedResponse) }
            let memory = MemoryTier(capacityBytes: capacity, shardCount: shards)
            for response in stored[0] {
                let fill = memory.beginFill(response)
                fill.append(Fixtures.body)
                fill.commit()
            }
            responses.value = stored
            bodies.value = (0..<2).map { _ in Fixtures.makeBody() }
            tier.value = memory
        }
    }
    let teardown: @Sendable () async throws -> Void = {
        tier.value = nil
        responses.value = nil
        bodies.value = nil
    }
    let room = 64 << 20  // holds all 10,000 entries

    var next = 0
    Benchmark(
        "MemoryTier: variants(for:) hit, 10,000 entries",
        closure: { benchmark in
            let memory = tier.value!
            for _ in benchmark.scaledIterations {
                next = (next &+ 7_919) % memoryEntries
                blackHole(memory.variants(for: keys[next]))
            }
        }, setup: populate(room, 16), teardown: teardown)

    Benchmark(
        "MemoryTier: fill + commit, full tier (evicts)",
        closure: { benchmark in
            let memory = tier.value!, stored = responses.value![0]
            for _ in benchmark.scaledIterations {
                next = (next &+ 7_919) % memoryEntries
                let fill = memory.beginFill(stored[next])
                fill.append(Fixtures.body)
                blackHole(fill.commit())
            }
        }, setup: populate(room / 4, 16), teardown: teardown)

    // The mixed workload: one fill in sixteen operations, lookups otherwise, over keys picked by a
    // per-thread LCG.
    let operations = 20_000
    let mix: @Sendable (MemoryTier, [StoredResponse], ByteBuffer, Int, Int) -> Void = { memory, stored, body, count, seed in
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        for _ in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let index = Int(truncatingIfNeeded: state >> 33) % memoryEntries
            if state >> 60 == 0 {  // one in sixteen
                let fill = memory.beginFill(stored[index])
                fill.append(body)
                blackHole(fill.commit())
            } else {
                blackHole(memory.variants(for: stored[index].key))
            }
        }
    }
    let mixed = Benchmark.Configuration(scalingFactor: .one, maxIterations: 1_000)

    Benchmark(
        "MemoryTier: 20,000 mixed ops, 1 thread", configuration: mixed,
        closure: { _ in
            mix(tier.value!, responses.value![0], bodies.value![0], operations, 1)
        }, setup: populate(room, 16), teardown: teardown)

    Benchmark(
        "MemoryTier: 20,000 mixed ops, 2 threads, 16 shards", configuration: mixed,
        closure: { _ in
            let memory = tier.value!, stored = responses.value!, body = bodies.value!
            Fixtures.onThreads(2) { thread in mix(memory, stored[thread], body[thread], operations / 2, thread + 1) }
        }, setup: populate(room, 16), teardown: teardown)

    Benchmark(
        "MemoryTier: 20,000 mixed ops, 2 threads, 1 shard", configuration: mixed,
        closure: { _ in
            let memory = tier.value!, stored = responses.value!, body = bodies.value!
            Fixtures.onThreads(2) { thread in mix(memory, stored[thread], body[thread], operations / 2, thread + 1) }
        }, setup: populate(room, 1), teardown: teardown)
}
