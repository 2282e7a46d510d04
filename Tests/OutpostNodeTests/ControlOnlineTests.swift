// The built outpostctl against a live node's admin API: stats, purge (dry run, by URL), a refused
// token, ls / inspect online, and warm through the public listener. Every command gets the
// token with --token, so the tests do not depend on the environment.
import Foundation
import OutpostNode
import OutpostTesting
import Testing

@Suite("outpostctl against a node's admin API", .timeLimit(.minutes(2)))
struct ControlOnlineTests {
    static let token = "online-test-token"

    func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    /// A node with an admin listener on port 0 in front of an origin that tags /img/ with t1.
    func withAdminNode(_ body: (Node, [String]) async throws -> Void) async throws {
        try await withOrigin({ request in
            request.target.hasPrefix("/img/")
                ? .ok("png \(request.target)", headers: [("Cache-Control", "max-age=3600"), ("Content-Type", "image/png"), ("Surrogate-Key", "t1")])
                : .ok("page \(request.target)", headers: [("Cache-Control", "max-age=3600"), ("Content-Type", "text/html")])
        }) { origin in
            try await withNode(origins: [origin], configure: { configuration in
                configuration.adminListen = HostAndPort(host: "127.0.0.1", port: 0)
                configuration.adminToken = Self.token
            }) { node in
                let port = try #require(node.adminPort)
                try await body(node, ["--admin", "http://127.0.0.1:\(port)", "--token", Self.token])
            }
        }
    }

    @Test("stats --json decodes and counts the requests made")
    func stats() async throws {
        try await withAdminNode { node, admin in
            for _ in 0..<3 { _ = try await request("/page", to: node) }
            let result = try await run(["stats", "--json"] + admin, binary: "outpostctl")
            #expect(result.status == 0, "\(result.errors)")
            let report = try #require(try json(result.output) as? [String: Any])
            let counters = try #require(report["counters"] as? [String: Any])
            #expect((counters["requests"] as? Int ?? 0) >= 3)
            #expect((counters["servedFromCache"] as? Int ?? 0) >= 2)
            let table = try await run(["stats"] + admin, binary: "outpostctl")
            #expect(table.status == 0)
            #expect(table.output.contains("hit ratio"))
        }
    }

    @Test("purge --tag --dry-run counts and changes nothing; purge URL makes the next request a miss")
    func purge() async throws {
        try await withAdminNode { node, admin in
            for path in ["/img/a.png", "/img/b.png", "/page"] { _ = try await request(path, to: node) }
            #expect(try await request("/img/a.png", to: node).cacheStatus.contains("hit"))

            let dryRun = try await run(["purge", "--tag", "t1", "--dry-run", "--json"] + admin, binary: "outpostctl")
            #expect(dryRun.status == 0, "\(dryRun.errors)")
            let receipt = try #require(try json(dryRun.output) as? [String: Any])
            #expect(receipt["mode"] as? String == "tag")
            #expect(receipt["dryRun"] as? Bool == true)
            #expect(receipt["objects"] as? Int == 2)
            #expect(try await request("/img/a.png", to: node).cacheStatus.contains("hit"))

            let purged = try await run(["purge", "http://site.example/img/a.png"] + admin, binary: "outpostctl")
            #expect(purged.status == 0, "\(purged.errors)")
            #expect(purged.output.contains("purged by url"))
            let after = try await request("/img/a.png", to: node)
            #expect(!after.cacheStatus.contains("hit"), "\(after.cacheStatus)")
            #expect(try await request("/img/b.png", to: node).cacheStatus.contains("hit"))

            let usage = try await run(["purge", "--tag", "t1", "--all"] + admin, binary: "outpostctl")
            #expect(usage.status == 2)
        }
    }

    @Test("a wrong token exits 3 with a line naming the refusal")
    func wrongToken() async throws {
        try await withAdminNode { node, admin in
            let port = try #require(node.adminPort)
            let result = try await run(["stats", "--admin", "http://127.0.0.1:\(port)", "--token", "wrong"], binary: "outpostctl")
            #expect(result.status == 3)
            #expect(result.errors.contains("refused"))
            _ = admin
        }
        let unreachable = try await run(["stats", "--admin", "http://127.0.0.1:1", "--token", "x"], binary: "outpostctl")
        #expect(unreachable.status == 3)
        #expect(unreachable.errors.contains("cannot reach"))
    }

    @Test("ls --json and inspect read the node's memory online")
    func listAndInspect() async throws {
        try await withAdminNode { node, admin in
            for path in ["/img/a.png", "/img/b.png", "/page"] { _ = try await request(path, to: node) }
            let images = try await run(["ls", "--json", "--prefix", "/img/"] + admin, binary: "outpostctl")
            #expect(images.status == 0, "\(images.errors)")
            let urls = try #require(try json(images.output) as? [[String: Any]]).compactMap { $0["url"] as? String }
            #expect(urls.sorted() == ["http://site.example/img/a.png", "http://site.example/img/b.png"])

            let all = try await run(["ls"] + admin, binary: "outpostctl")
            #expect(all.output.contains("3 shown"))

            let inspect = try await run(["inspect", "http://site.example/img/a.png"] + admin, binary: "outpostctl")
            #expect(inspect.status == 0, "\(inspect.errors)")
            #expect(inspect.output.contains("Content-Type: image/png"))
            #expect(inspect.output.contains("held in      memory"))
            #expect(inspect.output.contains("tags         t1"))

            let missing = try await run(["inspect", "http://site.example/nothing"] + admin, binary: "outpostctl")
            #expect(missing.status == 1)
        }
    }

    @Test("warm requests every URL of a file through the node; each is then a hit")
    func warm() async throws {
        try await withAdminNode { node, _ in
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-warm-\(UUID().uuidString).txt")
            defer { try? FileManager.default.removeItem(at: file) }
            try """
                # three pages
                http://site.example/w1
                http://site.example/w2?x=1

                http://site.example/img/w3.png
                """.write(to: file, atomically: true, encoding: .utf8)
            let result = try await run(["warm", file.path, "--node", "http://127.0.0.1:\(node.port)", "--concurrency", "2"], binary: "outpostctl")
            #expect(result.status == 0, "\(result.errors)")
            #expect(result.output.contains("3 ok, 0 failed"))
            for path in ["/w1", "/w2?x=1", "/img/w3.png"] {
                let response = try await request(path, to: node)
                #expect(response.cacheStatus.contains("hit"), "\(path): \(response.cacheStatus)")
            }

            try "http://site.example/w1\n/nowhere-\(UUID().uuidString)\n".write(to: file, atomically: true, encoding: .utf8)
            let unreachable = try await run(["warm", file.path, "--node", "http://127.0.0.1:1"], binary: "outpostctl")
            #expect(unreachable.status == 3)
        }
    }
}
