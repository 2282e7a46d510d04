// A node killed with SIGKILL in the middle of many fills, restarted on the same cache directory:
// no request may then get a body that differs from the origin's (RFC 9111 §3.3 — what was cut
// short is never stored, and the disk tier's reconciliation drops what was half-written).
import CacheStore
import Foundation
import OutpostTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Crash safety", .timeLimit(.minutes(2)))
struct CrashTests {
    static let size = 1 << 20

    /// The byte object `index` is made of, so a body from the wrong object or a torn one shows.
    static func pattern(_ index: Int) -> UInt8 { UInt8(index % 251) }

    /// Whether every object the index lists has its whole, unaltered body (what `outpostctl
    /// inspect` reports), read-only while the node may be running.
    func intactBodies(_ directory: String) throws -> Bool {
        let reader = try IndexReader(directory: directory)
        let listed = try reader.list(limit: 10_000, now: Date().timeIntervalSince1970)
        return try listed.allSatisfy { entry in try reader.entries(url: entry.url).allSatisfy { $0.bodyIntact == true } }
    }

    @Test("SIGKILL during 200 concurrent fills of 1 MiB objects, restart: every body matches the origin's")
    func killDuringFills() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withOrigin({ request in
            let index = Int(request.target.split(separator: "/").last ?? "") ?? 0
            return OriginReply(headers: [("Cache-Control", "max-age=3600")], body: .generated(size: Self.size, pattern: Self.pattern(index)))
        }) { origin in
            let arguments = ["--origin", origin.url, "--cache-dir", directory, "--disk-size", "512MiB", "--memory-size", "512MiB"]
            let (first, firstPort) = try startServing(arguments)
            let fills = Task {
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<200 {
                        group.addTask { _ = try? await send("GET /object/\(index) HTTP/1.1\r\nHost: a\r\n\r\n", to: firstPort) }
                    }
                }
            }
            // Kill it while fills are in flight, once some bodies have reached the disk.
            let deadline = ContinuousClock.now + .seconds(30)
            while bodyFiles(directory).count < 30 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(origin.requestCount < 200 || bodyFiles(directory).count < 200, "the kill should land mid-way")
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
            await fills.value
            #expect(first.terminationReason == .uncaughtSignal)
            // What the index lists after the crash has an intact body, every one.
            #expect(try intactBodies(directory) == true)

            let (second, secondPort) = try startServing(arguments)
            defer { second.terminate(); second.waitUntilExit() }
            var hits = 0
            for index in 0..<200 {
                let response = try await send("GET /object/\(index) HTTP/1.1\r\nHost: a\r\n\r\n", to: secondPort)
                #expect(response.status == 200)
                #expect(response.body.count == Self.size, "object \(index)")
                #expect(response.body.allSatisfy { $0 == Self.pattern(index) }, "object \(index) differs from the origin's")
                if response.cacheStatus.hasPrefix("Outpost; hit") { hits += 1 }
            }
            // Some objects were stored before the kill and survive it; the rest were refetched.
            #expect(hits > 0)
            #expect(try intactBodies(directory) == true)
        }
    }
}
