// MemoryTier beyond the shared contract: the byte bound, least-recently-used eviction and its
// counter, refusal of entries too large for a shard, cost re-accounting on update, the stable
// shard hash, and consistency under concurrent use.
import CachePolicy
@testable import CacheStore
import NIOCore
import Testing

@Suite("Memory tier")
struct MemoryTierTests {
    /// The cost of an entry for `key` (same-length keys cost the same) with a body of `bodyLength`.
    private func cost(key: String, bodyLength: Int) -> Int {
        StoredEntry(response: makeResponse(key: key), body: bytes(bodyLength)).cost
    }

    /// The keys stored, read without touching anything.
    private func storedKeys(_ tier: MemoryTier) -> Set<String> {
        Set(tier.entries().map(\.key))
    }

    /// The bytes `entries()` accounts for: metadata plus body of each stored variant.
    private func accountedBytes(_ tier: MemoryTier) -> Int {
        tier.entries().reduce(0) { $0 + $1.metadataCost + $1.bodyLength }
    }

    @Test("the byte bound holds after every one of many inserts")
    func byteBoundRespected() {
        let capacity = 64_000
        let tier = MemoryTier(capacityBytes: capacity, shardCount: 4)
        var generator = SeededGenerator(seed: 7)
        for index in 0..<1_000 {
            let length = Int.random(in: 0..<6_000, using: &generator)
            #expect(store(tier, makeResponse(key: "key-\(index)"), body: bytes(length), parts: 3))
            #expect(tier.usage.bytes <= capacity)
        }
        let usage = tier.usage
        #expect(usage.bytes == accountedBytes(tier))
        #expect(usage.objects == tier.entries().count)
        #expect(usage.evictions == 1_000 - usage.objects)
        #expect(usage.bytes > capacity / 2)  // the bound is used, not just respected
    }

    @Test("the least recently used entry goes first, and reading an entry saves it")
    func leastRecentlyUsedEvictedFirst() {
        let entryCost = cost(key: "a", bodyLength: 1_000)
        let tier = MemoryTier(capacityBytes: 3 * entryCost + entryCost / 2, shardCount: 1, eviction: .leastRecentlyUsed)
        for key in ["a", "b", "c"] {
            #expect(store(tier, makeResponse(key: key), body: bytes(1_000)))
        }
        #expect(storedKeys(tier) == ["a", "b", "c"])

        #expect(tier.variants(for: "a").count == 1)  // "a" is now the most recently used
        #expect(store(tier, makeResponse(key: "d"), body: bytes(1_000)))
        #expect(storedKeys(tier) == ["a", "c", "d"])

        #expect(store(tier, makeResponse(key: "e"), body: bytes(1_000)))
        #expect(storedKeys(tier) == ["a", "d", "e"])
        #expect(tier.usage.evictions == 2)
    }

    @Test("evictions are counted; removals are not")
    func evictionsCounted() {
        let entryCost = cost(key: "k0", bodyLength: 500)
        let tier = MemoryTier(capacityBytes: 2 * entryCost, shardCount: 1, eviction: .leastRecentlyUsed)
        for index in 0..<5 {
            #expect(store(tier, makeResponse(key: "k\(index)"), body: bytes(500)))
        }
        let reasons: [EvictionReason: Int] = [.leastRecentlyUsed: 3]
        #expect(tier.usage == StorageUsage(objects: 2, bytes: 2 * entryCost, evictions: 3, evictionsByReason: reasons))

        #expect(tier.remove(key: "k4") == 1)
        #expect(tier.usage == StorageUsage(objects: 1, bytes: entryCost, evictions: 3, evictionsByReason: reasons))
        #expect(tier.removeAll() == 1)
        #expect(tier.usage == StorageUsage(objects: 0, bytes: 0, evictions: 3, evictionsByReason: reasons))
        #expect(tier.entries().isEmpty)
    }

    @Test("an entry larger than a shard is refused, and the variant it would replace stays")
    func oversizedEntryRefused() {
        let tier = MemoryTier(capacityBytes: 10_000, shardCount: 1)
        #expect(store(tier, makeResponse(key: "k"), body: "small"))

        // The body alone outgrows the shard: the fill gives up and ignores later parts.
        let fill = tier.beginFill(makeResponse(key: "k", bodyLength: 20_000))
        #expect(fill.append(bytes(8_000)))
        #expect(fill.append(bytes(8_000)) == false)
        #expect(fill.append(bytes(1)) == false)
        #expect(fill.commit() == false)

        // The body fits but body plus metadata does not: refused at commit.
        #expect(store(tier, makeResponse(key: "k"), body: bytes(9_990)) == false)

        #expect(tier.variants(for: "k").map(\.body) == [ByteBuffer(string: "small")])
        #expect(tier.usage.objects == 1)
        #expect(tier.usage.evictions == 0)
    }

    @Test("the size limit is one shard's share of the capacity")
    func limitIsPerShard() {
        let tier = MemoryTier(capacityBytes: 40_000, shardCount: 4)
        #expect(tier.shardCapacityBytes == 10_000)
        #expect(store(tier, makeResponse(key: "big"), body: bytes(15_000)) == false)
        #expect(store(tier, makeResponse(key: "fits"), body: bytes(9_000)))
        #expect(tier.usage.objects == 1)
    }

    @Test("all variants of a key share one shard and its capacity")
    func variantsShareAShard() {
        let variantCost = StoredEntry(response: makeResponse(key: "k", variantKey: "v0"), body: bytes(1_000)).cost
        let tier = MemoryTier(capacityBytes: 16 * (2 * variantCost + variantCost / 2), shardCount: 16)
        for variant in 0..<3 {
            #expect(store(tier, makeResponse(key: "k", variantKey: "v\(variant)"), body: bytes(1_000)))
        }
        // Three variants in one shard that holds two: the oldest went.
        #expect(tier.variants(for: "k").map(\.response.variantKey) == ["v2", "v1"])
        #expect(tier.usage.evictions == 1)
    }

    @Test("update re-accounts the cost, keeps the stored body length, and may refuse growth")
    func updateReaccountsCost() throws {
        let tier = MemoryTier(capacityBytes: 4_000, shardCount: 1)
        let original = makeResponse(key: "k")
        #expect(store(tier, original, body: bytes(1_000)))
        #expect(tier.usage.bytes == original.metadataCost + 1_000)

        var larger = original
        larger.fields.add("Cache-Control", "max-age=3600, stale-while-revalidate=60")
        larger.bodyLength = 12  // wrong on purpose: the stored body's length wins
        #expect(tier.update(larger))
        #expect(tier.usage.bytes == larger.metadataCost + 1_000)
        let found = try #require(tier.variants(for: "k").first)
        #expect(found.response.bodyLength == 1_000)
        #expect(found.body.readableBytes == 1_000)

        var huge = original
        huge.tags = Array(repeating: String(repeating: "t", count: 100), count: 40)
        #expect(tier.update(huge) == false)
        #expect(tier.variants(for: "k").isEmpty)
        #expect(tier.usage == StorageUsage(objects: 0, bytes: 0, evictions: 0))
    }

    @Test("an update that makes an entry cost more evicts the least recently used to stay in bounds")
    func growingUpdateEvicts() {
        let entryCost = cost(key: "a", bodyLength: 1_000)
        let capacity = 2 * entryCost + 100
        let tier = MemoryTier(capacityBytes: capacity, shardCount: 1, eviction: .leastRecentlyUsed)
        #expect(store(tier, makeResponse(key: "a"), body: bytes(1_000)))
        #expect(store(tier, makeResponse(key: "b"), body: bytes(1_000)))

        var grown = makeResponse(key: "a")
        grown.fields.add("Link", String(repeating: "x", count: 200))
        #expect(tier.update(grown))
        #expect(storedKeys(tier) == ["a"])
        #expect(tier.usage.evictions == 1)
        #expect(tier.usage.bytes == grown.metadataCost + 1_000)
        #expect(tier.usage.bytes <= capacity)
    }

    @Test("the shard hash is FNV-1a, stable across processes")
    func stableHash() {
        #expect(MemoryTier.stableHash("") == 0xcbf2_9ce4_8422_2325)
        #expect(MemoryTier.stableHash("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(MemoryTier.stableHash("foobar") == 0x8594_4171_f739_67e8)
        #expect(MemoryTier.shardIndex(for: "a", shardCount: 16) == Int(UInt64(0xaf63_dc4c_8601_ec8c) % 16))
        let indexes = Set((0..<200).map { MemoryTier.shardIndex(for: "GET example.com/\($0)", shardCount: 16) })
        #expect(indexes.count == 16)  // keys spread over every shard
    }

    @Test("four tasks of 2,000 mixed operations leave usage consistent with the entries")
    func concurrentUse() async {
        let capacity = 200_000
        let tier = MemoryTier(capacityBytes: capacity, shardCount: 8)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var generator = SeededGenerator(seed: UInt64(worker) + 1)
                    for step in 0..<2_000 {
                        let keyIndex = Int.random(in: 0..<300, using: &generator)
                        let variantIndex = Int.random(in: 0..<3, using: &generator)
                        let key = "GET example.com/\(keyIndex)"
                        let fillByte = UInt8(truncatingIfNeeded: keyIndex * 3 + variantIndex)
                        var response = makeResponse(key: key, variantKey: "v\(variantIndex)")
                        response.fields.add("X-Fill-Byte", "\(fillByte)")
                        switch Int.random(in: 0..<10, using: &generator) {
                        case 0..<4:
                            let length = Int.random(in: 0..<4_000, using: &generator)
                            store(tier, response, body: bytes(length, repeating: fillByte), parts: 4)
                        case 4..<7:
                            for entry in tier.variants(for: key) {
                                #expect(entry.response.key == key)
                                #expect(entry.response.bodyLength == entry.body.readableBytes)
                                let expected = UInt8(entry.response.fields["X-Fill-Byte"] ?? "") ?? 0
                                #expect(entry.body.readableBytesView.allSatisfy { $0 == expected })
                            }
                        case 7:
                            tier.update(response)
                        case 8:
                            tier.remove(key: key)
                        default:
                            let fill = tier.beginFill(response)
                            fill.append(bytes(100, repeating: fillByte))
                            fill.abandon()
                        }
                        if step % 50 == 0 {
                            #expect(tier.usage.bytes <= capacity)
                        }
                    }
                }
            }
        }
        let usage = tier.usage
        let entries = tier.entries()
        #expect(usage.objects == entries.count)
        #expect(usage.bytes == entries.reduce(0) { $0 + $1.metadataCost + $1.bodyLength })
        #expect(usage.bytes <= capacity)
        #expect(usage.evictions > 0)  // the run exercised eviction
        #expect(Set(entries.map { "\($0.key)|\($0.variantKey)" }).count == entries.count)
    }

    @Test("an encoded head is kept with its variant and accounted; a changed response drops it, a stale one is not kept")
    func encodedHeadKept() throws {
        let tier = MemoryTier(capacityBytes: 1 << 20, shardCount: 1)
        let response = makeResponse(key: "k")
        #expect(store(tier, response, body: bytes(100)))
        let before = tier.usage.bytes
        let entry = try #require(tier.variants(for: "k").first)
        #expect(entry.encodedHead == nil)
        let head = ByteBuffer(string: "HTTP/1.1 200 OK\r\n")

        // An older view of the variant (other fields) is not kept.
        var older = entry
        older.response.fields = [("ETag", "\"v0\"")]
        tier.keepEncodedHead(head, for: older)
        #expect(tier.variants(for: "k").first?.encodedHead == nil)
        #expect(tier.usage.bytes == before)

        tier.keepEncodedHead(head, for: entry)
        #expect(tier.variants(for: "k").first?.encodedHead == head)
        #expect(tier.usage.bytes == before + head.readableBytes)

        // A revalidation replaces the response: the head derived from the old one goes with it.
        var revalidated = response
        revalidated.fields = [("Content-Type", "text/plain"), ("ETag", "\"v2\"")]
        #expect(tier.update(revalidated))
        #expect(tier.variants(for: "k").first?.encodedHead == nil)
        #expect(tier.usage.bytes == before)
    }

    @Test("three variants of one key: storing one again moves it first; removing any keeps the others in order")
    func variantOrder() {
        let tier = MemoryTier(capacityBytes: 1 << 20, shardCount: 1)
        for name in ["a", "b", "c"] {
            var response = makeResponse(key: "k", variantKey: name)
            response.tags = ["tag-\(name)"]
            #expect(store(tier, response, body: name))
        }
        let order = { tier.variants(for: "k").map(\.response.variantKey) }
        #expect(order() == ["c", "b", "a"])
        var again = makeResponse(key: "k", variantKey: "b")
        again.tags = ["tag-b"]
        #expect(store(tier, again, body: "b2"))
        #expect(order() == ["b", "c", "a"])
        #expect(tier.variants(for: "k").first.map { String(buffer: $0.body) } == "b2")
        #expect(tier.purge(.tag("tag-c"), action: .remove).count == 1)
        #expect(order() == ["b", "a"])
        #expect(tier.purge(.tag("tag-b"), action: .remove).count == 1)
        #expect(order() == ["a"])
        #expect(tier.purge(.tag("tag-a"), action: .remove).count == 1)
        #expect(order() == [])
        #expect(tier.usage.objects == 0)
        // The key is gone with its last variant, and can be stored again from nothing.
        #expect(store(tier, makeResponse(key: "k", variantKey: "d"), body: "d"))
        #expect(order() == ["d"])
        #expect(tier.remove(key: "k") == 1)
        #expect(order() == [])
    }
}
