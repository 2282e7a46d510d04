// The disk tier's batched store (many fills, one transaction) and its key filter (a memory miss
// for a key never stored skips the index read).
import CachePolicy
@testable import CacheStore
import Foundation
import NIOConcurrencyHelpers
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
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
            #expect(tier.store(entries) == 300)
            #expect(tier.usage.objects == 250)  // the last 50 replaced the first 50 variants
        }
        let reopened = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
        #expect(reopened.variants(for: "GET example.com/0").map { String(buffer: $0.body) } == ["body 250"])
        #expect(reopened.variants(for: "GET example.com/249").map { String(buffer: $0.body) } == ["body 249"])
        #expect(bodyFileCount(directory) == 250)
    }

    @Test("a batch is stored in groups of at most 256 KiB of inline bodies, so the writer's copies of them stay bounded")
    func groupsAreBounded() throws {
        let entries = (0..<600).map { StoredEntry(response: makeResponse(key: "GET example.com/\($0)", bodyLength: 1024), body: bytes(1024)) }
        func groups(_ entries: [StoredEntry], bytesEach: Int = .max) -> [Int] {
            DiskTier.groups(of: entries, bytesEach: bytesEach, inlineBytesEach: DiskTier.groupInlineBytesLimit,
                            inlineBodyLimit: DiskTier.defaultInlineBodyLimit).map(\.count)
        }
        #expect(groups(entries) == [256, 256, 88])
        #expect(DiskTier.groups(of: entries, bytesEach: .max).map(\.count) == [600])
        #expect(DiskTier.groups(of: entries, bytesEach: .max, inlineBytesEach: DiskTier.groupInlineBytesLimit, inlineBodyLimit: 1023)
            .map(\.count) == [600])  // bodies too large to be inline do not count
        // A body larger than the inline limit goes to its file: it does not cut a group.
        let large = StoredEntry(response: makeResponse(key: "GET example.com/large", bodyLength: 300_000), body: bytes(300_000))
        #expect(groups([entries[0], large, entries[1]]) == [3])
        // Past the sixteenth of the capacity, it is a group of its own.
        #expect(groups([entries[0], large, entries[1]], bytesEach: 64 * 1024) == [1, 1, 1])
        // All 600 are stored, whatever the grouping.
        let tier = try DiskTier(directory: makeTemporaryDirectory(), capacityBytes: 64 << 20)
        #expect(tier.store(entries) == 600)
        #expect(tier.usage.objects == 600)
    }

    @Test("the key filter: a key never stored is known absent; stored ones (and after a reopen) may be held")
    func keyFilter() throws {
        let directory = makeTemporaryDirectory()
        do {
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
            #expect(!tier.mayHold(key: "GET example.com/a"))
            #expect(store(tier, makeResponse(key: "GET example.com/a"), body: "a"))
            #expect(tier.mayHold(key: "GET example.com/a"))
            #expect(tier.store([StoredEntry(response: makeResponse(key: "GET example.com/b"), body: ByteBuffer(string: "b"))]) == 1)
            #expect(tier.mayHold(key: "GET example.com/b"))
            #expect(!tier.mayHold(key: "GET example.com/c"))
        }
        let reopened = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
        #expect(reopened.mayHold(key: "GET example.com/a"))
        #expect(reopened.mayHold(key: "GET example.com/b"))
        #expect(!reopened.mayHold(key: "GET example.com/c"))
    }

    @Test("the key filter is rebuilt once it holds more than twice the index's keys: evicted keys are forgotten, stored ones never")
    func keyFilterRebuild() async throws {
        let tier = try DiskTier(directory: makeTemporaryDirectory(), capacityBytes: 64 * 1024, inlineBodyLimit: 0)
        tier.setKeyFilterSlack(100, recent: 20)
        // 64 bodies of 1 KiB fit; 600 distinct keys pass through, so most are evicted.
        for start in stride(from: 0, to: 600, by: 10) {
            let entries = (start..<start + 10).map {
                StoredEntry(response: makeResponse(key: "GET example.com/\($0)", bodyLength: 1024), body: bytes(1024))
            }
            #expect(tier.store(entries) == 10)
        }
        for _ in 0..<500 where tier.keyFilterRebuilds == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(tier.keyFilterRebuilds >= 1)
        let held = Set(tier.entries().map(\.key))
        #expect(!held.isEmpty && held.count <= 64)
        for number in 0..<600 where held.contains("GET example.com/\(number)") {
            #expect(tier.mayHold(key: "GET example.com/\(number)"))
        }
        // Of the first 100 keys, evicted long before the last rebuild, nearly all are forgotten.
        let remembered = (0..<100).filter { tier.mayHold(key: "GET example.com/\($0)") }.count
        #expect(remembered < 10, "\(remembered) of 100 evicted keys still answered maybe")
    }

    @Test("a batch larger than the room left: room is made first, so the body files never pass the capacity by more than one body")
    func batchMakesRoomFirst() throws {
        let directory = makeTemporaryDirectory()
        let capacity = 64 * 1024, size = 1024
        let seams = DiskTier.Seams()
        let tier = try DiskTier(directory: directory, capacityBytes: capacity, reconcile: .beforeOpening, inlineBodyLimit: 0, logger: nil, seams: seams)
        let entries = { (range: Range<Int>) in
            range.map { StoredEntry(response: makeResponse(key: "GET example.com/\($0)", bodyLength: size), body: bytes(size)) }
        }
        #expect(tier.store(entries(0..<64)) == 64)  // full
        let largest = NIOLockedValueBox(0)
        seams.injectFailures { operation in
            // Each body is about to be renamed into place: what is on disk besides it?
            if operation == .rename { largest.withLockedValue { $0 = max($0, Self.bodyBytes(directory)) } }
            return nil
        }
        #expect(tier.store(entries(64..<96)) == 32)  // half the capacity again, in one call
        #expect(largest.withLockedValue { $0 } > 0)
        #expect(largest.withLockedValue { $0 } <= capacity)
        #expect(Self.bodyBytes(directory) <= capacity)
        #expect(tier.usage.objects <= 64)
        #expect(tier.usage.bytes + min(tier.indexFileBytes(), capacity / 16) <= capacity)
        #expect(tier.variants(for: "GET example.com/95").count == 1)
        #expect(tier.variants(for: "GET example.com/0").isEmpty)  // the least recently used went
    }

    static func bodyBytes(_ directory: String) -> Int {
        let enumerator = FileManager.default.enumerator(atPath: directory + "/bodies")
        var total = 0
        while let path = enumerator?.nextObject() as? String {
            guard path.hasSuffix(".body"), !path.hasPrefix("tmp") else { continue }
            total += (try? FileManager.default.attributesOfItem(atPath: directory + "/bodies/" + path)[.size] as? Int) ?? 0
        }
        return total
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
