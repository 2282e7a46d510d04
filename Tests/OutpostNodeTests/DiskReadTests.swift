// Reading the disk tier on a memory miss: concurrent requests for one key share one disk read and
// one promotion, and a purge that arrives while the read is under way keeps what it selected out
// of memory. The disk is a stand-in whose reads wait behind a gate the test opens, so the overlap
// is certain rather than a matter of timing.
import CachePolicy
import CacheStore
import Dispatch
import EdgeCache
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import OriginClient
import Testing

/// A disk tier stand-in: `variants(for:)` counts its calls and blocks until the gate opens.
final class GatedDisk: CacheStorage {
    private let gate = DispatchSemaphore(value: 0)
    private let calls = NIOLockedValueBox(0)
    let entries: [StoredEntry]
    private let answersMayHold: Bool

    init(entries: [StoredEntry], mayHold: Bool = true) {
        self.entries = entries
        self.answersMayHold = mayHold
    }

    func mayHold(key: String) -> Bool { answersMayHold }

    var reads: Int { calls.withLockedValue { $0 } }
    /// Lets every waiting read, and every later one, through.
    func open() { for _ in 0..<64 { gate.signal() } }

    func variants(for key: String) -> [StoredEntry] {
        calls.withLockedValue { $0 += 1 }
        gate.wait()
        gate.signal()
        return entries.filter { $0.response.key == key }
    }
    func beginFill(_ response: StoredResponse) -> any CacheFill { MemoryTier(capacityBytes: 0).beginFill(response) }
    func update(_ response: StoredResponse) -> Bool { false }
    func remove(key: String) -> Int { 0 }
    func purge(_ selection: PurgeSelection, action: PurgeAction) -> [PurgedVariant] { [] }
    var usage: StorageUsage { StorageUsage() }
}

@Suite("Disk reads on a memory miss", .timeLimit(.minutes(1)))
struct DiskReadTests {
    static let key = "GET http://site.example/on-disk"

    static func entry(fields: HeaderFields = [("Cache-Control", "max-age=3600"), ("ETag", "\"v1\"")]) -> StoredEntry {
        let now = WallClock().now()
        let response = StoredResponse(
            key: key, variantKey: "", varyFieldNames: [], url: "http://site.example/on-disk", host: "site.example", status: 200,
            fields: fields, requestTime: now, responseTime: now, bodyLength: 4)
        return StoredEntry(response: response, body: ByteBuffer(string: "body"))
    }

    /// An engine over a memory tier and `disk`, with an origin it never calls.
    func withEngine(disk storage: GatedDisk, _ body: (CacheEngine, DiskAccess, any EventLoop) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var logger = Logger(label: "test.disk-reads")
        logger.logLevel = .critical
        let origin = OriginClient(origins: [try OriginServer(url: "http://127.0.0.1:9")], configuration: .init(),
                                  eventLoopGroup: group, logger: logger)
        let disk = DiskAccess(storage: storage, logger: logger)
        let engine = CacheEngine(configuration: CacheConfiguration(), storage: MemoryTier(capacityBytes: 1 << 20), disk: disk,
                                 origin: origin, logger: logger)
        do {
            try await body(engine, disk, group.next())
        } catch {
            storage.open()
            await disk.shutdown()
            try? await origin.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
        storage.open()
        await disk.shutdown()
        try await origin.shutdown()
        try await group.shutdownGracefully()
    }

    /// Starts a disk read of the key, runs `meanwhile` once the read is held at the gate, then
    /// opens the gate and waits for the read (and its promotion) to finish.
    func whileReadIsHeld(_ engine: CacheEngine, _ storage: GatedDisk, on loop: any EventLoop,
                         meanwhile: () async throws -> Void) async throws {
        let reading = engine.consultDisk(key: Self.key, on: loop)
        try await waitUntil { storage.reads == 1 }
        try await meanwhile()
        storage.open()
        _ = try await reading.get()
    }

    @Test("twenty requests for a key only the disk holds: one disk read, one promotion, every request then finds it in memory")
    func concurrentReadsShareOne() async throws {
        let storage = GatedDisk(entries: [Self.entry()])
        try await withEngine(disk: storage) { engine, disk, loop in
            let futures = (0..<20).map { _ in engine.consultDisk(key: Self.key, on: loop) }
            try await waitUntil { storage.reads == 1 }
            #expect(disk.readsUnderway == 1)
            storage.open()
            for future in futures { _ = try await future.get() }
            #expect(storage.reads == 1)
            #expect(engine.stats.snapshot[.diskPromotions] == 1)
            #expect(engine.storage.variants(for: Self.key).count == 1)
            try await waitUntil { disk.readsUnderway == 0 }

            // Done reads are not remembered: a later miss reads again (memory may have evicted it).
            _ = engine.storage.remove(key: Self.key)
            _ = try await engine.consultDisk(key: Self.key, on: loop).get()
            #expect(storage.reads == 2)
            #expect(engine.stats.snapshot[.diskPromotions] == 2)
        }
    }

    @Test("a disk that cannot hold the key is not asked: the memory miss is decided without a disk read")
    func keyTheDiskCannotHold() async throws {
        let request = CacheRequest(method: .GET, target: "/on-disk", headers: HTTPHeaders([("Host", "site.example")]), hasBody: false)
        let storage = GatedDisk(entries: [Self.entry()], mayHold: false)
        try await withEngine(disk: storage) { engine, _, _ in
            let decision = engine.decide(request, now: WallClock().now())
            if case .consultDisk = decision { Issue.record("asked a disk that cannot hold the key: \(decision)") }
            #expect(storage.reads == 0)
        }
        let holding = GatedDisk(entries: [Self.entry()])
        try await withEngine(disk: holding) { engine, _, _ in
            guard case .consultDisk(let key) = engine.decide(request, now: WallClock().now()) else {
                Issue.record("a disk that may hold the key was not asked")
                return
            }
            #expect(key == Self.key)
        }
    }

    @Test("a purge while the disk is read: what the read brings back is not promoted")
    func purgeDuringTheRead() async throws {
        let storage = GatedDisk(entries: [Self.entry()])
        try await withEngine(disk: storage) { engine, _, loop in
            try await whileReadIsHeld(engine, storage, on: loop) {
                let outcome = await engine.purge(.key(Self.key), action: .remove)
                #expect(outcome.variants.isEmpty)  // neither tier held it yet
            }
            #expect(engine.storage.variants(for: Self.key).isEmpty)
            #expect(engine.stats.snapshot[.diskPromotions] == 0)
        }
    }

    @Test("a read that finishes after a newer response was stored in memory does not replace it")
    func newerMemoryVariantWins() async throws {
        let storage = GatedDisk(entries: [Self.entry()])
        try await withEngine(disk: storage) { engine, _, loop in
            try await whileReadIsHeld(engine, storage, on: loop) {
                var newer = Self.entry(fields: [("Cache-Control", "max-age=3600"), ("ETag", "\"v2\"")])
                newer.response.responseTime = newer.response.responseTime + 10
                let fill = engine.storage.beginFill(newer.response)
                #expect(fill.append(newer.body) && fill.commit())
            }
            let held = engine.storage.variants(for: Self.key)
            #expect(held.map { $0.response.fields["etag"] } == ["\"v2\""])
            #expect(engine.stats.snapshot[.diskPromotions] == 0)
        }
    }
}
