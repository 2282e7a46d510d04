// The disk writer seen from the event loops: stores wait (up to `storeDelay`, or until enough
// wait) and are written together, and every other write — a purge, a removal, a drain — first
// writes the stores waiting, so writes still apply in the order they were made. A real disk
// tier in a temporary directory; the long delays make the order of events certain rather than
// a matter of timing.
import CachePolicy
import CacheStore
import EdgeCache
import Foundation
import Logging
import NIOCore
import Testing

@Suite("Disk writer: stores wait and are written together", .timeLimit(.minutes(1)))
struct DiskWriterTests {
    static func entry(_ name: String) -> StoredEntry {
        let now = WallClock().now()
        let response = StoredResponse(
            key: "GET http://site.example/\(name)", variantKey: "", varyFieldNames: [], url: "http://site.example/\(name)",
            host: "site.example", status: 200, fields: [("Cache-Control", "max-age=3600")], requestTime: now,
            responseTime: now, bodyLength: 4)
        return StoredEntry(response: response, body: ByteBuffer(string: "body"))
    }

    func withWriter(storeDelay: DispatchTimeInterval, maximumPendingStores: Int = 1_024,
                    _ body: (DiskAccess, DiskTier) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-writer-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20)
        var logger = Logger(label: "test.disk-writer")
        logger.logLevel = .critical
        let disk = DiskAccess(storage: tier, maximumPendingStores: maximumPendingStores, storeDelay: storeDelay, logger: logger)
        try await body(disk, tier)
        await disk.shutdown()
    }

    @Test("stores wait for the delay; a purge first writes them, then selects among them")
    func purgeWritesWaitingStoresFirst() async throws {
        try await withWriter(storeDelay: .seconds(60)) { disk, tier in
            for name in ["a", "b", "c"] { disk.store(Self.entry(name)) }
            #expect(tier.usage.objects == 0)
            let purged = await disk.purge(.key("GET http://site.example/b"), action: .remove)
            #expect(purged.map(\.key) == ["GET http://site.example/b"])
            #expect(tier.usage.objects == 2)
            #expect(tier.variants(for: "GET http://site.example/b").isEmpty)
            #expect(tier.variants(for: "GET http://site.example/a").count == 1)
        }
    }

    @Test("a removal and a drain write the stores waiting before anything else")
    func removalAndDrain() async throws {
        try await withWriter(storeDelay: .seconds(60)) { disk, tier in
            disk.store(Self.entry("removed"))
            disk.remove(key: "GET http://site.example/removed")
            disk.store(Self.entry("kept"))
            disk.drain()
            #expect(tier.usage.objects == 1)
            #expect(tier.variants(for: "GET http://site.example/kept").count == 1)
            #expect(tier.variants(for: "GET http://site.example/removed").isEmpty)
        }
    }

    @Test("a quarter of the waiting bound starts the writer at once; the delay writes the rest")
    func thresholdAndDelay() async throws {
        try await withWriter(storeDelay: .seconds(60), maximumPendingStores: 8) { disk, tier in
            disk.store(Self.entry("first"))
            disk.store(Self.entry("second"))  // the threshold: 8 / 4
            try await waitUntil { tier.usage.objects == 2 }
        }
        try await withWriter(storeDelay: .milliseconds(20)) { disk, tier in
            disk.store(Self.entry("alone"))
            try await waitUntil { tier.usage.objects == 1 }
            disk.store(Self.entry("later"))
            try await waitUntil { tier.usage.objects == 2 }
        }
    }
}
