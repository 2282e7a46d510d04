// The disk tier's SQLite index: `variants(for:)` on an index of 10,000 entries, for a key it
// holds (index read, then the 1 KiB body read and checked) and one it does not (the index read
// alone, what every memory miss pays first); and fills committed, one at a time and 64 at once
// from 8 threads, where the group commit writes them in shared transactions, and a batch of 64
// stores in one call (the node's disk writer under a miss load). Every method
// blocks on SQLite and file I/O, which is what is measured. The tier lives in a new directory
// under $OUTPOST_MICROBENCH_DIR (default: the system's temporary directory), removed afterwards.
import Benchmark
import CachePolicy
import CacheStore
import Foundation

let diskEntries = 10_000

func diskTierBenchmarks() {
    let tier = State<DiskTier>()
    let directory = State<String>()
    let keys = (0..<diskEntries).map(Fixtures.key)

    let setup: @Sendable () async throws -> Void = {
        let base = ProcessInfo.processInfo.environment["OUTPOST_MICROBENCH_DIR"] ?? NSTemporaryDirectory()
        let path = (base as NSString).appendingPathComponent("outpost-microbench-\(UUID().uuidString)")
        let disk = try DiskTier(directory: path, capacityBytes: 1 << 30)
        // Four writers, so the group commit batches the population.
        Fixtures.onThreads(4) { thread in
            for index in stride(from: thread, to: diskEntries, by: 4) { Fixtures.fill(disk, index) }
        }
        precondition(disk.usage.objects == diskEntries, "the disk tier was not populated")
        directory.value = path
        tier.value = disk
    }
    let teardown: @Sendable () async throws -> Void = {
        tier.value = nil
        if let path = directory.value { try? FileManager.default.removeItem(atPath: path) }
        directory.value = nil
    }
    let lookups = Benchmark.Configuration(scalingFactor: .one, maxIterations: 20_000)
    let fills = Benchmark.Configuration(scalingFactor: .one, maxIterations: 2_000)

    var next = 0
    Benchmark(
        "DiskTier: variants(for:) hit, 10,000 entries", configuration: lookups,
        closure: { benchmark in
            let disk = tier.value!
            for _ in benchmark.scaledIterations {
                next = (next &+ 7_919) % diskEntries
                blackHole(disk.variants(for: keys[next]))
            }
        }, setup: setup, teardown: teardown)

    Benchmark(
        "DiskTier: variants(for:) miss, 10,000 entries", configuration: lookups,
        closure: { benchmark in
            let disk = tier.value!
            for _ in benchmark.scaledIterations {
                next = (next &+ 7_919) % diskEntries
                blackHole(disk.variants(for: keys[next] + "?absent"))
            }
        }, setup: setup, teardown: teardown)

    // New keys each time, above those of the population.
    let fresh = Counter(start: diskEntries)
    Benchmark(
        "DiskTier: 1 fill committed, 1 thread", configuration: fills,
        closure: { _ in
            blackHole(Fixtures.fill(tier.value!, fresh.take(1)))
        }, setup: setup, teardown: teardown)

    // What the node's disk writer does under a miss load: the stores waiting, written in one go.
    Benchmark(
        "DiskTier: store(_:) of 64 responses of 1 KiB (one batch)", configuration: fills,
        closure: { _ in
            let first = fresh.take(64)
            let entries = (first..<first + 64).map { StoredEntry(response: Fixtures.storedResponse($0), body: Fixtures.body) }
            blackHole(tier.value!.store(entries))
        }, setup: setup, teardown: teardown)

    Benchmark(
        "DiskTier: 64 fills committed, 8 threads (group commit)", configuration: fills,
        closure: { _ in
            let disk = tier.value!
            let first = fresh.take(64)
            Fixtures.onThreads(8) { thread in
                for index in stride(from: first + thread, to: first + 64, by: 8) { Fixtures.fill(disk, index) }
            }
        }, setup: setup, teardown: teardown)
}

/// Hands out ranges of fresh indices.
final class Counter: @unchecked Sendable {
    private var next: Int
    init(start: Int) { next = start }
    /// The first of `count` indices not handed out before. Called from the benchmark's thread only.
    func take(_ count: Int) -> Int {
        defer { next += count }
        return next
    }
}
