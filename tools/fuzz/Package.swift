// swift-tools-version:6.0
// libFuzzer targets for the parsers that read what strangers send or what the disk holds:
// Cache-Control and the targeted fields (with Range and Age), HTTP dates, structured fields, the
// stored-head decoder, and the policy-file reader. A package of its own (like tools/microbench) so the
// node's build never carries the fuzzer flags; it uses the node's `OutpostCore` library through a
// path dependency on the repository root. Build and run with tools/fuzz/run (the flags matter:
// without `--sanitize fuzzer` the targets do not link).
import PackageDescription

let targets = ["FuzzCacheControl", "FuzzHTTPDate", "FuzzStructuredFields", "FuzzStoredHead", "FuzzPolicyFile"]

let package = Package(
    name: "outpost-fuzz",
    platforms: [.macOS(.v14)],
    products: targets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(name: "outpost", path: "../.."),
    ],
    targets: targets.map { name in
        .executableTarget(
            name: name,
            dependencies: [.product(name: "OutpostCore", package: "outpost")],
            path: "Targets/\(name)",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    }
)
