// Reloading a running node: rules, origins and certificates change live on a connection that
// stays open; a configuration that fails to load changes nothing; the built binary reloads on
// SIGHUP and through `outpostctl reload` (POST /reload).
import AdminProtocol
import Foundation
import OriginClient
import OutpostNode
import OutpostTesting
import PolicyFile
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Reload without a restart", .timeLimit(.minutes(2)))
struct ReloadTests {
    func rulesFile(_ text: String, at path: String? = nil) throws -> String {
        let path = path ?? NSTemporaryDirectory() + "outpost-rules-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let storeAll = "version: 1\nrules:\n  - name: all\n    paths: [/]\n    forceTTL: 5m\n"
    static let bypassLive = "version: 1\nrules:\n  - name: live\n    paths: [/live/]\n    bypass: live-data\n"

    @Test("new rules apply to the next request on a connection opened before the reload")
    func rulesOnAnOpenConnection() async throws {
        let path = try rulesFile(Self.storeAll)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await withOrigin({ _ in .ok("body") }) { origin in
            try await withNode(origins: [origin], configure: {
                $0.policyFile = path
                $0.cache.rules = try! PolicyFile.load(path: path)
            }) { node in
                try await WireConnection.with(port: node.port) { connection in
                    try await connection.send("GET /live/a HTTP/1.1\r\nHost: a\r\n\r\n")
                    let before = try await connection.readResponse()
                    #expect(before.header("cache-status")?.contains("stored") == true)
                    _ = try rulesFile(Self.bypassLive, at: path)
                    let report = try node.reloadFromSource()
                    #expect(report.applied.contains("rules (1)"))
                    #expect(report.needsRestart.isEmpty)
                    try await connection.send("GET /live/b HTTP/1.1\r\nHost: a\r\n\r\n")
                    let after = try await connection.readResponse()
                    #expect(after.status == 200)
                    #expect(after.header("cache-status") == "Outpost; fwd=bypass; detail=rule-bypass")
                }
            }
        }
    }

    @Test("the forward listener's access rules change with a reload: a host allowed before is denied after")
    func accessRulesReload() async throws {
        let allowAll = "version: 1\naccess:\n  rules:\n    - name: local\n      action: allow\n      clients: [127.0.0.0/8]\n"
        let denyOrigin = "version: 1\naccess:\n  rules:\n    - name: closed-now\n      action: deny\n      hosts: [\"127.0.0.1\"]\n"
        let path = try rulesFile(allowAll)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await withOrigin({ _ in .ok("reachable") }) { origin in
            try await withNode(origins: [origin], configure: {
                $0.forwardListens = [HostAndPort(host: "127.0.0.1", port: 0)]
                $0.policyFile = path
                $0.cache.rules = try! PolicyFile.load(path: path)
            }) { node in
                let proxy = node.forwardPorts[0]
                let request = "GET \(origin.url)/page HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                #expect(try await send(request, to: proxy).status == 200)
                _ = try rulesFile(denyOrigin, at: path)
                try node.reloadFromSource()
                let denied = try await send(request, to: proxy)
                #expect(denied.status == 403)
                #expect(denied.bodyText.contains("closed-now"))
            }
        }
    }

    @Test("a rules file that no longer loads: the reload throws and the running rules stay")
    func brokenRulesChangeNothing() async throws {
        let path = try rulesFile(Self.bypassLive)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await withOrigin({ _ in .ok("body", headers: [("Cache-Control", "max-age=60")]) }) { origin in
            try await withNode(origins: [origin], configure: {
                $0.policyFile = path
                $0.cache.rules = try! PolicyFile.load(path: path)
            }) { node in
                _ = try rulesFile("version: 1\nrules:\n  - name: [unclosed\n", at: path)
                #expect(throws: (any Error).self) { try node.reloadFromSource() }
                let live = try await request("/live/x", to: node)
                #expect(live.header("cache-status") == "Outpost; fwd=bypass; detail=rule-bypass")
                let admin = try await admin("POST", "/reload", json: "{}", to: node)
                #expect(admin.status == 422)
                #expect(admin.bodyText.contains("the running configuration stays"))
            }
        }
    }

    @Test("new origins take the next requests; the old ones get none")
    func originsReplaced() async throws {
        try await withOrigin({ _ in .ok("from A") }) { first in
            try await withOrigin({ _ in .ok("from B") }) { second in
                try await withNode(origins: [first]) { node in
                    #expect(try await request("/one", to: node).bodyText == "from A")
                    var next = node.liveConfiguration
                    next.origins = [try OriginServer(url: second.url)]
                    let report = try node.reload(next)
                    #expect(report.applied.contains { $0.hasPrefix("origins") })
                    #expect(try await request("/two", to: node).bodyText == "from B")
                    #expect(node.origin.origins.map(\.description) == [try OriginServer(url: second.url).description])
                    #expect(first.requestCount == 1)
                    #expect(second.requestCount == 1)
                }
            }
        }
    }

    @Test("ten reloads swapping origins and rules under four keep-alive clients: every request gets a 200")
    func underLoad() async throws {
        let bypassing = try PolicyFile.parse(Self.bypassLive, file: "bypass.yaml")
        try await withOrigin({ _ in .ok("from A", headers: [("Cache-Control", "max-age=60")]) }) { first in
            try await withOrigin({ _ in .ok("from B", headers: [("Cache-Control", "max-age=60")]) }) { second in
                try await withNode(origins: [first]) { node in
                    let initial = node.liveConfiguration
                    // The clients go on until the reloads are done (at least 150 requests each,
                    // at most 5,000), and the reloads wait for the clients to start, so every
                    // reload happens under load however fast or slow either side runs.
                    let reloading = Reloading()
                    try await withThrowingTaskGroup(of: [Int].self) { group in
                        for client in 0..<4 {
                            group.addTask {
                                try await WireConnection.with(port: node.port) { connection in
                                    var statuses: [Int] = []
                                    var number = 0
                                    while number < 5_000, number < 150 || !reloading.finished {
                                        defer { number += 1 }
                                        let path = number % 3 == 0 ? "/live/\(client)/\(number)" : "/load/\(client)/\(number % 20)"
                                        try await connection.send("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n")
                                        statuses.append(try await connection.readResponse().status)
                                        reloading.responseRead()
                                        if number == 0 { reloading.clientStarted() }
                                    }
                                    return statuses
                                }
                            }
                        }
                        // The reloads begin once every client has its first answer (under a busy
                        // suite a connection can take longer to start than all ten reloads).
                        let deadline = ContinuousClock.now + .seconds(20)
                        while reloading.started < 4, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
                        for round in 0..<10 {
                            var next = initial
                            next.origins = [try OriginServer(url: (round % 2 == 0 ? second : first).url)]
                            if round % 2 == 0 { next.cache.rules = bypassing }
                            try node.reload(next)
                            // Each configuration answers sixteen requests before the next replaces
                            // it, however fast or slow the clients run: some client then sent three
                            // in a row under it, one of them a new /live target, which the second
                            // origin's rounds pass through to it.
                            let answered = reloading.answered
                            let roundDeadline = ContinuousClock.now + .seconds(10)
                            while reloading.answered < answered + 16, ContinuousClock.now < roundDeadline {
                                try await Task.sleep(for: .milliseconds(2))
                            }
                        }
                        reloading.finish()
                        for try await statuses in group {
                            #expect(statuses.count >= 150)
                            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses.filter { $0 != 200 })")
                        }
                    }
                    #expect(second.requestCount > 0)
                }
            }
        }
    }

    @Test("changed certificate files are served after a reload; a broken pair is refused; restart-only changes are reported")
    func certificatesReloaded() async throws {
        let first = try TestPKI.make(serverName: "first.test")
        let second = try TestPKI.make(serverName: "second.test")
        let directory = NSTemporaryDirectory() + "outpost-live-pki-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (certificate, key) = (directory + "/live.pem", directory + "/live.key")
        try FileManager.default.copyItem(atPath: first.serverCertificate, toPath: certificate)
        try FileManager.default.copyItem(atPath: first.serverKey, toPath: key)
        try await withOrigin({ _ in .ok("x") }) { origin in
            try await withNode(origins: [origin], configure: {
                $0.tlsListens = [HostAndPort(host: "127.0.0.1", port: 0)]
                $0.tlsCertificateFiles = [certificate]
                $0.tlsKeyFiles = [key]
            }) { node in
                let port = node.tlsPorts[0]
                #expect(try peerCommonName(port: port, serverName: "any.test") == "first.test")
                // A broken pair is refused and the served one stays.
                try "not a certificate".write(toFile: certificate, atomically: true, encoding: .utf8)
                #expect(throws: (any Error).self) { try node.reload(node.liveConfiguration) }
                #expect(try peerCommonName(port: port, serverName: "any.test") == "first.test")
                for (from, to) in [(second.serverCertificate, certificate), (second.serverKey, key)] {
                    try? FileManager.default.removeItem(atPath: to)
                    try FileManager.default.copyItem(atPath: from, toPath: to)
                }
                var next = node.liveConfiguration
                next.memorySize = node.liveConfiguration.memorySize * 2
                let report = try node.reload(next)
                #expect(report.applied.contains("certificates (1)"))
                #expect(report.needsRestart == ["memory-size", "warm-memory"])  // warm-memory follows memory-size
                #expect(try peerCommonName(port: port, serverName: "any.test") == "second.test")
            }
        }
    }

    @Test("the log level changes for loggers made before the reload")
    func logLevel() async throws {
        let handler = LogOutput.applicationHandler(label: "outpost.test", format: .json, level: .info)
        #expect(handler.logLevel == .info)
        try await withOrigin({ _ in .ok("x") }) { origin in
            try await withNode(origins: [origin]) { node in
                var next = node.liveConfiguration
                next.logLevel = .debug
                let report = try node.reload(next)
                #expect(report.applied.contains("log-level debug"))
                #expect(handler.logLevel == .debug)
                next.logLevel = .info
                try node.reload(next)
                #expect(handler.logLevel == .info)
            }
        }
    }

    @Test("the built binary: SIGHUP and `outpostctl reload` re-read the config file; the process keeps running")
    func signalAndControl() async throws {
        let rules = try rulesFile(Self.storeAll)
        let config = NSTemporaryDirectory() + "outpost-config-\(UUID().uuidString).yaml"
        defer {
            try? FileManager.default.removeItem(atPath: rules)
            try? FileManager.default.removeItem(atPath: config)
        }
        try await withOrigin({ _ in .ok("body") }) { origin in
            try "origin: \(origin.url)\npolicy: \(rules)\ndisk-size: 0\n".write(toFile: config, atomically: true, encoding: .utf8)
            let (process, port, admin) = try startServingWithAdmin(["--config", config])
            defer { if process.isRunning { process.terminate() }; process.waitUntilExit() }
            #expect(try await send("GET /live/a HTTP/1.1\r\nHost: a\r\n\r\n", to: port).header("cache-status")?.contains("stored") == true)
            _ = try rulesFile(Self.bypassLive, at: rules)
            kill(process.processIdentifier, SIGHUP)
            var status = ""
            let deadline = ContinuousClock.now + .seconds(10)
            while !status.contains("bypass"), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                status = try await send("GET /live/b HTTP/1.1\r\nHost: a\r\n\r\n", to: port).header("cache-status") ?? ""
            }
            #expect(status == "Outpost; fwd=bypass; detail=rule-bypass")
            #expect(process.isRunning)
            _ = try rulesFile(Self.storeAll, at: rules)
            let adminPort = try #require(admin)
            let control = try await run(["reload", "--admin", "http://127.0.0.1:\(adminPort)", "--token", adminToken], binary: "outpostctl")
            #expect(control.status == 0, "\(control.errors)")
            #expect(control.output.contains("rules (1)"))
            #expect(try await send("GET /live/c HTTP/1.1\r\nHost: a\r\n\r\n", to: port).header("cache-status")?.contains("stored") == true)
            #expect(process.isRunning)
        }
    }
}

/// How many of a test's clients have started, and whether its reloads are done.
private final class Reloading: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var clients = 0

    private var responses = 0

    var finished: Bool { lock.withLock { done } }
    var started: Int { lock.withLock { clients } }
    /// Responses read by all clients so far.
    var answered: Int { lock.withLock { responses } }

    func finish() { lock.withLock { done = true } }
    func clientStarted() { lock.withLock { clients += 1 } }
    func responseRead() { lock.withLock { responses += 1 } }
}
