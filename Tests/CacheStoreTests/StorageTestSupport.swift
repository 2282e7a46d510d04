// Shared helpers for the storage tests: the tiers the contract runs against, response and body
// builders, and a seeded random generator so randomised tests replay the same way every run.
import CachePolicy
import CacheStore
import Foundation
import NIOCore
import Testing

/// One storage implementation the contract tests run against.
struct StorageUnderTest: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () -> any CacheStorage

    var testDescription: String { name }

    /// Every tier that must honour the `CacheStorage` contract.
    static let all: [StorageUnderTest] = [
        StorageUnderTest(name: "memory tier") { MemoryTier(capacityBytes: 1 << 20, shardCount: 4) },
        StorageUnderTest(name: "memory tier, one shard") { MemoryTier(capacityBytes: 1 << 20, shardCount: 1) },
        // Each case gets a directory of its own, so cases run in parallel without sharing files.
        StorageUnderTest(name: "disk tier") { try! DiskTier(directory: makeTemporaryDirectory(), capacityBytes: 1 << 20) },
    ]
}

/// A new, empty directory under the system's temporary directory.
func makeTemporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "outpost-disk-tier-tests/" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

let sampleTime = Timestamp(seconds: 1_700_000_000)

func makeResponse(
    key: String, variantKey: String = "", status: Int = 200,
    fields: HeaderFields = [("Content-Type", "text/plain"), ("ETag", "\"v1\"")], bodyLength: Int = 0
) -> StoredResponse {
    StoredResponse(
        key: key, variantKey: variantKey, varyFieldNames: variantKey.isEmpty ? [] : ["accept-encoding"],
        url: "https://example.com/\(key)", host: "example.com", status: status, fields: fields,
        requestTime: sampleTime, responseTime: sampleTime + 1, bodyLength: bodyLength)
}

func bytes(_ count: Int, repeating byte: UInt8 = 0x61) -> ByteBuffer {
    ByteBuffer(repeating: byte, count: count)
}

/// Fills `response` with `body` split into `parts` appends and commits; returns what commit said.
@discardableResult
func store(_ storage: any CacheStorage, _ response: StoredResponse, body: ByteBuffer, parts: Int = 1) -> Bool {
    let fill = storage.beginFill(response)
    var remaining = body
    let partLength = max(1, body.readableBytes / max(1, parts))
    while remaining.readableBytes > 0 {
        let part = remaining.readSlice(length: min(partLength, remaining.readableBytes))!
        guard fill.append(part) else { return fill.commit() }
    }
    return fill.commit()
}

@discardableResult
func store(_ storage: any CacheStorage, _ response: StoredResponse, body: String) -> Bool {
    store(storage, response, body: ByteBuffer(string: body), parts: 3)
}

/// SplitMix64: a small deterministic generator for repeatable randomised tests.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
        return mixed ^ (mixed >> 31)
    }
}
