// The microbenchmark suite's entry point: the harness (ordo-one/benchmark) runs every
// benchmark registered here. Each group lives in its own file; the fixtures they share are in
// Fixtures.swift.
import Benchmark

let benchmarks: @Sendable () -> Void = {
    // Short runs: the whole suite takes about a minute and a half. The malloc count comes from the
    // harness's malloc interposer. Fast operations run a thousand times per sample
    // (`scalingFactor: .kilo`) so the harness's own cost per sample does not count; figures
    // marked * are per operation.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(1),
        maxIterations: 10_000
    )
    policyBenchmarks()
    keyBenchmarks()
    memoryTierBenchmarks()
    diskTierBenchmarks()
}
