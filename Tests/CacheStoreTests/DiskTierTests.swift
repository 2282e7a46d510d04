// What only the disk tier promises: it survives a reopen; a damaged or missing body is never
// served, and is counted and removed; start-up removes half-written and orphan files; a corrupt
// index is moved aside and a newer one refused; the bytes stay under the capacity, evicting the
// least recently used first; an I/O failure loses the fill, not the tier. These tiers keep every
// body in a file (`inlineBodyLimit: 0`); DiskTierInlineTests covers bodies inline in the index.
import CachePolicy
import CacheStore
import Foundation
import GRDB
import NIOCore
import Testing

@Suite("Disk tier")
struct DiskTierTests {
    @Test("entries stored before a reopen read back after it, with their bodies")
    func reopenAndRead() throws {
        let directory = makeTemporaryDirectory()
        let tagged = StoredResponse(
            key: "GET example.com/a", variantKey: "br", varyFieldNames: ["accept-encoding"],
            url: "https://example.com/a", host: "example.com", status: 200,
            fields: [("Content-Type", "text/css"), ("ETag", "\"x\"")], requestTime: sampleTime,
            responseTime: sampleTime + 2, softPurgedAt: sampleTime + 9, tags: ["styles", "site"], bodyLength: 0)
        let large = ByteBuffer(bytes: (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        do {
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
            #expect(store(tier, tagged, body: large, parts: 9))
            #expect(store(tier, makeResponse(key: "GET example.com/a", variantKey: "gzip"), body: "gzipped"))
            #expect(store(tier, makeResponse(key: "GET example.com/b"), body: "b"))
        }

        let reopened = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
        #expect(reopened.reconciliation == ReconciliationReport())
        let found = reopened.variants(for: "GET example.com/a")
        #expect(found.map(\.response.variantKey) == ["gzip", "br"])
        var expected = tagged
        expected.bodyLength = 100_000
        #expect(found.last?.response == expected)
        #expect(found.last?.body == large)
        #expect(found.first.map { String(buffer: $0.body) } == "gzipped")
        #expect(reopened.variants(for: "GET example.com/b").map { String(buffer: $0.body) } == ["b"])
        #expect(reopened.usage == StorageUsage(objects: 3, bytes: 100_000 + 7 + 1, evictions: 0))

        // A fill after the reopen must not reuse a body file of the first run.
        #expect(store(reopened, makeResponse(key: "GET example.com/c"), body: "c"))
        #expect(reopened.variants(for: "GET example.com/a").count == 2)
        #expect(reopened.variants(for: "GET example.com/c").map { String(buffer: $0.body) } == ["c"])
    }

    @Test("a body with one flipped byte is not served, is counted, and its row and file go")
    func flippedByte() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
        #expect(store(tier, makeResponse(key: "k"), body: bytes(4096)))
        #expect(store(tier, makeResponse(key: "kept"), body: "intact"))
        let file = try #require(try bodyFile(of: "k", in: directory))
        var content = try Data(contentsOf: URL(fileURLWithPath: file))
        content[2000] ^= 0x01
        try content.write(to: URL(fileURLWithPath: file))

        #expect(tier.variants(for: "k").isEmpty)
        #expect(tier.corruptBodiesDetected == 1)
        #expect(try rowCount(of: "k", in: directory) == 0)
        #expect(!FileManager.default.fileExists(atPath: file))
        #expect(tier.usage.objects == 1)
        #expect(tier.variants(for: "kept").map { String(buffer: $0.body) } == ["intact"])
        #expect(tier.corruptBodiesDetected == 1)
    }

    @Test("bodies over the read limit stay in their files, verified: read back in parts, the same bytes; a damaged one is not returned")
    func bodiesLeftInFiles() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 4 << 20, inlineBodyLimit: 0)
        let large = ByteBuffer(bytes: (0..<600_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 11) })
        #expect(store(tier, makeResponse(key: "large"), body: large, parts: 5))
        #expect(store(tier, makeResponse(key: "small"), body: "small"))

        let found = try #require(tier.variants(for: "large", readingWholeUpTo: 100_000).first)
        let file = try #require(found.bodyFile)
        #expect(found.body.readableBytes == 0)
        #expect(found.bodyLength == 600_000)
        var reassembled = ByteBuffer()
        var offset = 0
        while offset < file.length {
            var part = try file.read(offset: offset, count: min(250_000, file.length - offset))
            offset += part.readableBytes
            reassembled.writeBuffer(&part)
        }
        #expect(reassembled == large)
        #expect(try file.read(offset: 599_990, count: 10) == large.getSlice(at: 599_990, length: 10))
        #expect(throws: BodyFile.ReadError.self) { try file.read(offset: 599_990, count: 11) }
        // Under the limit, or with no limit, bodies come whole as before.
        #expect(tier.variants(for: "small", readingWholeUpTo: 100_000).first?.bodyFile == nil)
        #expect(tier.variants(for: "large").first?.body == large)

        // The file stays readable through an open entry after the variant is removed.
        tier.remove(key: "large")
        #expect(try file.read(offset: 0, count: 4) == large.getSlice(at: 0, length: 4))

        #expect(store(tier, makeResponse(key: "damaged"), body: large))
        let path = try #require(try bodyFile(of: "damaged", in: directory))
        var content = try Data(contentsOf: URL(fileURLWithPath: path))
        content[550_000] ^= 0x01
        try content.write(to: URL(fileURLWithPath: path))
        #expect(tier.variants(for: "damaged", readingWholeUpTo: 100_000).isEmpty)
        #expect(tier.corruptBodiesDetected == 1)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a deleted body file is not served, is counted, and its row goes")
    func deletedBody() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
        #expect(store(tier, makeResponse(key: "k"), body: "doomed"))
        try FileManager.default.removeItem(atPath: try #require(try bodyFile(of: "k", in: directory)))

        #expect(tier.variants(for: "k").isEmpty)
        #expect(tier.corruptBodiesDetected == 1)
        #expect(try rowCount(of: "k", in: directory) == 0)
        #expect(tier.usage == StorageUsage(objects: 0, bytes: 0, evictions: 0))
    }

    @Test("start-up removes temporary files, orphan bodies and rows without a body")
    func startUpReconciliation() throws {
        let directory = makeTemporaryDirectory()
        do {
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
            #expect(store(tier, makeResponse(key: "kept"), body: "kept"))
            #expect(store(tier, makeResponse(key: "lost"), body: "lost"))
        }
        try FileManager.default.removeItem(atPath: try #require(try bodyFile(of: "lost", in: directory)))
        let temporary = directory + "/bodies/tmp/half-written.tmp"
        let orphan = directory + "/bodies/ff/ee/999999.body"
        try FileManager.default.createDirectory(atPath: directory + "/bodies/ff/ee", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: temporary, contents: Data("half".utf8)))
        #expect(FileManager.default.createFile(atPath: orphan, contents: Data("orphan".utf8)))

        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
        #expect(tier.reconciliation?.temporaryFilesRemoved == 1)
        #expect(tier.reconciliation?.orphanBodiesRemoved == 1)
        #expect(tier.reconciliation?.rowsWithoutBody == 1)
        #expect(tier.reconciliation?.indexMovedAside == nil)
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(!FileManager.default.fileExists(atPath: orphan))
        #expect(tier.usage.objects == 1)
        #expect(tier.variants(for: "kept").map { String(buffer: $0.body) } == ["kept"])
        #expect(tier.corruptBodiesDetected == 0)
    }

    @Test("a garbage or truncated index is moved aside and the tier starts empty and usable",
          arguments: [IndexDamage.garbage, .truncated])
    func corruptIndex(_ damage: IndexDamage) throws {
        let directory = makeTemporaryDirectory()
        let index = directory + "/index.sqlite"
        do {
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 22, inlineBodyLimit: 0)
            for number in 0..<300 {
                #expect(store(tier, makeResponse(key: "key \(number)"), body: "body \(number)"))
            }
        }
        #expect(!FileManager.default.fileExists(atPath: index + "-wal"), "the WAL is checkpointed on close")
        let original = try Data(contentsOf: URL(fileURLWithPath: index))
        switch damage {
        case .garbage:
            var generator = SeededGenerator(seed: 7)
            try Data((0..<original.count).map { _ in UInt8.random(in: 0...255, using: &generator) })
                .write(to: URL(fileURLWithPath: index))
        case .truncated:
            try original.prefix(original.count / 2 + 100).write(to: URL(fileURLWithPath: index))
        }

        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 22, inlineBodyLimit: 0)
        let aside = try #require(tier.reconciliation?.indexMovedAside)
        #expect(aside.hasPrefix(index + ".corrupt-"))
        #expect(FileManager.default.fileExists(atPath: aside))
        #expect(tier.usage.objects == 0)
        #expect(tier.reconciliation?.orphanBodiesRemoved == 300)
        let left = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(!left.contains { $0.hasPrefix("bodies.orphaned-") }, "the lost index's bodies are deleted: \(left)")
        #expect(tier.variants(for: "key 1").isEmpty)
        #expect(store(tier, makeResponse(key: "after"), body: "works"))
        #expect(tier.variants(for: "after").map { String(buffer: $0.body) } == ["works"])
    }

    enum IndexDamage: Sendable { case garbage, truncated }

    @Test("an index with a newer schema version is refused with an error naming both versions")
    func newerSchema() throws {
        let directory = makeTemporaryDirectory()
        do {
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
            #expect(store(tier, makeResponse(key: "k"), body: "kept"))
        }
        try DatabaseQueue(path: directory + "/index.sqlite").write { try $0.execute(sql: "PRAGMA user_version = 99") }

        let error = #expect(throws: DiskTierError.self) {
            try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
        }
        guard case .indexTooNew(_, let found, let supported) = error else {
            Issue.record("unexpected error \(String(describing: error))")
            return
        }
        #expect(found == 99)
        #expect(supported == 2)
        let message = String(describing: error!)
        #expect(message.contains("99") && message.contains("version 2"))
        // Nothing was moved aside or deleted.
        #expect(try rowCount(of: "k", in: directory) == 1)
        #expect(try bodyFile(of: "k", in: directory) != nil)
    }

    @Test("filling three times the capacity keeps the bodies on disk under it")
    func capacityBound() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 20_000, inlineBodyLimit: 0)
        var generator = SeededGenerator(seed: 42)
        var written = 0
        var number = 0
        while written < 60_000 {
            let length = Int.random(in: 200...2_000, using: &generator)
            #expect(store(tier, makeResponse(key: "key \(number)"), body: bytes(length), parts: 3))
            written += length
            number += 1
            #expect(tier.usage.bytes <= 20_000)
        }
        let usage = tier.usage
        #expect(usage.evictions > 0)
        #expect(usage.objects + usage.evictions == number)
        let files = try committedBodyFiles(in: directory)
        #expect(files.count == usage.objects)
        let onDisk = try files.reduce(0) { $0 + (try FileManager.default.attributesOfItem(atPath: $1)[.size] as! Int) }
        #expect(onDisk == usage.bytes)
        #expect(onDisk <= 20_000 && onDisk >= 20_000 - 2_000)
    }

    @Test("eviction takes the least recently used: an entry read recently survives")
    func leastRecentlyUsedOrder() throws {
        let tier = try DiskTier(directory: makeTemporaryDirectory(), capacityBytes: 3_000, inlineBodyLimit: 0)
        for key in ["a", "b", "c"] { #expect(store(tier, makeResponse(key: key), body: bytes(1_000))) }
        #expect(tier.variants(for: "a").count == 1)

        #expect(store(tier, makeResponse(key: "d"), body: bytes(1_000)))
        #expect(tier.variants(for: "b").isEmpty)
        #expect(tier.variants(for: "a").count == 1)
        #expect(store(tier, makeResponse(key: "e"), body: bytes(1_000)))
        #expect(tier.variants(for: "c").isEmpty)
        #expect(tier.variants(for: "a").count == 1)
        #expect(tier.usage == StorageUsage(objects: 3, bytes: 3_000, evictions: 2))
        #expect(tier.corruptBodiesDetected == 0)
    }

    @Test("a fill larger than the capacity is given up; an I/O failure loses the fill, not the tier")
    func failedFills() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 1_000, inlineBodyLimit: 0)
        #expect(store(tier, makeResponse(key: "kept"), body: "kept"))

        let large = tier.beginFill(makeResponse(key: "large"))
        #expect(large.append(bytes(600)))
        #expect(large.append(bytes(600)) == false)
        #expect(large.commit() == false)
        #expect(tier.writeFailures == 0)

        // Temporary files cannot be created once bodies/tmp is not a directory.
        try FileManager.default.removeItem(atPath: directory + "/bodies/tmp")
        #expect(FileManager.default.createFile(atPath: directory + "/bodies/tmp", contents: Data()))
        #expect(store(tier, makeResponse(key: "lost"), body: "lost") == false)
        #expect(store(tier, makeResponse(key: "lost too"), body: "lost") == false)
        #expect(tier.writeFailures == 2)
        #expect(!tier.storingPaused, "not the disk's condition: every fill still tries")
        #expect(tier.variants(for: "lost").isEmpty)
        #expect(tier.variants(for: "kept").map { String(buffer: $0.body) } == ["kept"])
        #expect(try committedBodyFiles(in: directory).count == 1)
        #expect(tier.reconciliation == ReconciliationReport())
    }

    @Test("concurrent commits are all stored")
    func concurrentCommits() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 22, inlineBodyLimit: 0)
        // More threads than cores, so commits queue up behind one another and share batches.
        let group = DispatchGroup()
        for thread in 0..<16 {
            group.enter()
            Thread.detachNewThread {
                for number in stride(from: thread, to: 200, by: 16) {
                    #expect(store(tier, makeResponse(key: "key \(number % 50)", variantKey: "v\(number)"), body: "body \(number)"))
                }
                group.leave()
            }
        }
        group.wait()
        #expect(tier.usage.objects == 200)
        #expect(tier.variants(for: "key 7").count == 4)
        #expect(try committedBodyFiles(in: directory).count == 200)
        #expect(tier.entries().count == 200)
        #expect(tier.removeAll() == 200)
        #expect(try committedBodyFiles(in: directory).isEmpty)
        #expect(tier.usage.objects == 0)
    }

    @Test("replacing, updating, removing and abandoning leave exactly the right files")
    func removeAndUpdateFiles() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
        #expect(store(tier, makeResponse(key: "k", variantKey: "gzip"), body: "one"))
        #expect(store(tier, makeResponse(key: "k", variantKey: "gzip"), body: "two"))
        #expect(try committedBodyFiles(in: directory).count == 1, "the replaced body file is deleted")
        var updated = makeResponse(key: "k", variantKey: "gzip")
        updated.tags = ["fresh"]
        #expect(tier.update(updated))
        #expect(try committedBodyFiles(in: directory).count == 1)
        #expect(tier.variants(for: "k").first?.response.tags == ["fresh"])
        #expect(tier.remove(key: "k") == 1)
        #expect(try committedBodyFiles(in: directory).isEmpty)

        // Abandoned and dropped fills leave no temporary file behind.
        let abandoned = tier.beginFill(makeResponse(key: "abandoned"))
        #expect(abandoned.append(ByteBuffer(string: "partial")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/bodies/tmp").count == 1)
        abandoned.abandon()
        do {
            let dropped = tier.beginFill(makeResponse(key: "dropped"))
            dropped.append(ByteBuffer(string: "partial"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/bodies/tmp").isEmpty)
    }
}
