// swift-tools-version:6.0
// Outpost: a caching CDN edge node. Module boundaries follow docs/ARCHITECTURE.md: only the
// front (EdgeHTTP), the origin client (OriginClient) and the composition root know about sockets.
import PackageDescription

let package = Package(
    name: "outpost",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "outpost", targets: ["outpost"]),
        .executable(name: "outpostctl", targets: ["outpostctl"]),
        // The policy and the storage tiers as a library, for tools/microbench (its own package).
        .library(name: "OutpostCore", targets: ["CachePolicy", "CacheStore", "PolicyFile"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // RFC 9111 and friends as pure value types: no dependencies, no I/O, `now` passed in.
        .target(name: "CachePolicy"),
        .target(
            name: "PolicyFile",
            dependencies: ["CachePolicy", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "OriginClient",
            dependencies: [
                "CachePolicy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "CacheStore",
            dependencies: [
                "CachePolicy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "EdgeCache",
            dependencies: [
                "CachePolicy",
                "CacheStore",
                "OriginClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The admin API's JSON, shared by the node and outpostctl.
        .target(name: "AdminProtocol", dependencies: ["CacheStore"]),
        // The admin listener: purge, stats, metrics, entries, health, status page.
        .target(
            name: "AdminHTTP",
            dependencies: [
                "AdminProtocol",
                "EdgeHTTP",
                "CachePolicy",
                "CacheStore",
                "EdgeCache",
                "OriginClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "EdgeHTTP",
            dependencies: [
                "CachePolicy",
                "CacheStore",
                "EdgeCache",
                "OriginClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "OutpostNode",
            dependencies: [
                "CachePolicy",
                "CacheStore",
                "EdgeCache",
                "PolicyFile",
                "EdgeHTTP",
                "AdminHTTP",
                "AdminProtocol",
                "OriginClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "outpost",
            dependencies: [
                "OutpostNode",
                "AdminProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // SIGUSR1 reopens the log files.
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "outpostctl",
            dependencies: [
                "CacheStore",
                "AdminProtocol",
                "EdgeHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/outpostctl"
        ),
        .target(
            name: "OutpostTesting",
            dependencies: [
                "OutpostNode",
                "EdgeHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "CachePolicyTests", dependencies: ["CachePolicy"]),
        .testTarget(name: "PolicyFileTests", dependencies: ["PolicyFile"]),
        .testTarget(
            name: "OriginClientTests",
            dependencies: [
                "OriginClient",
                "OutpostTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "CacheStoreTests",
            dependencies: [
                "CacheStore",
                "OutpostTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "EdgeHTTPTests",
            dependencies: [
                "EdgeHTTP",
                "EdgeCache",
                "CacheStore",
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "OutpostNodeTests",
            dependencies: ["OutpostNode", "OutpostTesting", "CachePolicy", "CacheStore", "EdgeCache", "EdgeHTTP", "PolicyFile", "AdminProtocol", "AdminHTTP",
                           "OriginClient", .product(name: "NIOSSL", package: "swift-nio-ssl"),
                           .product(name: "NIOEmbedded", package: "swift-nio"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        // Real clients (Node's fetch, curl, Python's http.client) run as subprocesses against a node,
        // each reusing one connection as browsers do. Clients/ holds their scripts, read by path.
        .testTarget(
            name: "RealClientTests",
            dependencies: ["OutpostNode", "OutpostTesting", "OriginClient", .product(name: "Logging", package: "swift-log")],
            exclude: ["Clients"]
        ),
    ]
)
