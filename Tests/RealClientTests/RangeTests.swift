// Range requests (RFC 9110 §14) answered from a stored 100 KiB object, each client on one
// connection: a first range, a suffix range, two ranges (multipart/byteranges), and a range past
// the end (416). The origin sees the one full GET that stored the object, and no Range.
import OutpostTesting
import Testing

@Suite("Ranges of a stored object, through a real client", .timeLimit(.minutes(1)))
struct RangeTests {
    static let steps: [ClientStep] = [
        .get("/big"),
        .get("/big", ["Range": "bytes=0-99"]),
        .get("/big", ["Range": "bytes=-100"]),
        .get("/big", ["Range": "bytes=0-9,5000-5009"]),
        .get("/big", ["Range": "bytes=999999-"]),
    ]

    @Test("first bytes, last bytes, two ranges and an unsatisfiable range of a stored object",
          arguments: RealClient.allCases)
    func ranges(_ client: RealClient) async throws {
        let size = TestSite.bigSize
        try await withOrigin(TestSite.script) { origin in
            try await withNode(proxying: origin) { node in
                let run = try await client.run(Self.steps, port: node.port)
                run.expectCompleted()
                run.expectOneConnection()

                let full = try run.result(0)
                #expect(full.status == 200, "\(full)")
                #expect(full.body == TestSite.big, "the full object: \(full)")
                #expect(ExpectedResponse.CacheOutcome.storedMiss.matches(full.cacheStatus), "\(full)")

                let first = try run.result(1)
                #expect(first.status == 206, "bytes=0-99: \(first)")
                #expect(first.header("content-range") == "bytes 0-99/\(size)")
                #expect(first.body == TestSite.big(0..<100))
                #expect(first.cacheStatus.isHit, "bytes=0-99: \(first)")

                let last = try run.result(2)
                #expect(last.status == 206, "bytes=-100: \(last)")
                #expect(last.header("content-range") == "bytes \(size - 100)-\(size - 1)/\(size)")
                #expect(last.body == TestSite.big((size - 100)..<size))
                #expect(last.cacheStatus.isHit, "bytes=-100: \(last)")

                let two = try run.result(3)
                #expect(two.status == 206, "bytes=0-9,5000-5009: \(two)")
                #expect(two.header("content-type")?.hasPrefix("multipart/byteranges; boundary=") == true,
                        "Content-Type \(two.header("content-type") ?? "none")")
                #expect(two.header("content-range") == nil)
                let parts = BodyPart.parts(of: two.body, contentType: two.header("content-type"))
                #expect(parts == [
                    BodyPart(contentRange: "bytes 0-9/\(size)", data: TestSite.big(0..<10)),
                    BodyPart(contentRange: "bytes 5000-5009/\(size)", data: TestSite.big(5000..<5010)),
                ], "body: \(two.body.prefix(400))")
                #expect(two.cacheStatus.isHit, "bytes=0-9,5000-5009: \(two)")

                let beyond = try run.result(4)
                #expect(beyond.status == 416, "bytes=999999-: \(beyond)")
                #expect(beyond.header("content-range") == "bytes */\(size)")

                #expect(origin.requests.map(\.line) == ["GET /big"])
                #expect(origin.requests.first?.header("range") == nil)
            }
        }
    }
}
