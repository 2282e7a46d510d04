// The fill of one key seen from several clients at once: it outlives the client that started
// it, and a body cut short reaches no waiter as if complete.
import EdgeCache
import NIOCore
import OutpostNode
import OutpostTesting
import Testing

@Suite("Fills shared by several clients", .timeLimit(.minutes(1)))
struct FillTests {
    @Test("the fetch goes on when its first client leaves: a waiter still gets the whole body, and it is stored")
    func leaderLeaves() async throws {
        let parts = [Array("first half ".utf8), Array("second half".utf8)]
        try await withOrigin({ _ in
            // 5 s between the halves: the waiter joins during that pause even on a loaded machine.
            OriginReply(headers: [("Cache-Control", "max-age=60")], body: .chunked(parts, interval: .seconds(5)))
        }) { origin in
            try await withNode(origins: [origin]) { node in
                // The first client reads the head and leaves while the body is still coming.
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("GET /leave HTTP/1.1\r\nHost: a\r\n\r\n")
                    _ = try await connection.readResponse(toHead: true)
                }
                let waiter = try await send("GET /leave HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                #expect(waiter.bodyText == "first half second half")
                #expect(waiter.cacheStatus.contains("collapsed"))
                try await waitUntil { node.engine.stats.snapshot[.stored] == 1 }
                let hit = try await send("GET /leave HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                #expect(hit.cacheStatus.hasPrefix("Outpost; hit"))
                #expect(hit.bodyText == "first half second half")
                #expect(origin.requestCount == 1)
            }
        }
    }

    @Test("a fill cut short ends every waiter's connection before a complete body, and stores nothing")
    func truncatedWithWaiters() async throws {
        try await withOrigin({ _ in
            // Three chunks 2 s apart, cut in the middle of the second: every client joins the fill
            // during the first pause, even on a loaded machine.
            let chunk = Array(repeating: UInt8(ascii: "x"), count: 10_000)
            return OriginReply(headers: [("Cache-Control", "max-age=60")], body: .chunked([chunk, chunk, chunk], interval: .seconds(2)),
                               behaviour: .shortBody(sendBytes: 15_000))
        }) { origin in
            try await withNode(origins: [origin]) { node in
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    for _ in 0..<5 {
                        group.addTask {
                            do {
                                _ = try await send("GET /short HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                                return false  // a complete response would be wrong
                            } catch is WireError {
                                return true
                            }
                        }
                    }
                    for try await endedAbnormally in group { #expect(endedAbnormally) }
                }
                let stats = node.engine.stats.snapshot
                #expect(stats[.stored] == 0)
                #expect(origin.requestCount == 1)
                #expect(stats[.collapsedWaits] == 4)
                #expect(stats.notStoredByReason[.bodyIncomplete] == 1)
            }
        }
    }

    @Test("a waiter whose fill gives no head within the collapse timeout fetches on its own")
    func waitTimesOut() async throws {
        let calls = LockedCounter()
        try await withOrigin({ _ in
            let number = calls.next()
            return OriginReply(headers: [("Cache-Control", "max-age=60")], body: .bytes(Array("answer \(number)".utf8)),
                               behaviour: number == 1 ? .delayHead(.seconds(3)) : .normal)
        }) { origin in
            try await withNode(origins: [origin], configure: { $0.cache.collapseTimeout = .milliseconds(300) }) { node in
                async let slow = send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                try await waitUntil { origin.requestCount == 1 }
                let started = ContinuousClock.now
                let waiter = try await send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n", to: node)
                #expect(waiter.bodyText == "answer 2")
                #expect(ContinuousClock.now - started < .seconds(2))
                #expect(node.engine.stats.snapshot[.collapseAbandoned] == 1)
                #expect(try await slow.bodyText == "answer 1")
                #expect(origin.requestCount == 2)
            }
        }
    }
}
