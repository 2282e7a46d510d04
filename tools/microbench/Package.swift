// swift-tools-version:6.1
// Outpost's microbenchmarks: the per-request policy, key normalisation, the memory tier's LRU and
// the disk tier's SQLite index, measured with ordo-one/benchmark (formerly package-benchmark). A package of its own so
// the node's build and tests never depend on the harness; it uses the node's library product
// `OutpostCore` through a path dependency on the repository root.
import PackageDescription

let package = Package(
    name: "outpost-microbench",
    platforms: [.macOS(.v14)],
    dependencies: [
        // Named, so the product reference holds whatever the checkout directory is called.
        .package(name: "outpost", path: "../.."),
        // Already in the node's graph; named here because the fills take NIOCore's ByteBuffer.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        // Only the MallocInterposer trait: the default set adds RuntimeInterposer, which on Linux
        // with Swift 6.3 pulls in ordo-one/swift-runtime-interposer (ARC counters we do not use).
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1",
                 traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "OutpostMicro",
            dependencies: [
                .product(name: "OutpostCore", package: "outpost"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/OutpostMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
