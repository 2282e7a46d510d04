// Origin selection and passive health as a value type with a manual clock.
import NIOCore
import OriginClient
import Testing

@Suite("Origin selection and passive health")
struct OriginHealthTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test("healthy origins are chosen in round-robin order")
    func roundRobin() {
        var health = OriginHealth(count: 3, baseBackoff: .seconds(2), maximumBackoff: .seconds(30))
        let picks = (0..<6).map { _ in health.select(now: start)! }
        #expect(picks == [0, 1, 2, 0, 1, 2])
    }

    @Test("an origin whose connect failed is skipped until its back-off ends, and back-offs double up to the cap")
    func backoff() {
        var health = OriginHealth(count: 2, baseBackoff: .seconds(2), maximumBackoff: .seconds(5))
        let first = health.connectFailed(0, now: start)
        #expect(first == .seconds(2))
        #expect((0..<4).map { _ in health.select(now: start)! } == [1, 1, 1, 1])
        #expect(health.isUp(0, now: start + .seconds(2)))
        let second = health.connectFailed(0, now: start)
        let third = health.connectFailed(0, now: start)
        #expect(second == .seconds(4))
        #expect(third == .seconds(5))
        let wasDown = health.responded(0)
        #expect(wasDown)
        #expect(health.isUp(0, now: start))
        let wasDownAgain = health.responded(0)
        #expect(!wasDownAgain)
    }

    @Test("when every origin is down the one that comes back first is tried")
    func allDown() {
        var health = OriginHealth(count: 2, baseBackoff: .seconds(2), maximumBackoff: .seconds(30))
        health.connectFailed(0, now: start)
        health.connectFailed(0, now: start)  // 4 s
        health.connectFailed(1, now: start)  // 2 s
        #expect(health.select(now: start) == 1)
    }

    @Test("a retry excludes the origin that failed; with one origin there is nothing to retry on")
    func excluding() {
        var two = OriginHealth(count: 2, baseBackoff: .seconds(1), maximumBackoff: .seconds(1))
        #expect(two.select(now: start, excluding: 0) == 1)
        var one = OriginHealth(count: 1, baseBackoff: .seconds(1), maximumBackoff: .seconds(1))
        #expect(one.select(now: start, excluding: 0) == nil)
    }
}

@Suite("Origin URLs")
struct OriginServerTests {
    @Test("http and https origins with and without ports")
    func parses() throws {
        let plain = try OriginServer(url: "http://origin.internal")
        #expect(plain.baseURL == "http://origin.internal:80")
        #expect(plain.hostHeaderValue == "origin.internal")
        let tls = try OriginServer(url: "https://127.0.0.1:8443/")
        #expect(tls.port == 8443 && tls.scheme == "https")
        #expect(tls.hostHeaderValue == "127.0.0.1:8443")
        let v6 = try OriginServer(url: "http://[::1]:9000")
        #expect(v6.host == "[::1]" && v6.port == 9000)
    }

    @Test("URLs that cannot name an origin are refused", arguments: [
        "ftp://x", "http://", "http://x:0", "http://x:99999", "http://x/path", "http://x?q", "http://u@x", "x:80",
    ])
    func refuses(_ url: String) {
        #expect(throws: OriginServer.ParseError.self) { try OriginServer(url: url) }
    }
}
