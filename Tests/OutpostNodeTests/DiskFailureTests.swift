// A full disk under a running node, injected (no disk is filled): requests are still answered,
// from the origin and then from memory; the disk tier logs the condition once, counts the lost
// and the skipped stores, and resumes storing by itself once writes succeed again.
import EdgeCache
import Foundation
import Logging
import OutpostNode
import OutpostTesting
import Synchronization
import Testing

@testable import CacheStore

#if canImport(Glibc)
import Glibc
#endif

@Suite("Disk full through the node", .timeLimit(.minutes(1)))
struct DiskFailureTests {
    @Test("ENOSPC: the node serves from origin and memory, logs once, counts; storing resumes by itself")
    func diskFull() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-full-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let records = LogRecords()
        try await withOrigin({ request in .ok("body of \(request.target)", headers: [("Cache-Control", "max-age=3600")]) }) { origin in
            try await withNode(origins: [origin], configure: { configuration in
                configuration.cacheDirectory = directory
                configuration.diskSize = 64 << 20
            }, logger: records.logger) { node in
                let disk = try #require(node.engine.disk)
                let tier = try #require(disk.storage as? DiskTier)
                let clock = Mutex<Double>(1_000)
                let full = Mutex(true)
                tier.seams.setClock { clock.withLock { $0 } }
                // Small bodies are written inline with their index row: the index write is what fails.
                tier.seams.injectFailures { operation in
                    [.write, .indexWrite].contains(operation) && full.withLock { $0 } ? ENOSPC : nil
                }
                /// One GET, then waits until its fill is in memory and its disk store has run.
                func get(_ target: String) async throws -> WireResponse {
                    let stored = node.engine.stats.snapshot[.stored]
                    let response = try await request(target, to: node)
                    if response.cacheStatus.contains("fwd=") {
                        try await waitUntil { node.engine.stats.snapshot[.stored] == stored + 1 }
                        disk.drain()
                    }
                    return response
                }
                let diskErrors = { records.messages(at: .error).filter { $0.hasPrefix("disk cache") } }

                let first = try await get("/a")
                #expect(first.bodyText == "body of /a")
                #expect(first.cacheStatus.hasPrefix("Outpost; fwd=uri-miss"))
                #expect(tier.writeFailures == 1)
                #expect(tier.storingPaused)
                let again = try await get("/a")
                #expect(again.cacheStatus.hasPrefix("Outpost; hit"), "\(again.cacheStatus)")
                #expect(again.bodyText == "body of /a")

                // Paused: the next store is skipped, not attempted; memory still serves it.
                _ = try await get("/b")
                #expect(tier.storesSkipped == 1)
                #expect(tier.writeFailures == 1)
                #expect(try await get("/b").cacheStatus.hasPrefix("Outpost; hit"))
                #expect(tier.usage.objects == 0)
                #expect(diskErrors() == ["disk cache write failed"])

                // Space comes back; after the probe interval the next store goes through.
                full.withLock { $0 = false }
                clock.withLock { $0 += DiskTier.storingProbeInterval }
                _ = try await get("/c")
                #expect(!tier.storingPaused)
                #expect(tier.usage.objects == 1)
                #expect(records.messages(at: .notice).filter { $0 == "disk cache storing resumed" }.count == 1)
                #expect(diskErrors().count == 1)
                #expect(origin.requestCount == 3)
            }
        }
    }
}
