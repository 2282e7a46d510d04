// Small bodies inline in the disk tier's index: where the line between inline and file falls,
// that an inline body keeps the guarantees of a body file (length and CRC-32 checked on read,
// nothing damaged served, nothing left behind by a replace, remove, purge or eviction), and that
// an index of schema version 1 (every body a file) is migrated and still served.
import CachePolicy
import Foundation
import GRDB
import NIOCore
import Testing

@testable import CacheStore

@Suite("Disk tier: inline bodies")
struct DiskTierInlineTests {
    @Test("bodies up to the limit go inline, larger ones to files; all read back after a reopen")
    func inlineAndFileBodies() throws {
        let directory = makeTemporaryDirectory()
        let limit = DiskTier.defaultInlineBodyLimit
        let atLimit = patterned(limit, seed: 1)
        let pastLimit = patterned(limit + 1, seed: 2)
        do {
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20)
            #expect(store(tier, makeResponse(key: "at-limit"), body: atLimit, parts: 3))
            // The third part takes the body past the limit: what was kept in memory goes to a file first.
            #expect(store(tier, makeResponse(key: "past-limit"), body: pastLimit, parts: 3))
            #expect(store(tier, makeResponse(key: "empty"), body: ByteBuffer()))
            #expect(try committedBodyFiles(in: directory).count == 1)
            #expect(try bodyFile(of: "past-limit", in: directory) != nil)
            #expect(try inlineBodyCount(in: directory) == 2)
        }
        let reopened = try DiskTier(directory: directory, capacityBytes: 1 << 20)
        #expect(reopened.reconciliation == ReconciliationReport())
        #expect(reopened.variants(for: "at-limit").map(\.body) == [atLimit])
        #expect(reopened.variants(for: "past-limit").map(\.body) == [pastLimit])
        #expect(reopened.variants(for: "empty").map(\.body.readableBytes) == [0])
        #expect(reopened.variants(for: "at-limit").first?.response.bodyLength == limit)
        #expect(reopened.usage == StorageUsage(objects: 3, bytes: 2 * limit + 1, evictions: 0))
    }

    @Test("a flipped byte or a missing inline body is never served; it is counted and its row goes")
    func damagedInlineBody() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20)
        #expect(store(tier, makeResponse(key: "flipped"), body: patterned(4096, seed: 3), parts: 2))
        #expect(store(tier, makeResponse(key: "missing"), body: "gone"))
        #expect(store(tier, makeResponse(key: "kept"), body: "intact"))
        let queue = try DatabaseQueue(path: directory + "/index.sqlite")
        try queue.write { database in
            let id = try #require(try Int64.fetchOne(database, sql: "SELECT id FROM objects WHERE key = 'flipped'"))
            var body = try #require(try Data.fetchOne(database, sql: "SELECT body FROM inline_bodies WHERE object_id = ?", arguments: [id]))
            body[2000] ^= 0x01
            try database.execute(sql: "UPDATE inline_bodies SET body = ? WHERE object_id = ?", arguments: [body, id])
            try database.execute(
                sql: "DELETE FROM inline_bodies WHERE object_id = (SELECT id FROM objects WHERE key = 'missing')")
        }
        let reader = try IndexReader(directory: directory)
        #expect(try reader.entries(url: "https://example.com/flipped").map(\.bodyIntact) == [false])
        #expect(try reader.entries(url: "https://example.com/kept").map(\.bodyIntact) == [true])

        #expect(tier.variants(for: "flipped").isEmpty)
        #expect(tier.variants(for: "missing").isEmpty)
        #expect(tier.corruptBodiesDetected == 2)
        #expect(try rowCount(of: "flipped", in: directory) == 0)
        #expect(try rowCount(of: "missing", in: directory) == 0)
        #expect(tier.variants(for: "kept").map { String(buffer: $0.body) } == ["intact"])
        #expect(tier.usage.objects == 1)
        #expect(try inlineBodyCount(in: directory) == 1)
    }

    @Test("replacing, removing, purging and evicting leave no inline body without its row")
    func nothingLeftBehind() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 64 * 1024)
        #expect(store(tier, makeResponse(key: "replaced"), body: "first"))
        #expect(store(tier, makeResponse(key: "replaced"), body: "second"))
        #expect(tier.variants(for: "replaced").map { String(buffer: $0.body) } == ["second"])
        #expect(try inlineBodyCount(in: directory) == 1)

        #expect(store(tier, makeResponse(key: "removed"), body: "doomed"))
        #expect(tier.remove(key: "removed") == 1)
        #expect(store(tier, makeResponse(key: "purged"), body: "doomed too"))
        #expect(tier.purge(.urlPrefixes(["https://example.com/purged"]), action: .remove).count == 1)
        #expect(try inlineBodyCount(in: directory) == 1)

        // Forty 4 KiB bodies through a 64 KiB tier: most are evicted, rows and bodies together.
        for index in 0..<40 { #expect(store(tier, makeResponse(key: "filler-\(index)"), body: bytes(4096))) }
        let usage = tier.usage
        #expect(usage.evictions > 20)
        #expect(usage.bytes <= 64 * 1024)
        #expect(try inlineBodyCount(in: directory) == usage.objects)
        #expect(try committedBodyFiles(in: directory).isEmpty)
    }

    @Test("an index of schema version 1 is migrated: its body files still serve, new small bodies go inline")
    func migrationFromVersionOne() throws {
        let directory = makeTemporaryDirectory()
        do {
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
            #expect(store(tier, makeResponse(key: "old"), body: "stored by version 1"))
        }
        // What version 1 left: the same tables without inline_bodies.
        let queue = try DatabaseQueue(path: directory + "/index.sqlite")
        try queue.write { database in
            try database.execute(sql: "DROP TABLE inline_bodies")
            try database.execute(sql: "PRAGMA user_version = 1")
        }
        try queue.close()

        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20)
        #expect(tier.reconciliation == ReconciliationReport())
        #expect(tier.variants(for: "old").map { String(buffer: $0.body) } == ["stored by version 1"])
        #expect(store(tier, makeResponse(key: "new"), body: "stored by version 2"))
        #expect(tier.variants(for: "new").map { String(buffer: $0.body) } == ["stored by version 2"])
        #expect(try committedBodyFiles(in: directory).count == 1)
        #expect(try inlineBodyCount(in: directory) == 1)
        let version = try DatabaseQueue(path: directory + "/index.sqlite").read {
            try Int.fetchOne($0, sql: "PRAGMA user_version")
        }
        #expect(version == DiskTier.indexSchemaVersion)
        #expect(DiskTier.indexSchemaVersion == 2)
    }

    @Test("a batch of small stores writes no body file")
    func batchedInlineStore() throws {
        let directory = makeTemporaryDirectory()
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20)
        let entries = (0..<100).map { index in
            StoredEntry(response: makeResponse(key: "GET example.com/\(index)"), body: patterned(1024, seed: UInt8(index)))
        }
        #expect(tier.store(entries) == 100)
        #expect(try committedBodyFiles(in: directory).isEmpty)
        #expect(try inlineBodyCount(in: directory) == 100)
        #expect(tier.variants(for: "GET example.com/42").map(\.body) == [patterned(1024, seed: 42)])
    }
}

/// `count` bytes that differ from position to position, so a misplaced part shows.
private func patterned(_ count: Int, seed: UInt8) -> ByteBuffer {
    ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) &+ seed })
}

private func inlineBodyCount(in directory: String) throws -> Int {
    try DatabaseQueue(path: directory + "/index.sqlite").read {
        try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM inline_bodies") ?? -1
    }
}
