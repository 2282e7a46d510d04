// Disk hits on bodies larger than memory can take: the body stays in its file, verified, and is
// streamed in parts (ProxyHandler+StoredFiles). Seen from a client that reuses its connection:
// whole, one range, several ranges, HEAD, an unsatisfiable range; over HTTP/2, several streams
// at once through 64 KiB flow-control windows; a damaged file is never served; a stale one is
// fetched again whole, without validators.
import AsyncHTTPClient
import CacheStore
import EdgeCache
import Foundation
import NIOCore
import NIOSSL
import OutpostNode
import OutpostTesting
import Testing

@Suite("Disk hits streamed from their files", .timeLimit(.minutes(1)))
struct StreamedDiskHitTests {
    /// 700,000 bytes: three parts of `BodyFile.partSize`, a pattern in which every range differs.
    static let body: [UInt8] = (0..<700_000).map { (index: Int) -> UInt8 in
        let letter: Int = (index * 7 + index / 1_000) % 26
        return UInt8(97 + letter)
    }

    func cacheDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("outpost-cache-\(UUID().uuidString)").path
    }

    /// A memory tier whose shards hold 64 KiB, so the body lives on disk alone, and is read in parts.
    func configure(_ directory: String) -> (inout NodeConfiguration) -> Void {
        { configuration in
            configuration.cacheDirectory = directory
            configuration.diskSize = 64 << 20
            configuration.memorySize = 1 << 20
            configuration.warmMemory = 0
        }
    }

    /// A node (memory as in `configure`, `more` on top) in front of an origin answering every
    /// request with `body` and `headers`; `test` gets the node, the origin and the cache directory,
    /// which is removed afterwards.
    func withLargeBody(headers: [(String, String)] = [("Cache-Control", "max-age=3600")],
                       more: (inout NodeConfiguration) -> Void = { _ in },
                       _ test: (Node, ScriptedOrigin, String) async throws -> Void) async throws {
        let directory = cacheDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reply = OriginReply(headers: headers.map { (name: $0.0, value: $0.1) }, body: .bytes(Self.body))
        try await withOrigin({ _ in reply }) { origin in
            try await withNode(origins: [origin], configure: { configure(directory)(&$0); more(&$0) }) { node in
                try await test(node, origin, directory)
            }
        }
    }

    /// Until the first response's fill has committed (to the disk alone: memory refuses the body).
    func waitUntilStored(_ node: Node) async throws {
        try await waitUntil { node.engine.stats.snapshot[.stored] == 1 }
    }

    @Test("one connection: whole, a range, several ranges, HEAD, an unsatisfiable range and whole again, all hits from the file")
    func streamedOnOneConnection() async throws {
        try await withLargeBody { node, origin, _ in
            let first = try await request("/large", to: node)
            #expect(first.body == Self.body)
            try await waitUntilStored(node)
            #expect(node.engine.storage.usage.objects == 0)
            let bytesBefore = node.engine.stats.snapshot[.bytesFromCache]

            try await WireConnection.with(port: node.port) { connection in
                func exchange(_ extra: String = "", method: String = "GET") async throws -> WireResponse {
                    try await connection.send("\(method) /large HTTP/1.1\r\nHost: site.example\r\n\(extra)\r\n")
                    return try await connection.readResponse(toHead: method == "HEAD")
                }
                let whole = try await exchange()
                #expect(whole.status == 200)
                #expect(whole.header("content-length") == "700000")
                #expect(whole.body == Self.body)
                #expect(whole.cacheStatus.hasPrefix("Outpost; hit"), "\(whole.cacheStatus)")

                let range = try await exchange("Range: bytes=300000-300099\r\n")
                #expect(range.status == 206)
                #expect(range.header("content-range") == "bytes 300000-300099/700000")
                #expect(range.body == Array(Self.body[300_000...300_099]))

                // Several ranges of a body in its file: the whole response (RFC 9110 §14.2).
                let several = try await exchange("Range: bytes=0-9,650000-650009\r\n")
                #expect(several.status == 200)
                #expect(several.body == Self.body)

                let head = try await exchange(method: "HEAD")
                #expect(head.status == 200)
                #expect(head.header("content-length") == "700000")

                let unsatisfiable = try await exchange("Range: bytes=800000-\r\n")
                #expect(unsatisfiable.status == 416)
                #expect(unsatisfiable.header("content-range") == "bytes */700000")

                let again = try await exchange()
                #expect(again.body == Self.body)
                #expect(again.cacheStatus.hasPrefix("Outpost; hit"), "\(again.cacheStatus)")
            }
            #expect(origin.requestCount == 1)
            #expect(node.engine.stats.snapshot[.diskPromotions] == 0)
            // Whole twice, the range, and the several ranges answered whole: four bodies from the file.
            #expect(node.engine.stats.snapshot[.diskStreams] == 4)
            #expect(node.engine.storage.usage.objects == 0)
            // Three whole bodies and one range came from the cache.
            #expect(node.engine.stats.snapshot[.bytesFromCache] - bytesBefore == 3 * 700_000 + 100)
        }
    }

    @Test("HTTP/2 over TLS: four streams at once stream the same file through 64 KiB windows, each whole")
    func streamedOverHTTP2() async throws {
        let pki = try TestPKI.make(serverName: "localhost")
        try await withLargeBody(more: { configuration in
            configuration.tlsListens = [HostAndPort(host: "127.0.0.1", port: 0)]
            configuration.tlsCertificateFiles = [pki.serverCertificate]
            configuration.tlsKeyFiles = [pki.serverKey]
        }) { node, origin, _ in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(pki.authorityCertificate)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
            let url = "https://localhost:\(try #require(node.tlsPorts.first))/large"
            func fetch() async throws -> (HTTPClientResponse, ByteBuffer) {
                let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(20))
                return (response, try await response.body.collect(upTo: 1 << 20))
            }
            do {
                let (first, _) = try await fetch()
                #expect(first.version == .http2)
                try await waitUntilStored(node)
                let answers = try await withThrowingTaskGroup(of: (HTTPClientResponse, ByteBuffer).self) { group in
                    for _ in 0..<4 { group.addTask { try await fetch() } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(answers.count == 4)
                for (response, body) in answers {
                    #expect(response.headers.first(name: "cache-status")?.contains("hit") == true)
                    #expect(Array(buffer: body) == Self.body)
                }
                #expect(node.engine.stats.snapshot[.diskStreams] == 4)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            #expect(origin.requestCount == 1)
        }
    }

    @Test("a flipped byte deep in a large body file: the read finds it, the origin is asked again")
    func damagedFileIsNotServed() async throws {
        try await withLargeBody { node, origin, directory in
            _ = try await request("/large", to: node)
            try await waitUntilStored(node)
            let file = try #require(bodyFiles(directory).first)
            let handle = try #require(FileHandle(forUpdatingAtPath: file))
            try handle.seek(toOffset: 600_000)  // in the third part
            try handle.write(contentsOf: Data([UInt8(ascii: "#")]))
            try handle.close()

            let response = try await request("/large", to: node)
            #expect(response.body == Self.body)
            #expect(response.cacheStatus.hasPrefix("Outpost; fwd=uri-miss"), "\(response.cacheStatus)")
            #expect(origin.requestCount == 2)
        }
    }

    @Test("a stale body in its file is fetched again whole: no validators, since a 304 could not be answered from it")
    func staleFileIsRefetched() async throws {
        try await withLargeBody(headers: [("Cache-Control", "max-age=0"), ("ETag", "\"v1\"")]) { node, origin, _ in
            _ = try await request("/large", to: node)
            try await waitUntilStored(node)
            let again = try await request("/large", to: node)
            #expect(again.body == Self.body)
            #expect(again.cacheStatus.contains("fwd=stale"), "\(again.cacheStatus)")
            #expect(origin.requestCount == 2)
            #expect(origin.requests.last?.header("if-none-match") == nil)
        }
    }
}
