// The disk tier's batched store (many fills, one transaction) and its key filter (a memory miss
// for a key never stored skips the index read).
import CachePolicy
import CacheStore
import Foundation
import NIOCore
import Testing

@Suite("Disk tier: batched stores and the key filter")
struct DiskTierBatchTests {
    @Test("store(_:) writes every entry, replacing variants, and they read back after a reopen")
    func batchedStore() throws {
        let directory = makeTemporaryDirectory()
        let entries = (0..<300).map { index in
            StoredEntry(response: makeResponse(key: "GET example.com/\(index % 250)"), body: ByteBuffer(string: "body \(index)"))
        }
        do {
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20)
            #expect(tier.store(entries) == 300)
            #expect(tier.usage.objects == 250)  // the last 50 replaced the first 50 variants
        }
        let reopened = try DiskTier(directory: directory, capacityBytes: 1 << 20)
        #expect(reopened.variants(for: "GET example.com/0").map { String(buffer: $0.body) } == ["body 250"])
        #expect(reopened.variants(for: "GET example.com/249").map { String(buffer: $0.body) } == ["body 249"])
        #expect(bodyFileCount(directory) == 250)
    }

    @Test("the key filter: a key never stored is known absent; stored ones (and after a reopen) may be held")
    func keyFilter() throws {
        let directory = makeTemporaryDirectory()
        do {
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20)
            #expect(!tier.mayHold(key: "GET example.com/a"))
            #expect(store(tier, makeResponse(key: "GET example.com/a"), body: "a"))
            #expect(tier.mayHold(key: "GET example.com/a"))
            #expect(tier.store([StoredEntry(response: makeResponse(key: "GET example.com/b"), body: ByteBuffer(string: "b"))]) == 1)
            #expect(tier.mayHold(key: "GET example.com/b"))
            #expect(!tier.mayHold(key: "GET example.com/c"))
        }
        let reopened = try DiskTier(directory: directory, capacityBytes: 1 << 20)
        #expect(reopened.mayHold(key: "GET example.com/a"))
        #expect(reopened.mayHold(key: "GET example.com/b"))
        #expect(!reopened.mayHold(key: "GET example.com/c"))
    }

    func bodyFileCount(_ directory: String) -> Int {
        let enumerator = FileManager.default.enumerator(atPath: directory + "/bodies")
        var count = 0
        while let path = enumerator?.nextObject() as? String {
            if path.hasSuffix(".body") && !path.hasPrefix("tmp") { count += 1 }
        }
        return count
    }
}
