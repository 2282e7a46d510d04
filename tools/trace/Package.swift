// swift-tools-version:6.0
// Outpost's trace lab: replays CDN-like request streams (seeded generators, or a `time,key,size`
// CSV) against the real eviction policies of the memory tier and the disk tier, with no sockets
// and no clock but the trace's own, and reports object and byte miss ratios per policy and
// capacity. Also the memory probe (bytes per stored object beyond its body). A package of its
// own, like tools/microbench, so the node's build never depends on it; it uses the node's
// library product `OutpostCore` through a path dependency on the repository root.
import PackageDescription

let package = Package(
    name: "outpost-trace",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "outpost", path: "../.."),
        // Already in the node's graph; named here because entries hold NIOCore's ByteBuffer.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
    ],
    targets: [
        // glibc's mallinfo2, which Swift's Glibc module does not export.
        .target(name: "MallocInfo", path: "Sources/MallocInfo"),
        .executableTarget(
            name: "TraceLab",
            dependencies: [
                "MallocInfo",
                .product(name: "OutpostCore", package: "outpost"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/TraceLab"
        ),
    ]
)
