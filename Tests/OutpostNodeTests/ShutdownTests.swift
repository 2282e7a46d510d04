// Graceful shutdown: a request in flight when shutdown begins still completes; new connections
// are refused afterwards.
import NIOCore
import OutpostNode
import OutpostTesting
import Testing

@Suite("Graceful shutdown", .timeLimit(.minutes(1)))
struct ShutdownTests {
    @Test("an in-flight slow request completes while the node shuts down")
    func inFlightCompletes() async throws {
        try await withOrigin({ _ in OriginReply(body: .bytes(Array("slow answer".utf8)), behaviour: .delayHead(.milliseconds(800))) }) { origin in
            var configuration = NodeConfiguration()
            configuration.listen = HostAndPort(host: "127.0.0.1", port: 0)
            configuration.origins = [try .init(url: origin.url)]
            configuration.threads = 1
            configuration.diskSize = 0
            configuration.adminListen = nil  // no admin listener: nothing bound on 8081, no token file in the working directory
            let node = try await Node.start(configuration, logger: .init(label: "test"))
            let port = node.port
            async let response = WireConnection.with(port: port) { connection in
                try await connection.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
                return try await connection.readResponse()
            }
            try await waitUntil(within: .seconds(10)) { origin.requestCount == 1 }
            await node.shutdown(gracePeriod: .seconds(5))
            let answered = try await response
            #expect(answered.status == 200)
            #expect(answered.bodyText == "slow answer")
            await #expect(throws: (any Error).self) {
                try await WireConnection.with(port: port) { _ in }
            }
        }
    }
}
