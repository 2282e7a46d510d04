// The disk tier seen from outside: a restart keeps the cache and serves while it reconciles in
// the background, a damaged body is refetched rather than served, and the directory stays within
// --disk-size.
import CacheStore
import EdgeCache
import Foundation
import NIOCore
import OutpostNode
import OutpostTesting
import Testing

@Suite("Disk tier through the node", .timeLimit(.minutes(1)))
struct RestartTests {
    func cacheDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("outpost-cache-\(UUID().uuidString)").path
    }

    func onDisk(_ directory: String) -> (configure: (inout NodeConfiguration) -> Void, directory: String) {
        ({ configuration in
            configuration.cacheDirectory = directory
            configuration.diskSize = 64 << 20
            // These tests read the disk through requests; warmingAtStart covers warming.
            configuration.warmMemory = 0
        }, directory)
    }

    @Test("fill 1,000 objects, stop, start again on the same directory: every next request is a hit, the origin sees nothing new")
    func restartKeepsTheCache() async throws {
        let directory = cacheDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withOrigin({ request in .ok("body of \(request.target)", headers: [("Cache-Control", "max-age=3600")]) }) { origin in
            try await withNode(origins: [origin], configure: onDisk(directory).configure) { node in
                for index in 0..<1000 { _ = try await request("/object/\(index)", to: node) }
                // A client has the whole body (Content-Length) a moment before the fill commits.
                try await waitUntil { node.engine.stats.snapshot[.stored] == 1000 }
            }
            #expect(origin.requestCount == 1000)
            try await withNode(origins: [origin], configure: onDisk(directory).configure) { node in
                for index in 0..<1000 {
                    let response = try await request("/object/\(index)", to: node)
                    #expect(response.cacheStatus.hasPrefix("Outpost; hit"), "object \(index): \(response.cacheStatus)")
                    #expect(response.bodyText == "body of /object/\(index)")
                }
                #expect(node.engine.stats.snapshot[.diskPromotions] == 1000)
            }
            #expect(origin.requestCount == 1000)
        }
    }

    @Test("a restart warms memory with the most recently used objects that fit the budget, before any request asks")
    func warmingAtStart() async throws {
        let directory = cacheDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let body = String(repeating: "w", count: 1_000)
        try await withOrigin({ _ in .ok(body, headers: [("Cache-Control", "max-age=3600")]) }) { origin in
            try await withNode(origins: [origin], configure: onDisk(directory).configure) { node in
                for index in 0..<20 {
                    _ = try await request("/object/\(index)", to: node)
                    // One at a time, so the disk's recency order is the request order.
                    try await waitUntil { node.engine.disk?.storage.usage.objects == index + 1 }
                }
            }
            let records = LogRecords()
            try await withNode(origins: [origin], configure: { configuration in
                onDisk(directory).configure(&configuration)
                configuration.warmMemory = 10_500  // ten bodies of 1,000 bytes, not eleven
            }, logger: records.logger) { node in
                let warming = try #require(node.warming)
                warming.waitUntilFinished()
                #expect(warming.promoted == 10)
                #expect(node.engine.storage.usage.objects == 10)
                #expect(records.messages(at: .notice).contains("memory warmed from disk"))
                for index in 10..<20 {
                    let response = try await request("/object/\(index)", to: node)
                    #expect(response.cacheStatus.hasPrefix("Outpost; hit"), "object \(index): \(response.cacheStatus)")
                }
                // Served from memory: nothing more was read from disk.
                #expect(node.engine.stats.snapshot[.diskPromotions] == 10)
                let older = try await request("/object/9", to: node)
                #expect(older.cacheStatus.hasPrefix("Outpost; hit"))
                #expect(node.engine.stats.snapshot[.diskPromotions] == 11)
            }
            #expect(origin.requestCount == 20)

            // Warming off: memory starts empty.
            try await withNode(origins: [origin], configure: onDisk(directory).configure) { node in
                #expect(node.warming == nil)
                #expect(node.engine.storage.usage.objects == 0)
            }
        }
    }

    /// On disk, with a memory tier whose shards hold 64 KiB: a 200,000-byte body fits only on disk.
    func onDiskWithSmallMemory(_ directory: String) -> (inout NodeConfiguration) -> Void {
        { configuration in
            onDisk(directory).configure(&configuration)
            configuration.memorySize = 1 << 20
        }
    }

    @Test("a response too large for memory is stored on disk alone, served from disk, and kept across a restart")
    func largerThanMemory() async throws {
        let directory = cacheDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let body = String(repeating: "0123456789abcdef", count: 12_500)  // 200,000 bytes; a memory shard holds 64 KiB
        try await withOrigin({ _ in .ok(body, headers: [("Cache-Control", "max-age=3600")]) }) { origin in
            let configure = onDiskWithSmallMemory(directory)
            try await withNode(origins: [origin], configure: configure) { node in
                let first = try await request("/large", to: node)
                #expect(first.bodyText == body)
                #expect(first.cacheStatus.hasPrefix("Outpost; fwd=uri-miss"))
                // Streamed into the store as it is sent: its head cannot yet say `stored` (RFC 9211 §2.7).
                #expect(!first.cacheStatus.contains("stored"), "\(first.cacheStatus)")
                try await waitUntil { node.engine.stats.snapshot[.stored] == 1 }
                #expect(node.engine.storage.usage.objects == 0)
                #expect(node.engine.disk?.storage.usage.bytes == body.utf8.count)
                for _ in 0..<3 {
                    let again = try await request("/large", to: node)
                    #expect(again.cacheStatus.hasPrefix("Outpost; hit"), "\(again.cacheStatus)")
                    #expect(again.bodyText == body)
                }
                #expect(node.engine.stats.snapshot[.diskPromotions] == 0)
            }
            try await withNode(origins: [origin], configure: configure) { node in
                let afterRestart = try await request("/large", to: node)
                #expect(afterRestart.cacheStatus.hasPrefix("Outpost; hit"))
                #expect(afterRestart.bodyText == body)
                // A purge reaches it on disk.
                let key = try #require(node.engine.key(forURL: "http://site.example/large"))
                let purged = await node.engine.purge(.key(key), action: .remove)
                #expect(purged.variants.count == 1)
                let afterPurge = try await request("/large", to: node)
                #expect(afterPurge.cacheStatus.hasPrefix("Outpost; fwd=uri-miss"))
            }
            #expect(origin.requestCount == 2)
        }
    }

    @Test("a chunked response that outgrows memory moves to the disk alone, and its first parts are not lost")
    func chunkedLargerThanMemory() async throws {
        let directory = cacheDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let chunks = (0..<10).map { index in Array(String(repeating: "\(index)", count: 20_000).utf8) }  // 200,000 bytes
        let body = String(decoding: chunks.joined(), as: UTF8.self)
        try await withOrigin({ _ in OriginReply(headers: [("Cache-Control", "max-age=3600")], body: .chunked(chunks)) }) { origin in
            try await withNode(origins: [origin], configure: onDiskWithSmallMemory(directory)) { node in
                let first = try await request("/chunked", to: node)
                #expect(first.bodyText == body)
                try await waitUntil { node.engine.stats.snapshot[.stored] == 1 }
                #expect(node.engine.storage.usage.objects == 0)
                let again = try await request("/chunked", to: node)
                #expect(again.cacheStatus.hasPrefix("Outpost; hit"), "\(again.cacheStatus)")
                #expect(again.bodyText == body)
            }
            #expect(origin.requestCount == 1)
        }
    }

    @Test("a restart serves while reconciliation runs in the background; when done, the leftovers are gone and it is logged")
    func backgroundReconciliation() async throws {
        let directory = cacheDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Even objects are larger than the inline limit (a body file each), odd ones are inline.
        try await withOrigin({ request in
            let index = Int(request.target.split(separator: "/").last ?? "") ?? 0
            let padding = index % 2 == 0 ? String(repeating: ".", count: DiskTier.defaultInlineBodyLimit) : ""
            return .ok("body of \(request.target)" + padding, headers: [("Cache-Control", "max-age=3600")])
        }) { origin in
            try await withNode(origins: [origin], configure: onDisk(directory).configure) { node in
                for index in 0..<20 { _ = try await request("/object/\(index)", to: node) }
                try await waitUntil { node.engine.stats.snapshot[.stored] == 20 }
            }
            let orphan = directory + "/bodies/ff/ff/999999.body"
            let temporary = directory + "/bodies/tmp/half-written.tmp"
            try FileManager.default.createDirectory(atPath: directory + "/bodies/ff/ff", withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: orphan, contents: Data("orphan".utf8)))
            #expect(FileManager.default.createFile(atPath: temporary, contents: Data("half".utf8)))

            let records = LogRecords()
            try await withNode(origins: [origin], configure: onDisk(directory).configure, logger: records.logger) { node in
                for index in [3, 4] {
                    let response = try await request("/object/\(index)", to: node)
                    #expect(response.cacheStatus.hasPrefix("Outpost; hit"))
                    #expect(response.bodyText.hasPrefix("body of /object/\(index)"))
                }
                let tier = try #require(node.engine.disk?.storage as? DiskTier)
                try await waitUntil { tier.reconciliationFinished }
                #expect(tier.reconciliation?.orphanBodiesRemoved == 1)
                #expect(tier.reconciliation?.temporaryFilesRemoved == 1)
                #expect(records.messages(at: .notice).contains("disk cache reconciled"))
                #expect(!FileManager.default.fileExists(atPath: orphan))
                #expect(!FileManager.default.fileExists(atPath: temporary))
                #expect(bodyFiles(directory).count == 10)
            }
            #expect(origin.requestCount == 20)
        }
    }

    @Test("a flipped byte in a stored body file: that object is refetched, never served")
    func corruptBody() async throws {
        let directory = cacheDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Larger than the inline limit, so the body has a file of its own.
        let body = "the true body" + String(repeating: ".", count: DiskTier.defaultInlineBodyLimit)
        try await withOrigin({ _ in .ok(body, headers: [("Cache-Control", "max-age=3600")]) }) { origin in
            try await withNode(origins: [origin], configure: onDisk(directory).configure) { node in
                _ = try await request("/fragile", to: node)
            }
            let files = bodyFiles(directory)
            #expect(files.count == 1)
            let file = try #require(files.first)
            let handle = try #require(FileHandle(forUpdatingAtPath: file))
            try handle.seek(toOffset: 2)
            try handle.write(contentsOf: Data([UInt8(ascii: "X")]))
            try handle.close()
            try await withNode(origins: [origin], configure: onDisk(directory).configure) { node in
                let response = try await request("/fragile", to: node)
                #expect(response.bodyText == body)
                #expect(response.cacheStatus.hasPrefix("Outpost; fwd=uri-miss"))
            }
            #expect(origin.requestCount == 2)
        }
    }

    @Test("with a small --disk-size, filling several times as much keeps the body files within the bound (± one object)")
    func diskBound() async throws {
        let directory = cacheDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let body = String(repeating: "b", count: 20_000)  // above the inline limit: a file each
        try await withOrigin({ _ in .ok(body, headers: [("Cache-Control", "max-age=3600")]) }) { origin in
            try await withNode(origins: [origin], configure: { configuration in
                configuration.cacheDirectory = directory
                configuration.diskSize = 200_000
            }) { node in
                for index in 0..<100 { _ = try await request("/big/\(index)", to: node) }
            }
            let bytes = try bodyFiles(directory).reduce(0) { total, path in
                total + ((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
            }
            #expect(bytes > 0)
            #expect(bytes <= 200_000 + 20_000)
        }
    }
}
