// Timing: a request with a body must not stall the connection it came on. Each real client sends
// POST, PUT, PATCH and DELETE with a 10-byte body (Content-Length, then chunked), each followed
// by a GET on the same connection, which must be answered within a second.
import OutpostTesting
import Testing

@Suite("Keep-alive after a request body", .timeLimit(.minutes(1)))
struct RequestBodyKeepAliveTests {
    /// A GET after a body-carrying request on the same connection must be answered within this.
    static let answerLimit = 1.0

    static let steps: [ClientStep] = [
        .send("POST", "/form", "field=1234"), .get("/a"),
        .send("PUT", "/x", "0123456789"), .get("/b"),
        .send("PATCH", "/x", "patch=5678"), .get("/a"),
        .send("DELETE", "/x", "gone=01234"), .get("/b"),
        .send("POST", "/form", "chunk=5678", chunked: true), .get("/a"),
        .send("PUT", "/x", "9876543210", chunked: true), .get("/b"),
    ]

    @Test("the GET after each 10-byte body is answered within a second on the same connection",
          arguments: RealClient.allCases)
    func getAfterBody(_ client: RealClient) async throws {
        try await withOrigin(TestSite.script) { origin in
            try await withNode(proxying: origin) { node in
                let run = try await client.run(Self.steps, port: node.port)
                run.expectCompleted()
                for (index, (step, result)) in zip(Self.steps, run.results).enumerated() {
                    let label = "\(client), step \(index + 1) \(step): \(result)"
                    if step.method == "GET" {
                        #expect(result.status == 200, "\(label)")
                        #expect(result.body == (step.path == "/a" ? TestSite.pageA : TestSite.pageB), "\(label)")
                        #expect(result.elapsed < Self.answerLimit, "\(label)")
                    } else {
                        #expect(result.status == (step.method == "POST" ? 201 : 200), "\(label)")
                        #expect(result.body == TestSite.echo(step.method, step.path, step.body ?? ""), "\(label)")
                    }
                }
                run.expectOneConnection()
                let bodies = origin.requests.filter { $0.method != "GET" }.map { "\($0.line) [\($0.bodyText)]" }
                #expect(bodies == Self.steps.filter { $0.method != "GET" }.map { "\($0.method) \($0.path) [\($0.body ?? "")]" })
            }
        }
    }
}
