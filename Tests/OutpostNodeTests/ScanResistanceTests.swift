// The eviction policy as an operator meets it, through a running node: a key requested 30 times,
// then one pass of 1,500 keys requested once each (a crawler, a scan) through a memory tier that
// holds a few hundred objects. Under S3-FIFO (the default) the hot key survives the scan and its
// next request is a hit; under LRU (`eviction: lru`, the baseline) the scan flushes it.
import CachePolicy
import Foundation
import OutpostNode
import OutpostTesting
import Testing

@Suite("Scan resistance through the node", .timeLimit(.minutes(2)))
struct ScanResistanceTests {
    @Test("30 hits on one key, then 1,500 one-time keys: S3-FIFO keeps the hot key, LRU loses it",
          arguments: [EvictionChoice.threeQueueFIFO, .leastRecentlyUsed])
    func hotKeySurvivesAScan(_ eviction: EvictionChoice) async throws {
        let body = String(repeating: "b", count: 1024)
        try await withOrigin({ _ in .ok(body, headers: [("Cache-Control", "max-age=600")]) }) { origin in
            try await withNode(origins: [origin], configure: {
                $0.memorySize = 512 * 1024  // 16 shards of 32 KiB: a few hundred 1 KiB objects in all
                $0.cache.rules.eviction = eviction
            }) { node in
                try await WireConnection.with(port: node.port) { connection in
                    func get(_ path: String) async throws -> String {
                        try await connection.send("GET \(path) HTTP/1.1\r\nHost: site.example\r\n\r\n")
                        return try await connection.readResponse().header("cache-status") ?? ""
                    }
                    for _ in 0..<30 { _ = try await get("/hot") }
                    #expect(try await get("/hot").hasPrefix("Outpost; hit"))
                    for number in 0..<1_500 { _ = try await get("/scan/\(number)") }
                    let after = try await get("/hot")
                    switch eviction {
                    case .threeQueueFIFO: #expect(after.hasPrefix("Outpost; hit"), "\(after)")
                    case .leastRecentlyUsed: #expect(after.contains("fwd=uri-miss"), "\(after)")
                    }
                }
                #expect(node.engine.storage.usage.objects < 1_500, "the tier did not evict: the scan proved nothing")
            }
        }
    }
}
