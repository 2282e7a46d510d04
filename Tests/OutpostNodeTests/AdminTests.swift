// The admin API over real sockets: authentication, each purge mode and its receipt, soft purge
// revalidating, dry runs, purge surviving a restart, RFC 9875 group invalidation, stats after a
// scripted sequence, metrics, listings and health. Each test asserts the admin answer, what the
// public listener then serves (Cache-Status) and what the origin received.
import AdminProtocol
import EdgeCache
import Foundation
import OutpostNode
import OutpostTesting
import Testing

@Suite("Admin API", .timeLimit(.minutes(1)))
struct AdminTests {
    let clock = ManualClock()

    func configure(_ configuration: inout NodeConfiguration) {
        configuration.cache.clock = clock
    }

    static let cacheable: @Sendable (RecordedRequest) -> OriginReply = { request in
        .ok("body of \(request.target)", headers: [("Cache-Control", "max-age=600"), ("ETag", "\"e\(request.target)\"")])
    }

    @Test("no token or a wrong one → 401 with JSON; /healthz needs none; the cookie is accepted")
    func authentication() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                for target in ["/stats", "/metrics", "/entries", "/readyz"] {
                    let missing = try await admin("GET", target, token: nil, to: node)
                    #expect(missing.status == 401, "\(target)")
                    #expect(try decode(ErrorMessage.self, missing).error.contains("token"))
                    let wrong = try await admin("GET", target, token: "not-the-token-at-all", to: node)
                    #expect(wrong.status == 401, "\(target)")
                }
                let purge = try await admin("POST", "/purge", json: #"{"all": true}"#, token: nil, to: node)
                #expect(purge.status == 401)
                let health = try await admin("GET", "/healthz", token: nil, to: node)
                #expect(health.status == 200)
                #expect(try decode(Health.self, health).status == "ok")
                let cookie = try await admin("GET", "/stats", token: nil, extraHeaders: ["Cookie: a=b; outpost_admin_token=\(adminToken)"], to: node)
                #expect(cookie.status == 200)
                let page = try await admin("GET", "/", to: node)
                #expect(page.status == 200)
                #expect(page.header("content-type")?.hasPrefix("text/html") == true)
                #expect(try await admin("GET", "/", token: nil, to: node).status == 401)
                #expect(try await admin("GET", "/nowhere", to: node).status == 404)
                #expect(try await admin("GET", "/purge", to: node).status == 405)
            }
        }
    }

    @Test("HEAD /healthz answers the head only, so the next request on the connection is read right")
    func headThenGet() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                let port = try #require(node.adminPort)
                let (head, get) = try await WireConnection.with(port: port) { connection in
                    try await connection.send("HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
                    return (try await connection.readResponse(toHead: true), try await connection.readResponse())
                }
                #expect(head.status == 200)
                #expect(head.header("content-length") == get.header("content-length"))
                #expect(get.status == 200)
                #expect(try decode(Health.self, get).version == AdminAPI.version)
            }
        }
    }

    @Test("PURGE on the public listener → 405 with Allow, and nothing is purged")
    func publicPurgeRefused() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                _ = try await request("/a", to: node)
                let refused = try await request("/a", "PURGE", to: node)
                #expect(refused.status == 405)
                #expect(refused.header("allow")?.contains("GET") == true)
                #expect(try await request("/a", to: node).cacheStatus.contains("hit"))
                #expect(origin.requests.allSatisfy { $0.method == "GET" })
            }
        }
    }

    @Test("purge by URL removes every Vary variant; the next GET is a miss the origin sees")
    func purgeURL() async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { _ in
            .ok("varied", headers: [("Cache-Control", "max-age=600"), ("Vary", "Accept-Encoding")])
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                _ = try await request("/v", to: node)
                _ = try await request("/v", headers: ["Accept-Encoding: gzip"], to: node)
                _ = try await request("/other", to: node)
                #expect(try await request("/v", headers: ["Accept-Encoding: gzip"], to: node).cacheStatus.contains("hit"))
                #expect(origin.requestCount == 3)
                let receipt = try await purge(#"{"url": "http://site.example/v"}"#, on: node)
                #expect(receipt.mode == "url")
                #expect(receipt.objects == 1)
                #expect(receipt.variants == 2)
                #expect(receipt.bytes == 12)
                #expect(receipt.memory == TierCount(variants: 2, bytes: 12))
                #expect(receipt.disk == nil)
                #expect(!receipt.dryRun)
                let after = try await request("/v", to: node)
                #expect(after.cacheStatus.contains("fwd=uri-miss"))
                #expect(try await request("/v", headers: ["Accept-Encoding: gzip"], to: node).cacheStatus.contains("fwd=vary-miss"))
                #expect(origin.requestCount == 5)
                #expect(try await request("/other", to: node).cacheStatus.contains("hit"))
                #expect(node.engine.stats.snapshot[.purges] == 1)
                #expect(node.engine.stats.snapshot[.purgedVariants] == 2)
            }
        }
    }

    @Test("purge by tag removes exactly the tagged objects; an untagged neighbour stays a hit")
    func purgeTag() async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { request in
            var headers = [("Cache-Control", "max-age=600")]
            if request.target.hasPrefix("/t1") { headers.append(("Surrogate-Key", "t1 other")) }
            if request.target == "/tagged-by-cache-tag" { headers.append(("Cache-Tag", "x, t1")) }
            return .ok("b", headers: headers)
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                for target in ["/t1/a", "/t1/b", "/tagged-by-cache-tag", "/plain"] { _ = try await request(target, to: node) }
                let dryRun = try await purge(#"{"tag": "t1", "dryRun": true}"#, on: node)
                #expect(dryRun.dryRun)
                #expect(dryRun.objects == 3)
                for target in ["/t1/a", "/t1/b", "/tagged-by-cache-tag", "/plain"] {
                    #expect(try await request(target, to: node).cacheStatus.contains("hit"), "dry run removed \(target)")
                }
                #expect(node.engine.stats.snapshot[.purges] == 0)
                let receipt = try await purge(#"{"tag": "t1"}"#, on: node)
                #expect(receipt.objects == 3)
                #expect(receipt.variants == 3)
                #expect(try await request("/plain", to: node).cacheStatus.contains("hit"))
                for target in ["/t1/a", "/t1/b", "/tagged-by-cache-tag"] {
                    #expect(try await request(target, to: node).cacheStatus.contains("fwd=uri-miss"), "\(target)")
                }
                #expect(origin.requestCount == 7)
            }
        }
    }

    @Test("purge by prefix: a path prefix on every host, host/path on both schemes")
    func purgePrefix() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                for target in ["/img/a.png", "/img/b.png", "/css/site.css"] { _ = try await request(target, to: node) }
                let byHost = try await purge(#"{"prefix": "site.example/img/", "dryRun": true}"#, on: node)
                #expect(byHost.objects == 2)
                let elsewhere = try await purge(#"{"prefix": "other.example/img/", "dryRun": true}"#, on: node)
                #expect(elsewhere.objects == 0)
                let receipt = try await purge(#"{"prefix": "/img/"}"#, on: node)
                #expect(receipt.objects == 2)
                #expect(try await request("/css/site.css", to: node).cacheStatus.contains("hit"))
                #expect(try await request("/img/a.png", to: node).cacheStatus.contains("fwd=uri-miss"))
                let all = try await purge(#"{"all": true}"#, on: node)
                #expect(all.objects == 2)  // /css/site.css and the refetched /img/a.png
            }
        }
    }

    @Test("soft purge: the next GET revalidates with If-None-Match and is answered from the store")
    func softPurge() async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { request in
            let tag = "\"v1\""
            if request.headers.contains(where: { $0.name.lowercased() == "if-none-match" && $0.value == tag }) {
                return OriginReply(status: 304, headers: [(name: "ETag", value: tag), (name: "Cache-Control", value: "max-age=600")])
            }
            return .ok("soft body", headers: [("Cache-Control", "max-age=600"), ("ETag", tag)])
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                _ = try await request("/s", to: node)
                let receipt = try await purge(#"{"url": "http://site.example/s", "soft": true}"#, on: node)
                #expect(receipt.soft)
                #expect(receipt.variants == 1)
                let next = try await request("/s", to: node)
                #expect(next.bodyText == "soft body")
                #expect(next.cacheStatus.contains("fwd-status=304"), "\(next.cacheStatus)")
                #expect(origin.requestCount == 2)
                let conditional = try #require(origin.requests.last)
                #expect(conditional.headers.contains { $0.name.lowercased() == "if-none-match" && $0.value == "\"v1\"" })
                // Revalidated: fresh again, a plain hit.
                #expect(try await request("/s", to: node).cacheStatus.contains("hit"))
                #expect(origin.requestCount == 2)
            }
        }
    }

    @Test("a purge that arrives while the URL is being fetched: the fetch is delivered but not stored")
    func purgeDuringFill() async throws {
        // The first answer's body is held until the purge has been acknowledged; later ones flow.
        let gate = OriginGate()
        let script: @Sendable (RecordedRequest) -> OriginReply = { _ in
            OriginReply(headers: [(name: "Cache-Control", value: "max-age=600")], body: .bytes(Array("old".utf8)),
                        behaviour: .holdBody(gate))
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                async let first = request("/busy", to: node)
                try await waitUntil { origin.requestCount == 1 }
                let receipt = try await purge(#"{"url": "http://site.example/busy"}"#, on: node)
                gate.open()
                #expect(receipt.variants == 0)  // nothing stored yet
                #expect(try await first.bodyText == "old")
                let next = try await request("/busy", to: node)
                #expect(next.cacheStatus.contains("fwd=uri-miss"), "\(next.cacheStatus)")
                #expect(origin.requestCount == 2)
                #expect(node.engine.stats.snapshot.notStoredByReason[.purgedWhileFilling] == 1)
                // A fill that starts after the purge is stored as usual.
                #expect(try await request("/busy", to: node).cacheStatus.contains("hit"))
            }
        }
    }

    @Test("bad purge requests → 400 with a message naming the problem")
    func badPurges() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                for body in ["not json", "{}", #"{"url": "http://a/x", "tag": "t"}"#, #"{"url": "/relative"}"#, #"{"all": false}"#,
                             #"{"tag": 5}"#, #"{"prefix": "ftp://x/"}"#] {
                    let response = try await admin("POST", "/purge", json: body, to: node)
                    #expect(response.status == 400, "\(body)")
                    #expect(!(try decode(ErrorMessage.self, response).error.isEmpty))
                }
            }
        }
    }

    @Test("a purged object stays purged across a restart on the same cache directory")
    func purgeThenRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-purge-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let onDisk: (inout NodeConfiguration) -> Void = { configuration in
            configuration.cacheDirectory = directory
            configuration.diskSize = 16 << 20
        }
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: onDisk) { node in
                _ = try await request("/gone", to: node)
                _ = try await request("/kept", to: node)
                let receipt = try await purge(#"{"url": "http://site.example/gone"}"#, on: node)
                #expect(receipt.disk?.variants == 1)
                #expect(receipt.objects == 1)
            }
            try await withNode(origins: [origin], configure: onDisk) { node async throws in
                #expect(try await request("/kept", to: node).cacheStatus.contains("hit"))
                #expect(try await request("/gone", to: node).cacheStatus.contains("fwd=uri-miss"))
            }
            #expect(origin.requests.map(\.target) == ["/gone", "/kept", "/gone"])
        }
    }

    @Test("RFC 9875: Cache-Group-Invalidation on a POST's response invalidates that group on that origin only")
    func groupInvalidation() async throws {
        let script: @Sendable (RecordedRequest) -> OriginReply = { request in
            if request.method == "POST" { return .ok("done", headers: [("Cache-Group-Invalidation", "\"g1\"")]) }
            var headers = [("Cache-Control", "max-age=600")]
            if request.target != "/c" { headers.append(("Cache-Groups", "\"g1\", \"g2\"")) }
            return .ok("member", headers: headers)
        }
        try await withOrigin(script) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                for target in ["/a", "/b", "/c"] { _ = try await request(target, to: node) }
                let elsewhere = "GET /a HTTP/1.1\r\nHost: other.example\r\n\r\n"
                #expect(try await send(elsewhere, to: node).cacheStatus.contains("stored"))
                let post = try await send("POST /edit HTTP/1.1\r\nHost: site.example\r\nContent-Length: 0\r\n\r\n", to: node)
                #expect(post.status == 200)
                #expect(try await request("/a", to: node).cacheStatus.contains("fwd=uri-miss"))
                #expect(try await request("/b", to: node).cacheStatus.contains("fwd=uri-miss"))
                #expect(try await request("/c", to: node).cacheStatus.contains("hit"))
                // The same group on another origin (host) is not this response's to invalidate.
                #expect(try await send(elsewhere, to: node).cacheStatus.contains("hit"))
                #expect(node.engine.stats.snapshot[.invalidations] == 2)  // /a and /b; /edit itself was not stored
            }
        }
    }

    @Test("every engine counter is in /stats' counters under its table name, and in /metrics under its family and labels")
    func countersFromOneTable() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                for target in ["/1", "/2", "/1", "/1"] { _ = try await request(target, to: node) }
                let json = try await admin("GET", "/stats", to: node)
                let object = try #require(try JSONSerialization.jsonObject(with: Data(json.body)) as? [String: Any])
                let counters = try #require(object["counters"] as? [String: Any])
                let metrics = String(decoding: try await admin("GET", "/metrics", to: node).body, as: UTF8.self)
                for counter in EngineCounter.allCases {
                    let value = node.engine.stats[counter]
                    #expect(counters[counter.name] as? Int == value, "\(counter.name)")
                    let (family, labels) = counter.metric
                    let series = family + (labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}")
                    // A counter still at zero may not have been exported yet; a counted one must be.
                    if value > 0 { #expect(metrics.contains("\n\(series) \(value)"), "\(series)") }
                }
                #expect(node.engine.stats[.hitsFresh] == 2 && node.engine.stats[.requests] == 4)
            }
        }
    }

    @Test("GET /stats after 3 misses and 7 hits on a fresh node: request hit ratio 0.7")
    func statsRatio() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                for target in ["/1", "/2", "/3"] { _ = try await request(target, to: node) }
                for index in 0..<7 { _ = try await request("/\(index % 3 + 1)", to: node) }
                let response = try await admin("GET", "/stats", to: node)
                #expect(response.status == 200)
                let stats = try decode(StatsReport.self, response)
                #expect(stats.counters.requests == 10)
                #expect(stats.counters.lookups == 10)
                #expect(stats.counters.servedFromCache == 7)
                #expect(stats.counters.misses == 3)
                #expect(stats.ratios.requestHitRatio == 0.7)
                #expect(stats.ratios.requestHitRatioOverAll == 0.7)
                let window = try #require(stats.windows.first { $0.name == "1m" })
                #expect(window.requests == 10)
                #expect(window.ratios.requestHitRatio == 0.7)
                #expect(stats.windows.map(\.name) == ["1m", "5m", "1h"])
                let host = try #require(stats.hosts.first)
                #expect(host.host == "site.example")
                #expect(host.requests == 10)
                #expect(host.ratios.requestHitRatio == 0.7)
                #expect(stats.memory.objects == 3)
                #expect(stats.topKeys.count == 3)
                #expect(stats.topKeys.map(\.hits).reduce(0, +) >= 7)
                #expect(stats.origins.count == 1)
                #expect(stats.origins.first?.healthy == true)
                #expect(stats.disk == nil)
            }
        }
    }

    @Test("GET /metrics parses as Prometheus text and holds the hit and miss counters")
    func metrics() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                _ = try await request("/m", to: node)
                _ = try await request("/m", to: node)
                _ = try await request("/m", to: node)
                let response = try await admin("GET", "/metrics", to: node)
                #expect(response.status == 200)
                #expect(response.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
                let samples = try PrometheusText.parse(response.bodyText)
                #expect(samples["outpost_hits_total{kind=\"fresh\"}"] == 2)
                #expect(samples["outpost_misses_total{reason=\"not-stored\"}"] == 1)
                #expect(samples["outpost_requests_total"] == 3)
                #expect(samples["outpost_stored_objects{tier=\"memory\"}"] == 1)
                // A second scrape after more traffic: counters move by the difference, never back.
                _ = try await request("/m", to: node)
                let again = try PrometheusText.parse(try await admin("GET", "/metrics", to: node).bodyText)
                #expect(again["outpost_hits_total{kind=\"fresh\"}"] == 3)
                #expect(again["outpost_requests_total"] == 4)
            }
        }
    }

    @Test("GET /entries and /entry list what memory holds; an unknown URL is 404")
    func entries() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                for target in ["/img/a", "/img/b", "/doc"] { _ = try await request(target, to: node) }
                let page = try decode(EntriesPage.self, try await admin("GET", "/entries?prefix=/img/&limit=1", to: node))
                #expect(page.entries.count == 1)
                #expect(page.entries.first?.url == "http://site.example/img/a")
                #expect(page.entries.first?.inMemory == true)
                #expect(page.nextCursor == "1")
                let next = try decode(EntriesPage.self, try await admin("GET", "/entries?prefix=/img/&limit=1&cursor=1", to: node))
                #expect(next.entries.map(\.url) == ["http://site.example/img/b"])
                #expect(next.nextCursor == nil)
                let entry = try decode(EntryReport.self, try await admin("GET", "/entry?url=http%3A%2F%2Fsite.example%2Fdoc", to: node))
                #expect(entry.variants.count == 1)
                #expect(entry.variants.first?.status == 200)
                #expect(entry.variants.first?.headers.contains(["ETag", "\"e/doc\""]) == true)
                #expect(try await admin("GET", "/entry?url=http://site.example/never", to: node).status == 404)
                #expect(try await admin("GET", "/entries?sort=sideways", to: node).status == 400)
            }
        }
    }

    @Test("GET /readyz is 200 with a healthy origin and the listener up")
    func readiness() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: configure) { node in
                let response = try await admin("GET", "/readyz", to: node)
                #expect(response.status == 200)
                let ready = try decode(Readiness.self, response)
                #expect(ready.ready && ready.listening && ready.healthyOrigins == 1 && ready.indexOpen == nil)
            }
        }
    }

    @Test("an admin listener on a non-loopback address without a token is refused at start-up")
    func nonLoopbackNeedsToken() async throws {
        try await withOrigin(Self.cacheable) { origin in
            await #expect(throws: ConfigurationError.self) {
                try await withNode(origins: [origin], configure: { configuration in
                    configuration.adminListen = HostAndPort(host: "0.0.0.0", port: 0)
                    configuration.adminToken = nil
                }) { _ in }
            }
        }
    }

    @Test("without a token on loopback, one is generated into a 0600 file in the cache directory and kept")
    func tokenFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-token-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configure: (inout NodeConfiguration) -> Void = { configuration in
            configuration.adminToken = nil
            configuration.cacheDirectory = directory
        }
        try await withOrigin(Self.cacheable) { origin in
            var first = ""
            try await withNode(origins: [origin], configure: configure) { node in
                first = try String(contentsOfFile: directory + "/admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(first.count == 64)
                let mode = try FileManager.default.attributesOfItem(atPath: directory + "/admin-token")[.posixPermissions] as? Int
                #expect(mode == 0o600)
                #expect(try await admin("GET", "/stats", token: first, to: node).status == 200)
                #expect(try await admin("GET", "/stats", to: node).status == 401)
            }
            try await withNode(origins: [origin], configure: configure) { node async throws in
                #expect(try await admin("GET", "/stats", token: first, to: node).status == 200)
            }
        }
    }
}

/// A strict reader of the Prometheus text format (0.0.4): every line is a comment (# HELP / # TYPE)
/// or `name{labels} value`; returns the samples by `name{labels}`.
enum PrometheusText {
    struct Malformed: Error { var line: String }

    static func parse(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        let sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?) (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/
        let comment = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$/
        for line in text.split(separator: "\n") {
            if line.wholeMatch(of: comment) != nil { continue }
            guard let match = line.wholeMatch(of: sample), let value = Double(match.output.5) else { throw Malformed(line: String(line)) }
            samples[String(match.output.1)] = value
        }
        return samples
    }
}
