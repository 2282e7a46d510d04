// Real clients browsing through a node over one kept-alive connection, as browsers do: Node's
// fetch, curl (several URLs joined by --next) and Python's http.client each play the same mix of
// pages, bodies, HEAD, a range and a conditional GET. Each test asserts what the client got
// (status, body, Cache-Status, fields), that one connection carried it all, and what the origin saw.
import OutpostTesting
import Testing

@Suite("Real clients reusing one connection", .timeLimit(.minutes(1)))
struct BrowsingTests {
    @Test("a browsing mix of pages, bodies, HEAD, a range and a conditional GET, on one connection",
          arguments: RealClient.allCases)
    func browsing(_ client: RealClient) async throws {
        try await withOrigin(TestSite.script) { origin in
            try await withNode(proxying: origin) { node in
                let run = try await client.run(TestSite.browsing.map(\.request), port: node.port)
                run.expectCompleted()
                run.expectResponses(TestSite.browsing)
                run.expectOneConnection()

                let seen = origin.requests
                #expect(seen.map(\.line) == TestSite.browsingAtOrigin.map(\.line))
                #expect(seen.map(\.bodyText) == TestSite.browsingAtOrigin.map(\.body))
                #expect(seen.first { $0.method == "POST" }?.header("content-length") == "10")
                #expect(seen.first { $0.method == "PUT" }?.header("content-length") == "10")
                for request in seen {
                    #expect(request.header("if-none-match") == nil, "\(request.line) carried the client's validator")
                    #expect(request.header("range") == nil, "\(request.line) carried the client's range")
                }
            }
        }
    }

    @Test("curl's own log says every transfer after the first re-used the connection")
    func curlReusesItsConnection() async throws {
        try await withOrigin(TestSite.script) { origin in
            try await withNode(proxying: origin) { node in
                let steps: [ClientStep] = [
                    .get("/a"), .send("POST", "/form", "field=1234"), .get("/b"), .send("PUT", "/x", "0123456789"), .get("/a"),
                ]
                let run = try await RealClient.curl.run(steps, port: node.port)
                run.expectCompleted()
                let log = run.process.errors
                #expect(CurlCommand.reuseCount(in: log) == steps.count - 1,
                        "curl's verbose log:\n\(log.suffix(4000))")
                #expect(log.components(separatedBy: "\n").filter { $0.hasPrefix("* Connected to") }.count == 1,
                        "curl connected more than once:\n\(log.suffix(4000))")
                #expect(run.results.map(\.status) == [200, 201, 200, 200, 200])
                #expect(run.results.map(\.body) == [
                    TestSite.pageA, TestSite.echo("POST", "/form", "field=1234"), TestSite.pageB,
                    TestSite.echo("PUT", "/x", "0123456789"), TestSite.pageA,
                ])
                #expect(run.results.last?.cacheStatus.isHit == true, "the second GET /a: \(String(describing: run.results.last))")
                #expect(origin.requests.map(\.line) == ["GET /a", "POST /form", "GET /b", "PUT /x"])
            }
        }
    }
}
