// The forward listener driven by real clients (curl -x, curl -p -x through CONNECT to a TLS
// server the test starts with openssl s_server), against a scripted origin that records what it
// received: caching, the access rules (host, port, client address, credentials), anonymity
// levels, absolute-form on the reverse listener, and keys kept apart between the two.
import AdminProtocol
import CachePolicy
import EdgeHTTP
import Foundation
import OutpostNode
import OutpostTesting
import PolicyFile
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct CurlResult {
    var status: Int32
    var output: String
    var errors: String
}

/// Runs curl with `arguments`; `-s` is added.
func curl(_ arguments: [String], timeout: Duration = .seconds(20)) async throws -> CurlResult {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s"] + arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    return CurlResult(status: process.terminationStatus,
                      output: String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                      errors: String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
}

@Suite("Forward proxy: absolute-form, CONNECT, access rules, anonymity", .timeLimit(.minutes(2)))
struct ForwardProxyTests {
    func rules(_ text: String) throws -> PolicyRules {
        try PolicyFile.parse("version: 1\n" + text, file: "forward-test.yaml")
    }

    func withForwardNode(origin: ScriptedOrigin, rules: PolicyRules? = nil, configure: @escaping (inout NodeConfiguration) -> Void = { _ in },
                         _ body: (Node) async throws -> Void) async throws {
        try await withNode(origins: [origin], configure: { configuration in
            configuration.forwardListens = [HostAndPort(host: "127.0.0.1", port: 0)]
            if let rules { configuration.cache.rules = rules }
            configure(&configuration)
        }, body)
    }

    /// `-i` output's status line and Cache-Status.
    func statusAndCacheStatus(_ output: String) -> (String, String?) {
        let lines = output.components(separatedBy: "\r\n")
        let cacheStatus = lines.first { $0.lowercased().hasPrefix("cache-status:") }.map { String($0.dropFirst(13)).trimmingCharacters(in: .whitespaces) }
        return (lines.first ?? "", cacheStatus)
    }

    @Test("curl -x twice: a miss, then a hit; the origin saw one request, Host from the URL, no Proxy-* fields")
    func missThenHit() async throws {
        try await withOrigin({ _ in .ok("forward page", headers: [("Cache-Control", "max-age=60")]) }) { origin in
            try await withForwardNode(origin: origin) { node in
                let proxy = "http://127.0.0.1:\(node.forwardPorts[0])"
                let url = "\(origin.url)/page"
                let first = try await curl(["-i", "-x", proxy, "-H", "Proxy-Connection: keep-alive", url])
                let second = try await curl(["-i", "-x", proxy, url])
                let missStatus = statusAndCacheStatus(first.output).1 ?? ""
                #expect(missStatus.hasPrefix("Outpost; fwd=uri-miss; ttl=") && missStatus.hasSuffix("; stored"), "\(missStatus)")
                #expect(statusAndCacheStatus(second.output).1?.hasPrefix("Outpost; hit") == true, "\(second.output)")
                #expect(second.output.hasSuffix("forward page"))
                #expect(origin.requestCount == 1)
                let seen = try #require(origin.requests.first)
                #expect(seen.target == "/page")
                #expect(seen.header("host") == "127.0.0.1:\(origin.port)")
                #expect(seen.header("proxy-connection") == nil)
                #expect(seen.header("proxy-authorization") == nil)
                let stats = try decode(StatsReport.self, try await admin("GET", "/stats", to: node))
                #expect(stats.forwardProxy?.allowed == 2)
            }
        }
    }

    @Test("curl -p -x: CONNECT to a TLS server the test started; the bytes pass untouched")
    func connectTunnel() async throws {
        let pki = try TestPKI.make(serverName: "localhost")
        let port = try freeLoopbackPort()
        let server = ChildProcess()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        server.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", pki.serverCertificate, "-key", pki.serverKey, "-www", "-quiet"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        server.standardInput = FileHandle.nullDevice
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        try await waitForPort(port)
        try await withOrigin({ _ in .ok("x") }) { origin in
            let rules = try rules("access:\n  connectPorts: [443, \(port)]\n  rules:\n    - name: local\n      action: allow\n      clients: [127.0.0.0/8]\n")
            try await withForwardNode(origin: origin, rules: rules) { node in
                let proxy = "http://127.0.0.1:\(node.forwardPorts[0])"
                let tunnelled = try await curl(["-p", "-x", proxy, "--cacert", pki.authorityCertificate, "https://localhost:\(port)/"])
                #expect(tunnelled.status == 0, "\(tunnelled.errors)")
                #expect(tunnelled.output.contains("<HTML>") || tunnelled.output.contains("s_server"), "\(tunnelled.output.prefix(200))")
                // Port 25 is outside connectPorts: refused before anything is connected.
                let smtp = try await curl(["-o", "/dev/null", "-w", "%{http_connect}", "-p", "-x", proxy, "http://127.0.0.1:25/"])
                #expect(smtp.output == "403")
                let stats = try decode(StatsReport.self, try await admin("GET", "/stats", to: node))
                #expect(stats.forwardProxy?.tunnelsOpened == 1)
                #expect(stats.forwardProxy?.deniedByRule["connect-ports"] == 1)
                #expect(origin.requestCount == 0)
            }
        }
    }

    @Test("deny by host, by port and by client address: 403 naming the rule, counted per rule, nothing reaches the origin")
    func denials() async throws {
        try await withOrigin({ _ in .ok("secret") }) { origin in
            let byHost = try rules("access:\n  rules:\n    - name: no-origin-host\n      action: deny\n      hosts: [\"127.0.0.*\"]\n    - name: local\n      action: allow\n")
            let byPort = try rules("access:\n  rules:\n    - name: no-such-port\n      action: deny\n      ports: [\"\(origin.port)\"]\n    - name: local\n      action: allow\n")
            let byClient = try rules("access:\n  rules:\n    - name: not-loopback\n      action: deny\n      clients: [127.0.0.0/8, \"::1\"]\n    - name: rest\n      action: allow\n")
            for (rules, name) in [(byHost, "no-origin-host"), (byPort, "no-such-port"), (byClient, "not-loopback")] {
                try await withForwardNode(origin: origin, rules: rules) { node in
                    let refused = try await curl(["-i", "-x", "http://127.0.0.1:\(node.forwardPorts[0])", "\(origin.url)/secret"])
                    #expect(statusAndCacheStatus(refused.output).0.hasPrefix("HTTP/1.1 403"), "\(refused.output)")
                    #expect(refused.output.contains("access rule '\(name)'"))
                    let metrics = try await admin("GET", "/metrics", to: node).bodyText
                    #expect(metrics.contains("outpost_forward_denied_total{rule=\"\(name)\"} 1"))
                }
            }
            #expect(origin.requestCount == 0)
        }
    }

    @Test("a rule that needs credentials: 407 with Proxy-Authenticate, then success with the user's password")
    func credentials() async throws {
        let users = NSTemporaryDirectory() + "outpost-users-\(UUID().uuidString)"
        // The line as an operator makes it: `outpostctl hash-password`, the password on standard input.
        let hashed = try runTool(try builtBinary("outpostctl").path, ["hash-password", "ana", "--rounds", "1000"],
                                 input: "correct horse\n")
        #expect(hashed.status == 0)
        let line = hashed.output
        #expect(line.hasPrefix("ana:pbkdf2-sha256$1000$"))
        try ("# proxy users\n" + line).write(toFile: users, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: users) }
        try await withOrigin({ _ in .ok("members only") }) { origin in
            let rules = try rules("access:\n  users: \(users)\n  rules:\n    - name: members\n      action: allow\n      authenticate: true\n")
            try await withForwardNode(origin: origin, rules: rules) { node in
                let proxy = "http://127.0.0.1:\(node.forwardPorts[0])"
                let anonymous = try await curl(["-i", "-x", proxy, "\(origin.url)/m"])
                #expect(statusAndCacheStatus(anonymous.output).0.hasPrefix("HTTP/1.1 407"))
                #expect(anonymous.output.lowercased().contains("proxy-authenticate: basic realm=\"outpost\""))
                let wrong = try await curl(["-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, "--proxy-user", "ana:wrong", "\(origin.url)/m"])
                #expect(wrong.output == "407")
                // First seen with a body: the request and its body wait while the password is
                // checked off the event loop, then go on whole.
                let body = String(repeating: "field=value&", count: 2_000)
                let posted = try await curl(["-o", "/dev/null", "-w", "%{http_code}", "-x", proxy, "--proxy-user", "ana:correct horse",
                                             "-H", "Expect:", "--data-binary", body, "\(origin.url)/form"])
                #expect(posted.output == "200")
                #expect(origin.requests.first.map { String(decoding: $0.body, as: UTF8.self) } == body)
                let right = try await curl(["-x", proxy, "--proxy-user", "ana:correct horse", "\(origin.url)/m"])
                #expect(right.output == "members only")
                #expect(origin.requestCount == 2)
                #expect(origin.requests.allSatisfy { $0.header("proxy-authorization") == nil })
            }
        }
    }

    @Test("anonymity off, standard and strict, as the origin sees them", arguments: Anonymity.allCases)
    func anonymity(_ level: Anonymity) async throws {
        try await withOrigin({ _ in .ok("seen", headers: [("Cache-Control", "no-store")]) }) { origin in
            try await withForwardNode(origin: origin, configure: {
                $0.edge.forward.anonymity = level
                $0.edge.forward.userAgent = "Outpost-Anonymous/1"
            }) { node in
                _ = try await curl(["-x", "http://127.0.0.1:\(node.forwardPorts[0])", "-A", "Secret-Browser/9",
                                    "-H", "From: ana@example.org", "-H", "Referer: http://elsewhere.example/page",
                                    "-H", "Sec-CH-UA-Platform: \"Linux\"", "-H", "X-Forwarded-For: 10.9.8.7", "\(origin.url)/who"])
                let seen = try #require(origin.requests.first)
                switch level {
                case .off:
                    #expect(seen.header("x-forwarded-for") == "10.9.8.7, 127.0.0.1")
                    #expect(seen.header("user-agent") == "Secret-Browser/9")
                case .standard:
                    #expect(seen.header("x-forwarded-for") == nil)
                    #expect(seen.header("forwarded") == nil)
                    #expect(seen.header("from") == "ana@example.org")
                    #expect(seen.header("user-agent") == "Secret-Browser/9")
                case .strict:
                    #expect(seen.header("x-forwarded-for") == nil)
                    #expect(seen.header("forwarded") == nil)
                    #expect(seen.header("from") == nil)
                    #expect(seen.header("referer") == nil)
                    #expect(seen.header("sec-ch-ua-platform") == nil)
                    #expect(seen.header("user-agent") == "Outpost-Anonymous/1")
                }
                #expect(seen.header("via")?.contains("outpost") == true)
            }
        }
    }

    @Test("the reverse listener: absolute-form gets the object origin-form stored; forward entries stay apart and a URL purge takes both")
    func absoluteFormOnReverseListener() async throws {
        try await withOrigin({ request in .ok("object \(request.target)", headers: [("Cache-Control", "max-age=60")]) }) { origin in
            try await withForwardNode(origin: origin) { node in
                let stored = try await send("GET /obj HTTP/1.1\r\nHost: site.example\r\n\r\n", to: node)
                #expect(stored.header("cache-status")?.contains("stored") == true)
                // RFC 9112 §3.2.2: the target's authority, not the Host field, names the resource.
                let absolute = try await send("GET http://site.example/obj HTTP/1.1\r\nHost: other.example\r\n\r\n", to: node)
                #expect(absolute.header("cache-status")?.hasPrefix("Outpost; hit") == true, "\(absolute.headers)")
                #expect(absolute.bodyText == "object /obj")
                #expect(origin.requestCount == 1)
                // The same URL through the forward listener is a separate entry (its own fetch).
                let viaForward = try await curl(["-i", "-x", "http://127.0.0.1:\(node.forwardPorts[0])", "\(origin.url)/obj"])
                #expect(statusAndCacheStatus(viaForward.output).1?.contains("fwd=uri-miss") == true)
                let reverse = try await send("GET /obj HTTP/1.1\r\nHost: 127.0.0.1:\(origin.port)\r\n\r\n", to: node)
                #expect(reverse.header("cache-status")?.contains("fwd=uri-miss") == true, "reverse and forward shared a key")
                let purged = try decode(PurgeReceipt.self, try await admin("POST", "/purge", json: "{\"url\": \"\(origin.url)/obj\"}", to: node))
                #expect(purged.variants == 2)
            }
        }
    }
}

/// A loopback port nothing listens on now.
func freeLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    guard bound else { throw WireError.malformed("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits until something accepts connections on the loopback `port` (at most 10 s).
func waitForPort(_ port: Int) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if (try? await WireConnection.with(port: port) { _ in true }) == true { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw WireError.malformed("nothing listens on \(port)")
}
