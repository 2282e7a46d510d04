// PackedResponse, the memory tier's one-allocation form of a stored response: every field comes
// back exactly, bodies inline and outside, the kept head, the cost the tier charges, and keys
// compared by their bytes. The shard's index chains are driven with every key in one chain.
import CachePolicy
@testable import CacheStore
import NIOCore
import Testing

@Suite("Packed responses")
struct PackedResponseTests {
    /// A response using every part of the layout.
    static func fullResponse(key: String = "GET https://example.com/" + String(repeating: "p", count: 200)) -> StoredResponse {
        var response = StoredResponse(
            key: key, variantKey: "gzip|fr", varyFieldNames: ["accept-encoding", "accept-language"],
            url: "https://example.com/other?b=2&a=1", host: "example.com:8443", status: 203,
            fields: [("Date", "Mon, 07 Dec 2026 01:30:00 GMT"), ("X-Long", String(repeating: "v", count: 300)), ("x-empty", "")],
            requestTime: Timestamp(seconds: 1_796_000_000.25), responseTime: Timestamp(seconds: 1_796_000_001.5),
            softPurgedAt: Timestamp(seconds: 1_796_000_100), tags: ["a", "tag-b", ""], bodyLength: 0)
        response.reuseFacts = ReuseFacts(cached: response.cached, settings: RuleSettings())
        return response
    }

    @Test("every field, the facts and the body come back exactly, inline or in their own buffer")
    func roundTrip() throws {
        var plain = makeResponse(key: "GET https://example.com/k")
        plain.url = "https://example.com/k"  // read back from the key
        var withoutDate = Self.fullResponse()
        withoutDate.fields = [("ETag", "\"x\"")]
        withoutDate.softPurgedAt = nil
        var facts = ReuseFacts(cached: withoutDate.cached, settings: RuleSettings())
        facts.staleWhileRevalidate = 30
        withoutDate.reuseFacts = facts
        // Keys with and without the retrieval prefix (which is not stored), around the length
        // where a LEB128 length takes a second byte.
        let prefixed = (120...135).map { makeResponse(key: "GET " + String(repeating: "k", count: $0 - 4)) }
        let unprefixed = [makeResponse(key: "HEAD-ish k"), makeResponse(key: "GE"), makeResponse(key: "")]
        for original in [Self.fullResponse(), plain, withoutDate] + prefixed + unprefixed {
            for length in [0, 1, 700, PackedResponse.inlineBodyLimit, PackedResponse.inlineBodyLimit + 1, 100_000] {
                var response = original
                response.bodyLength = length
                let body = ByteBuffer(bytes: (0..<length).map { UInt8(truncatingIfNeeded: $0 * 7) })
                let packed = try #require(PackedResponse.make(response, body: body))
                #expect(packed.response() == response)
                #expect(packed.response(key: response.key) == response)
                #expect(packed.body == body)
                #expect(packed.bodyLength == length)
                #expect(packed.external == nil ? length <= PackedResponse.inlineBodyLimit : length > PackedResponse.inlineBodyLimit)
                #expect(packed.encodedHeadLength == nil)
                #expect(packed.memoryCost == StoredEntry(response: response, body: body).cost)
                #expect(packed.hasKey(response.key) && !packed.hasKey(response.key + "x"))
                #expect(response.key.isEmpty || !packed.hasKey(String(response.key.dropLast())))
                #expect(packed.hasVariantKey(response.variantKey) && !packed.hasVariantKey("other"))
                #expect(packed.keyHash == PackedResponse.indexHash(of: response.key))

                var sent = ByteBuffer()
                packed.writeBody(into: &sent)
                #expect(sent == body)
            }
        }
        // Facts the layout cannot hold exactly (a fractional Age) are left out, to be derived again.
        var fractional = Self.fullResponse()
        fractional.reuseFacts!.age.ageValue = 0.5
        #expect(PackedResponse.make(fractional, body: ByteBuffer())!.response().reuseFacts == nil)
        // So is a Date that is not a whole number of seconds in 32 bits.
        var fractionalDate = Self.fullResponse()
        fractionalDate.reuseFacts!.age.dateValue = Timestamp(seconds: 1_796_000_000.5)
        #expect(PackedResponse.make(fractionalDate, body: ByteBuffer())!.response().reuseFacts == nil)
        var lateDate = Self.fullResponse()
        lateDate.reuseFacts!.age.dateValue = Timestamp(seconds: Double(UInt32.max))
        #expect(PackedResponse.make(lateDate, body: ByteBuffer())!.response().reuseFacts == nil)
        // And a lifetime that is not a whole number of seconds (a heuristic's tenth).
        var fractionalLifetime = Self.fullResponse()
        fractionalLifetime.reuseFacts!.lifetime = 8_640.5
        #expect(PackedResponse.make(fractionalLifetime, body: ByteBuffer())!.response().reuseFacts == nil)
        var wholeLifetime = Self.fullResponse()
        wholeLifetime.reuseFacts!.lifetime = Double(UInt32.max)
        #expect(PackedResponse.make(wholeLifetime, body: ByteBuffer())!.response() == wholeLifetime)
        #expect(MemoryLayout<PackedResponse.Header>.size == 64)
        #expect(MemoryLayout<ThreeQueueFIFO.Link>.stride == 16)

        // The URL and a nil reuseFacts as given.
        var bare = makeResponse(key: "k")
        bare.reuseFacts = nil
        #expect(PackedResponse.make(bare, body: ByteBuffer())!.response() == bare)
        #expect(PackedResponse.make(bare, body: ByteBuffer())!.response().url == "https://example.com/k")
    }

    @Test("a host that is the key's authority is not stored, and comes back exactly; any other host is stored")
    func hostInKey() throws {
        let cases: [(key: String, host: String, inKey: Bool)] = [
            ("GET https://example.com/k", "example.com", true),
            ("GET http://example.com:8080?q", "example.com:8080", true),
            ("GET https://example.com", "example.com", true),
            ("forward GET http://[::1]:81/a#b", "[::1]:81", true),
            ("GET https://example.com/k", "Example.com", false),
            ("GET https://example.com/k", "example.com:443", false),
            ("GET https://example.com/k", "", false),
            ("GET https:///k", "", true),
            ("no scheme here", "no scheme here", false),
            ("GET https://example.com/a://b", "b", false),
        ]
        for (key, host, inKey) in cases {
            var response = makeResponse(key: key, bodyLength: 4)
            response.host = host
            #expect(PackedResponse.hostIsInKey(response) == inKey, "\(key) \(host)")
            let packed = try #require(PackedResponse.make(response, body: ByteBuffer(string: "body")))
            #expect(packed.header.flags.contains(.hostInKey) == inKey)
            #expect(packed.response() == response)
            #expect(packed.response(key: key) == response)
            #expect(packed.memoryCost == StoredEntry(response: response, body: ByteBuffer(string: "body")).cost)
            var stored = response
            stored.host = "other.example"
            let withHost = try #require(PackedResponse.make(stored, body: ByteBuffer(string: "body")))
            #expect(withHost.response() == stored)
            // "other.example" takes its 13 bytes and a length byte; an inline host took its own.
            #expect(withHost.memoryCost - packed.memoryCost == 14 - (inKey ? 0 : 1 + host.utf8.count))
        }
    }

    @Test("a body kept outside the tail lives as long as the last object referring to it")
    func externalBodyLifetime() throws {
        var response = makeResponse(key: "GET https://example.com/large")
        let length = PackedResponse.inlineBodyLimit + 1
        response.bodyLength = length
        weak var external: PackedResponse.ExternalBody?
        var kept: PackedResponse?
        do {
            let packed = try #require(PackedResponse.make(response, body: bytes(length)))
            external = packed.external
            #expect(external != nil)
            kept = packed.keeping(encodedHead: ByteBuffer(string: "HTTP/1.1 200 OK\r\n"))
        }
        // The original is gone; the copy with a kept head still refers to the body.
        #expect(external != nil)
        #expect(kept?.body == bytes(length))
        #expect(kept?.response() == response)
        kept = nil
        #expect(external == nil)
    }

    @Test("a kept head sits between the strings and the body; an empty one is kept as empty")
    func keptHead() throws {
        var response = Self.fullResponse()
        response.bodyLength = 5
        let body = ByteBuffer(string: "hello")
        let packed = try #require(PackedResponse.make(response, body: body))
        let head = ByteBuffer(string: "HTTP/1.1 203 Non-Authoritative Information\r\nx: y\r\n")
        let kept = try #require(packed.keeping(encodedHead: head))
        #expect(kept.encodedHeadLength == head.readableBytes)
        var written = ByteBuffer()
        kept.writeEncodedHead(into: &written)
        kept.writeBody(into: &written)
        #expect(written == ByteBuffer(string: String(buffer: head) + "hello"))
        var expected = response
        expected.softPurgedAt = nil  // the shard carries the bookkeeping fields over, not `keeping`
        #expect(kept.response() == expected)
        #expect(kept.memoryCost == packed.memoryCost + head.readableBytes)

        let empty = try #require(packed.keeping(encodedHead: ByteBuffer()))
        #expect(empty.encodedHeadLength == 0)
        #expect(empty.body == body)
        // A head longer than 64 KiB is kept empty: hits of it take the general path.
        let huge = try #require(packed.keeping(encodedHead: ByteBuffer(repeating: 0x61, count: 70_000)))
        #expect(huge.encodedHeadLength == 0)
        #expect(huge.body == body)
    }

    @Test("keys are compared by their bytes: a KELVIN SIGN is not a K")
    func keysByBytes() {
        let tier = MemoryTier(capacityBytes: 1 << 20, shardCount: 1)
        let kelvin = "GET https://example.com/\u{212A}", plain = "GET https://example.com/K"
        #expect(kelvin == plain)  // String's == is canonical equivalence
        #expect(store(tier, makeResponse(key: kelvin), body: "kelvin"))
        #expect(store(tier, makeResponse(key: plain), body: "plain"))
        #expect(tier.usage.objects == 2)
        #expect(tier.variants(for: plain).map { String(buffer: $0.body) } == ["plain"])
        #expect(tier.variants(for: kelvin).map { String(buffer: $0.body) } == ["kelvin"])
    }

    @Test("with every key in one index chain, lookups, replacements, removals and evictions find only their own")
    func oneChain() {
        let tier = MemoryTier(capacityBytes: 1 << 20, shardCount: 1, eviction: .threeQueueFIFO, indexMask: 0)
        for key in ["a", "b", "c", "d"] {
            for variant in ["1", "2"] {
                #expect(store(tier, makeResponse(key: key, variantKey: variant), body: "\(key)\(variant)"))
            }
        }
        let bodies = { (key: String) in tier.variants(for: key).map { String(buffer: $0.body) } }
        #expect(bodies("c") == ["c2", "c1"])
        #expect(bodies("x") == [])
        // Replacing a variant in the middle of the chain moves it first among its key's.
        #expect(store(tier, makeResponse(key: "b", variantKey: "1"), body: "b1 again"))
        #expect(bodies("b") == ["b1 again", "b2"])
        #expect(tier.usage.objects == 8)
        // Removing a key in the middle, then the newest, then the oldest.
        #expect(tier.remove(key: "b") == 2)
        #expect(tier.remove(key: "d") == 2)
        #expect(tier.remove(key: "a") == 2)
        #expect(bodies("c") == ["c2", "c1"])
        #expect(bodies("a") == [] && bodies("b") == [] && bodies("d") == [])
        #expect(tier.purge(.key("c"), action: .remove).count == 2)
        #expect(tier.usage.objects == 0 && tier.usage.bytes == 0)

        // Eviction through one chain: a small tier keeps exactly what its policy kept.
        let cost = StoredEntry(response: makeResponse(key: "k00"), body: bytes(100)).cost
        let small = MemoryTier(capacityBytes: cost * 10, shardCount: 1, eviction: .leastRecentlyUsed, indexMask: 0)
        for number in 0..<30 { store(small, makeResponse(key: String(format: "k%02d", number)), body: bytes(100)) }
        let kept = Set(small.entries().map(\.key))
        #expect(kept == Set((20..<30).map { String(format: "k%02d", $0) }))
        for number in 0..<30 {
            let key = String(format: "k%02d", number)
            #expect(small.variants(for: key).count == (kept.contains(key) ? 1 : 0))
        }
    }

    @Test("a soft purge marks the stored object; a head kept afterwards keeps the mark")
    func softPurgeInPlace() throws {
        let tier = MemoryTier(capacityBytes: 1 << 20, shardCount: 1)
        #expect(store(tier, makeResponse(key: "k"), body: "body"))
        let read = try #require(tier.variants(for: "k").first)
        let instant = Timestamp(seconds: 1_796_000_500)
        #expect(tier.purge(.key("k"), action: .markStale(at: instant)).count == 1)
        #expect(read.response.softPurgedAt == nil)  // what was read before is a copy
        tier.keepEncodedHead(ByteBuffer(string: "HTTP/1.1 200 OK\r\n"), for: read)
        let after = try #require(tier.variants(for: "k").first)
        #expect(after.response.softPurgedAt == instant)
        #expect(after.encodedHeadLength == 17)
        #expect(String(buffer: after.body) == "body")
    }

    @Test("a purge matched outside the lock leaves alone a variant stored again before it applies")
    func purgeAppliesToWhatWasMatched() throws {
        var shard = MemoryTier.Shard(capacity: 1 << 20)
        for key in ["a", "b"] {
            let response = makeResponse(key: key)
            #expect(shard.store(try #require(PackedResponse.make(response, body: ByteBuffer(string: key))), response))
        }
        let matched = shard.storedObjects().map { stored in
            let response = stored.response
            return MemoryTier.Shard.Selected(slot: stored.slot, object: stored.object, variant: PurgedVariant(
                key: response.key, variantKey: response.variantKey, bodyLength: response.bodyLength))
        }
        #expect(matched.count == 2)
        // "b" is stored again between the match and the purge.
        let again = makeResponse(key: "b")
        #expect(shard.store(try #require(PackedResponse.make(again, body: ByteBuffer(string: "b again"))), again))
        #expect(shard.apply(.remove, to: matched).map(\.key) == ["a"])
        #expect(shard.variants(for: "a").isEmpty)
        #expect(shard.variants(for: "b").map { String(buffer: $0.body) } == ["b again"])
        #expect(shard.usage.objects == 1)
    }

    @Test("the index doubles many times under stores, replacements and removals, and every key keeps its variants in order")
    func indexGrowth() {
        let tier = MemoryTier(capacityBytes: 1 << 26, shardCount: 1)
        for number in 0..<1_500 {
            for variant in ["x", "y", "z"] { store(tier, makeResponse(key: "k\(number)", variantKey: variant), body: "\(number)\(variant)") }
        }
        // Store one variant of every third key again (it moves first), remove every fifth key.
        for number in stride(from: 0, to: 1_500, by: 3) { store(tier, makeResponse(key: "k\(number)", variantKey: "y"), body: "again") }
        for number in stride(from: 0, to: 1_500, by: 5) { #expect(tier.remove(key: "k\(number)") == 3) }
        for number in 0..<1_500 {
            let variants = tier.variants(for: "k\(number)").map(\.response.variantKey)
            if number % 5 == 0 {
                #expect(variants.isEmpty)
            } else {
                #expect(variants == (number % 3 == 0 ? ["y", "z", "x"] : ["z", "y", "x"]), "k\(number)")
            }
        }
        #expect(tier.usage.objects == 1_200 * 3)
    }
}
