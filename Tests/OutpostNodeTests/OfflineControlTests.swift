// outpostctl ls / inspect / stats reading the cache directory of a node that is running.
import Foundation
import OutpostNode
import OutpostTesting
import Testing

@Suite("outpostctl on a cache directory", .timeLimit(.minutes(1)))
struct OfflineControlTests {
    func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    @Test("ls filters by prefix and tag, inspect shows intact variants, stats counts — while the node runs")
    func readsARunningNodesCache() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-ctl-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withOrigin({ request in
            request.target.hasPrefix("/img/")
                ? .ok("png \(request.target)", headers: [("Cache-Control", "max-age=3600"), ("Content-Type", "image/png"), ("Surrogate-Key", "t1 images")])
                : .ok("css", headers: [("Cache-Control", "max-age=3600"), ("Content-Type", "text/css")])
        }) { origin in
            try await withNode(origins: [origin], configure: { configuration in
                configuration.cacheDirectory = directory
                configuration.diskSize = 64 << 20
            }) { node in
                for path in ["/img/a.png", "/img/b.png", "/css/c.css"] { _ = try await request(path, to: node) }
                // Disk writes happen in the background: wait until the index lists all three.
                var listed = 0
                let deadline = ContinuousClock.now + .seconds(10)
                while listed < 3 && ContinuousClock.now < deadline {
                    let all = try await run(["ls", "--cache-dir", directory, "--json"], binary: "outpostctl")
                    listed = (try? json(all.output) as? [Any])?.count ?? 0
                }
                #expect(listed == 3)

                let images = try await run(["ls", "--cache-dir", directory, "--prefix", "/img/", "--json"], binary: "outpostctl")
                #expect(images.status == 0, "\(images.errors)")
                let urls = try #require(try json(images.output) as? [[String: Any]]).compactMap { $0["url"] as? String }
                #expect(urls.sorted() == ["http://site.example/img/a.png", "http://site.example/img/b.png"])

                let tagged = try await run(["ls", "--cache-dir", directory, "--tag", "t1", "--json"], binary: "outpostctl")
                #expect((try json(tagged.output) as? [Any])?.count == 2)

                let inspect = try await run(["inspect", "http://site.example/img/a.png", "--cache-dir", directory], binary: "outpostctl")
                #expect(inspect.status == 0)
                #expect(inspect.output.contains("body intact"))
                #expect(inspect.output.contains("Content-Type: image/png"))
                #expect(inspect.output.contains("t1 images") || inspect.output.contains("images t1"))

                let missing = try await run(["inspect", "http://site.example/nothing", "--cache-dir", directory], binary: "outpostctl")
                #expect(missing.status == 1)

                let stats = try await run(["stats", "--cache-dir", directory, "--json"], binary: "outpostctl")
                let totals = try #require(try json(stats.output) as? [String: Any])
                #expect(totals["objects"] as? Int == 3)
            }
        }
        let unreadable = try await run(["ls", "--cache-dir", "/nonexistent/cache"], binary: "outpostctl")
        #expect(unreadable.status == 3)
    }
}
