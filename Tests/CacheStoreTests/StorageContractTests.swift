// The `CacheStorage` contract, written once against `any CacheStorage` and run for every tier in
// `StorageUnderTest.all`: what a fill stores reads back exactly, variants come most recently
// stored first, a replaced variant is gone, updates keep the body, removal takes every variant,
// and nothing is visible before commit or after an abandoned fill.
import CachePolicy
import CacheStore
import NIOCore
import Testing

@Suite("Storage contract")
struct StorageContractTests {
    @Test("a stored variant reads back with its status, fields and body", arguments: StorageUnderTest.all)
    func storedVariantReadsBack(_ subject: StorageUnderTest) throws {
        let storage = subject.make()
        let response = makeResponse(
            key: "GET example.com/page", status: 203,
            fields: [("Content-Type", "text/html"), ("Cache-Control", "max-age=60"), ("Set-Tag", "a"), ("Set-Tag", "b")])
        let body = ByteBuffer(bytes: (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })

        #expect(store(storage, response, body: body, parts: 7))

        let found = storage.variants(for: "GET example.com/page")
        try #require(found.count == 1)
        var expected = response
        expected.bodyLength = 10_000
        #expect(found[0].response == expected)
        #expect(found[0].response.status == 203)
        #expect(found[0].response.fields.fieldValues("set-tag") == ["a", "b"])
        #expect(found[0].body == body)
        #expect(storage.variants(for: "GET example.com/other").isEmpty)
        #expect(storage.usage.objects == 1)
    }

    @Test("commit records the bytes received as the body length", arguments: StorageUnderTest.all)
    func commitRecordsBodyLength(_ subject: StorageUnderTest) throws {
        let storage = subject.make()
        // Announced 50 bytes, received 5: the stored length must be what arrived.
        #expect(store(storage, makeResponse(key: "k", bodyLength: 50), body: "hello"))
        let found = try #require(storage.variants(for: "k").first)
        #expect(found.response.bodyLength == 5)
        #expect(found.body == ByteBuffer(string: "hello"))
    }

    @Test("two variants of one key are both returned, most recently stored first", arguments: StorageUnderTest.all)
    func twoVariantsMostRecentFirst(_ subject: StorageUnderTest) {
        let storage = subject.make()
        #expect(store(storage, makeResponse(key: "k", variantKey: "gzip"), body: "gzipped"))
        #expect(store(storage, makeResponse(key: "k", variantKey: "br"), body: "brotlied"))
        #expect(store(storage, makeResponse(key: "other"), body: "other"))

        let found = storage.variants(for: "k")
        #expect(found.map(\.response.variantKey) == ["br", "gzip"])
        #expect(found.map { String(buffer: $0.body) } == ["brotlied", "gzipped"])
        #expect(storage.usage.objects == 3)
    }

    @Test("storing a variant again replaces it and makes it the most recent", arguments: StorageUnderTest.all)
    func replacingAVariant(_ subject: StorageUnderTest) {
        let storage = subject.make()
        #expect(store(storage, makeResponse(key: "k", variantKey: "gzip", status: 200), body: "first"))
        #expect(store(storage, makeResponse(key: "k", variantKey: "br"), body: "brotli"))
        #expect(store(storage, makeResponse(key: "k", variantKey: "gzip", status: 404), body: "second body"))

        let found = storage.variants(for: "k")
        #expect(found.map(\.response.variantKey) == ["gzip", "br"])
        #expect(found.first?.response.status == 404)
        #expect(found.first.map { String(buffer: $0.body) } == "second body")
        #expect(found.first?.response.bodyLength == 11)
        #expect(storage.usage.objects == 2)
    }

    @Test("update replaces the metadata and keeps the body", arguments: StorageUnderTest.all)
    func updateKeepsBody(_ subject: StorageUnderTest) throws {
        let storage = subject.make()
        let original = makeResponse(key: "k", variantKey: "gzip")
        #expect(store(storage, original, body: "the body"))

        var revalidated = original
        revalidated.fields = [("Content-Type", "text/plain"), ("ETag", "\"v1\""), ("Cache-Control", "max-age=600")]
        revalidated.responseTime = sampleTime + 500
        revalidated.bodyLength = 8
        #expect(storage.update(revalidated))

        let found = try #require(storage.variants(for: "k").first)
        #expect(found.response == revalidated)
        #expect(String(buffer: found.body) == "the body")
        #expect(storage.usage.objects == 1)

        #expect(storage.update(makeResponse(key: "k", variantKey: "br")) == false)
        #expect(storage.update(makeResponse(key: "absent")) == false)
        #expect(storage.variants(for: "absent").isEmpty)
    }

    @Test("remove(key:) removes every variant of the key and only those", arguments: StorageUnderTest.all)
    func removeTakesAllVariants(_ subject: StorageUnderTest) {
        let storage = subject.make()
        #expect(store(storage, makeResponse(key: "k", variantKey: "gzip"), body: "a"))
        #expect(store(storage, makeResponse(key: "k", variantKey: "br"), body: "b"))
        #expect(store(storage, makeResponse(key: "kept"), body: "c"))

        #expect(storage.remove(key: "k") == 2)
        #expect(storage.variants(for: "k").isEmpty)
        #expect(storage.variants(for: "kept").count == 1)
        #expect(storage.usage.objects == 1)
        #expect(storage.remove(key: "k") == 0)

        // The key can be stored again after removal.
        #expect(store(storage, makeResponse(key: "k", variantKey: "br"), body: "again"))
        #expect(storage.variants(for: "k").map(\.response.variantKey) == ["br"])
    }

    @Test("an abandoned or dropped fill stores nothing", arguments: StorageUnderTest.all)
    func abandonedFillStoresNothing(_ subject: StorageUnderTest) {
        let storage = subject.make()
        let abandoned = storage.beginFill(makeResponse(key: "k"))
        #expect(abandoned.append(ByteBuffer(string: "partial")))
        abandoned.abandon()
        #expect(abandoned.commit() == false)
        #expect(abandoned.append(ByteBuffer(string: "more")) == false)

        do {
            let dropped = storage.beginFill(makeResponse(key: "dropped"))
            dropped.append(ByteBuffer(string: "partial"))
        }

        #expect(storage.variants(for: "k").isEmpty)
        #expect(storage.variants(for: "dropped").isEmpty)
        #expect(storage.usage.objects == 0)
    }

    @Test("nothing of a fill is visible before commit, and an older variant stays until then", arguments: StorageUnderTest.all)
    func nothingVisibleBeforeCommit(_ subject: StorageUnderTest) {
        let storage = subject.make()
        #expect(store(storage, makeResponse(key: "k", status: 200), body: "old"))

        let fill = storage.beginFill(makeResponse(key: "k", status: 201))
        #expect(fill.append(ByteBuffer(string: "new ")))
        #expect(storage.variants(for: "k").map { String(buffer: $0.body) } == ["old"])
        let fresh = storage.beginFill(makeResponse(key: "fresh"))
        #expect(fresh.append(ByteBuffer(string: "body")))
        #expect(storage.variants(for: "fresh").isEmpty)
        #expect(storage.usage.objects == 1)

        #expect(fill.append(ByteBuffer(string: "body")))
        #expect(fill.commit())
        #expect(fresh.commit())
        #expect(storage.variants(for: "k").map { String(buffer: $0.body) } == ["new body"])
        #expect(storage.variants(for: "k").first?.response.status == 201)
        #expect(storage.variants(for: "fresh").count == 1)
        // A committed fill cannot commit twice.
        #expect(fill.commit() == false)
    }
}
