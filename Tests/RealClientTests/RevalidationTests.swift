// Revalidation seen from a real client (RFC 9111 §4.3): the origin marks its response
// `no-cache` with `ETag: "v1"`, so every later request is revalidated with If-None-Match, and the
// origin answers 304, with the ETag or with no validator at all. Ten times in a row on one
// connection, the client must get the stored body with 200, never a 502.
import OutpostTesting
import Testing

@Suite("Revalidation through a real client", .timeLimit(.minutes(1)))
struct RevalidationTests {
    /// What the origin's 304 carries.
    enum NotModifiedFields: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case entityTag
        case noValidator

        var testDescription: String { self == .entityTag ? "304 with ETag" : "304 without a validator" }

        var fields: [(name: String, value: String)] { self == .entityTag ? [("ETag", "\"v1\"")] : [] }
    }

    static let storedBody = "stored body, version one"
    static let revalidations = 10

    static func script(_ notModified: NotModifiedFields) -> @Sendable (RecordedRequest) -> OriginReply {
        { request in
            guard request.header("if-none-match") == nil else {
                return OriginReply(status: 304, headers: notModified.fields)
            }
            return OriginReply(
                headers: [("Cache-Control", "no-cache"), ("ETag", "\"v1\""), ("Content-Type", "text/plain")],
                body: .bytes(Array(storedBody.utf8)))
        }
    }

    @Test("a no-cache response revalidated with 304 ten times gives the stored body with 200 each time",
          arguments: RealClient.allCases, NotModifiedFields.allCases)
    func revalidatedTenTimes(_ client: RealClient, _ notModified: NotModifiedFields) async throws {
        try await withOrigin(Self.script(notModified)) { origin in
            try await withNode(proxying: origin) { node in
                let script = [ScriptedStep(.get("/r"), .ok(Self.storedBody, .storedMiss))]
                    + Array(repeating: ScriptedStep(.get("/r"), .ok(Self.storedBody, .revalidated)), count: Self.revalidations)
                let run = try await client.run(script.map(\.request), port: node.port)
                run.expectCompleted()
                run.expectResponses(script)
                #expect(!run.results.contains { $0.status == 502 }, "\(run.results)")
                run.expectOneConnection()

                let seen = origin.requests
                #expect(seen.map(\.line) == Array(repeating: "GET /r", count: Self.revalidations + 1))
                #expect(seen.first?.header("if-none-match") == nil)
                for (index, request) in seen.enumerated().dropFirst() {
                    #expect(request.header("if-none-match") == "\"v1\"", "revalidation \(index)")
                }
            }
        }
    }
}
