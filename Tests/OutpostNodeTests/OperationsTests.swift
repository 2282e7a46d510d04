// What an operator who runs nginx, Varnish or Traffic Server expects, checked from outside: the
// access log in combined and JSON form, reopened after a move (in-process, with SIGUSR1 on the
// built binary, and with Debian's logrotate); /metrics accepted by Prometheus's own promtool with
// the latency, status, origin, connection, build and process families present; the last reason a
// URL was not stored, from /entry and `outpostctl inspect`; Cache-Status on the node's own error
// pages; Surrogate-Control without a freshness directive leaving Cache-Control in charge.
//
// promtool (Debian's prometheus package) and logrotate are required: a test that needs one fails
// with a message naming the package when it is missing (.ci/apt-packages installs both).
import AdminProtocol
import EdgeHTTP
import Foundation
import Logging
import OriginClient
import OutpostNode
import OutpostTesting
import PolicyFile
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh temporary directory, removed after `body`.
private func withTemporaryDirectory(_ body: (String) async throws -> Void) async throws {
    let path = NSTemporaryDirectory() + "outpost-operations-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    try await body(path)
}

/// A node whose access log goes to `file` in `format` (as `outpost serve --access-log FILE` does).
private func withLoggedNode(origin: any OriginAddress, file: LogFile, format: AccessLogFormat,
                            _ body: (Node) async throws -> Void) async throws {
    var configuration = NodeConfiguration()
    configuration.listen = HostAndPort(host: "127.0.0.1", port: 0)
    configuration.origins = [try OriginServer(url: origin.url)]
    configuration.threads = 1
    configuration.diskSize = 0
    configuration.adminListen = HostAndPort(host: "127.0.0.1", port: 0)
    configuration.adminToken = adminToken
    var logger = Logger(label: "test.node")
    logger.logLevel = .critical
    let handler = AccessLogHandler(file: file, format: format)
    let node = try await Node.start(configuration, logger: logger, accessLogger: Logger(label: LogOutput.accessLabel) { _ in handler })
    do {
        try await body(node)
    } catch {
        await node.shutdown(gracePeriod: .seconds(1))
        throw error
    }
    await node.shutdown(gracePeriod: .seconds(1))
}

private func lines(of path: String) -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").map(String.init)
}

/// Polls (every 20 ms, at most `seconds`) until `condition` holds; false if it never did.
private func eventually(seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// A tool from a Debian package, found on PATH or in the sbin folders; a loud failure otherwise.
func requiredTool(_ name: String, package: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/usr/local/bin"]
    for folder in folders where FileManager.default.isExecutableFile(atPath: folder + "/" + name) {
        return folder + "/" + name
    }
    Issue.record("\(name) is missing: install Debian's \(package) package (apt-get install -y \(package)); .ci/apt-packages lists it")
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: name])
}

/// Runs a tool to its end; its exit status and everything it printed.
func runTool(_ path: String, _ arguments: [String], input: String? = nil) throws -> RunResult {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe(), errors = Pipe(), standardInput = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = standardInput
    try process.run()
    if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
    try standardInput.fileHandleForWriting.close()
    let printed = output.fileHandleForReading.readDataToEndOfFile()
    let complained = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(status: process.terminationStatus, output: String(decoding: printed, as: UTF8.self),
                     errors: String(decoding: complained, as: UTF8.self))
}

@Suite("Operations: logs, metrics, per-key answers, error pages", .timeLimit(.minutes(2)))
struct OperationsTests {
    static let cacheable: @Sendable (RecordedRequest) -> OriginReply = { request in
        switch request.target {
        case "/private": .ok("mine", headers: [("Cache-Control", "private, max-age=60")])
        case "/esi": .ok("esi page", headers: [("Cache-Control", "max-age=60"), ("Surrogate-Control", "content=\"ESI/1.0\"")])
        default: .ok("body of \(request.target)", headers: [("Cache-Control", "max-age=600")])
        }
    }

    /// The standard combined-format expression (as log parsers such as GoAccess and Logstash's
    /// COMBINEDAPACHELOG read it), then Outpost's four documented trailing fields.
    nonisolated(unsafe) static let combined = /^(\S+) (\S+) (\S+) \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"/
    nonisolated(unsafe) static let trailing = /\ (hit|stale|revalidated|miss|pass|none) (\d+\.\d{6}) "([^"]*)" (\S+)$/

    @Test("--access-log-format combined: each line parses with the combined expression; outcome, time, Cache-Status and origin trail")
    func combinedAccessLog() async throws {
        try await withTemporaryDirectory { directory in
            try await withOrigin(Self.cacheable) { origin in
                let path = directory + "/access.log"
                try await withLoggedNode(origin: origin, file: try LogFile(path: path), format: .combined) { node in
                    _ = try await request("/a", headers: ["Referer: http://ref.example/", "User-Agent: test-agent/1.0"], to: node)
                    _ = try await request("/a", to: node)
                    #expect(await eventually { lines(of: path).count == 2 })
                    let written = lines(of: path)
                    try #require(written.count == 2)
                    let first = try #require(written[0].firstMatch(of: Self.combined))
                    #expect(first.output.1 == "127.0.0.1")
                    #expect(first.output.4.hasSuffix(" +0000"))
                    #expect(first.output.5 == "GET" && first.output.6 == "/a" && first.output.7 == "HTTP/1.1")
                    #expect(first.output.8 == "200")
                    #expect(first.output.9 == "10")  // "body of /a"
                    #expect(first.output.10 == "http://ref.example/")
                    #expect(first.output.11 == "test-agent/1.0")
                    let firstTail = try #require(written[0].firstMatch(of: Self.trailing))
                    #expect(firstTail.output.1 == "miss")
                    #expect(firstTail.output.3.hasPrefix("Outpost; fwd=uri-miss; ttl="))
                    #expect(firstTail.output.3.hasSuffix("; stored"))
                    #expect(firstTail.output.4 == "http://127.0.0.1:\(origin.port)")
                    let second = try #require(written[1].firstMatch(of: Self.trailing))
                    #expect(second.output.1 == "hit")
                    #expect(second.output.3.hasPrefix("Outpost; hit; ttl="))
                    #expect(second.output.4 == "-")
                    #expect(written[1].firstMatch(of: Self.combined)?.output.10 == "-")
                }
            }
        }
    }

    @Test("--access-log-format json: one object per line with method, target, status, bytes, duration and cache")
    func jsonAccessLog() async throws {
        try await withTemporaryDirectory { directory in
            try await withOrigin(Self.cacheable) { origin in
                let path = directory + "/access.json"
                try await withLoggedNode(origin: origin, file: try LogFile(path: path), format: .json) { node in
                    _ = try await request("/j?q=1", headers: [#"User-Agent: say "hi" \ bye"#], to: node)
                    _ = try await request("/j?q=1", to: node)
                    #expect(await eventually { lines(of: path).count == 2 })
                    let objects = try lines(of: path).map { line in
                        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    }
                    try #require(objects.count == 2)
                    #expect(objects[0]["method"] as? String == "GET")
                    #expect(objects[0]["target"] as? String == "/j?q=1")
                    #expect(objects[0]["status"] as? Int == 200)
                    #expect(objects[0]["bytes"] as? Int == "body of /j?q=1".utf8.count)
                    #expect(objects[0]["user_agent"] as? String == #"say "hi" \ bye"#)
                    #expect((objects[0]["duration"] as? Double).map { $0 >= 0 && $0 < 5 } == true)
                    #expect(objects[0]["cache"] as? String == "miss")
                    #expect(objects[1]["cache"] as? String == "hit")
                    #expect((objects[1]["cache_status"] as? String)?.hasPrefix("Outpost; hit") == true)
                    #expect(objects[0]["protocol"] as? String == "HTTP/1.1")
                    #expect(objects[0]["host"] as? String == "site.example")
                    #expect(objects[1]["origin"] is NSNull)
                }
            }
        }
    }

    @Test("after the access log is moved away, reopen() sends new lines to a new file at the same path")
    func reopenAfterMove() async throws {
        try await withTemporaryDirectory { directory in
            try await withOrigin(Self.cacheable) { origin in
                let path = directory + "/access.log"
                let file = try LogFile(path: path)
                try await withLoggedNode(origin: origin, file: file, format: .combined) { node in
                    _ = try await request("/before", to: node)
                    #expect(await eventually { lines(of: path).count == 1 })
                    try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
                    _ = try await request("/moved", to: node)
                    #expect(await eventually { lines(of: path + ".1").count == 2 })
                    try file.reopen()
                    _ = try await request("/after", to: node)
                    #expect(await eventually { lines(of: path).count == 1 })
                    #expect(lines(of: path).first?.contains("\"GET /after HTTP/1.1\"") == true)
                    #expect(lines(of: path + ".1").map { $0.contains("/after") } == [false, false])
                }
            }
        }
    }

    @Test("the built binary: logrotate moves the access log, its postrotate sends SIGUSR1, new lines go to a new file")
    func logrotate() async throws {
        let logrotate = try requiredTool("logrotate", package: "logrotate")
        try await withTemporaryDirectory { directory in
            try await withOrigin(Self.cacheable) { origin in
                let path = directory + "/access.log"
                let (process, port) = try startServing(["--origin", origin.url, "--disk-size", "0", "--cache-dir", directory + "/cache",
                                                        "--access-log", path])
                defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
                _ = try await send("GET /one HTTP/1.1\r\nHost: site.example\r\n\r\n", to: port)
                #expect(await eventually { lines(of: path).count == 1 })
                let configuration = """
                \(path) {
                    rotate 3
                    missingok
                    nocompress
                    postrotate
                        kill -USR1 \(process.processIdentifier)
                    endscript
                }

                """
                try configuration.write(toFile: directory + "/logrotate.conf", atomically: true, encoding: .utf8)
                let rotated = try runTool(logrotate, ["--force", "--state", directory + "/logrotate.state", directory + "/logrotate.conf"])
                #expect(rotated.status == 0, "logrotate: \(rotated.errors)")
                #expect(lines(of: path + ".1").count == 1)
                // SIGUSR1 is handled asynchronously: ask until a line lands in the new file.
                var sent = 0
                let reopened = try await eventually {
                    sent += 1
                    _ = try await send("GET /after-\(sent) HTTP/1.1\r\nHost: site.example\r\n\r\n", to: port)
                    return lines(of: path).contains { $0.contains("/after-") }
                }
                #expect(reopened)
                #expect(lines(of: path + ".1").first?.contains("\"GET /one HTTP/1.1\"") == true)
                #expect(process.isRunning)
            }
        }
    }

    @Test("promtool check metrics accepts /metrics after traffic; the latency, status, origin, connection, build and process families have samples")
    func promtoolAcceptsMetrics() async throws {
        let promtool = try requiredTool("promtool", package: "prometheus")
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin]) { node in
                _ = try await request("/p", to: node)       // miss
                _ = try await request("/p", to: node)       // hit
                _ = try await request("/private", to: node) // not stored: private
                _ = try await request("/p", "POST", headers: ["Content-Length: 0"], to: node)  // pass
                let text = try await admin("GET", "/metrics", to: node).bodyText
                let checked = try runTool(promtool, ["check", "metrics"], input: text)
                #expect(checked.status == 0, "promtool: \(checked.output) \(checked.errors)")
                #expect(checked.output.isEmpty && checked.errors.isEmpty, "promtool: \(checked.output) \(checked.errors)")
                // Every family has HELP and TYPE; none fell back to the undocumented help.
                let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
                let helps = Set(text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
                #expect(Set(types) == helps)
                #expect(!text.contains("Undocumented"))
                let samples = try PrometheusText.parse(text)
                #expect(samples["outpost_request_duration_seconds_count{outcome=\"hit\"}"] == 1)
                #expect(samples["outpost_request_duration_seconds_count{outcome=\"miss\"}"] == 2)
                #expect(samples["outpost_request_duration_seconds_count{outcome=\"pass\"}"] == 1)
                #expect(samples["outpost_request_duration_seconds_bucket{outcome=\"hit\",le=\"+Inf\"}"] == 1)
                #expect(samples["outpost_responses_total{status_class=\"2xx\"}"] == 4)
                #expect(samples["outpost_misses_total{reason=\"not-stored\"}"] == 2)
                #expect(samples["outpost_not_stored_total{reason=\"private\"}"] == 1)
                let origin = "http://127.0.0.1:\(origin.port)"
                #expect(samples["outpost_origin_requests_total{origin=\"\(origin)\"}"] == 3)
                #expect(samples["outpost_origin_errors_total{origin=\"\(origin)\"}"] == 0)
                #expect(samples["outpost_origin_up{origin=\"\(origin)\"}"] == 1)
                #expect(samples["outpost_origin_fetch_duration_seconds_count{origin=\"\(origin)\"}"] == 3)
                #expect(samples["outpost_open_connections{listener=\"admin\"}"] == 1)
                #expect(samples["outpost_open_connections{listener=\"public\"}"] != nil)
                #expect(samples.keys.contains { $0.hasPrefix("outpost_build_info{") })
                #expect((samples["process_start_time_seconds"] ?? 0) > 1_700_000_000)
                #expect((samples["process_resident_memory_bytes"] ?? 0) > 0)
                #expect((samples["process_open_fds"] ?? 0) > 0)
                #expect(samples["outpost_uptime_seconds"] == nil)
                // The shipped Grafana dashboard queries only families this scrape declares.
                let dashboard = try String(contentsOf: Self.repository.appendingPathComponent("tools/grafana/outpost.json"), encoding: .utf8)
                let queried = Set(dashboard.matches(of: /(?:outpost|process)_[a-z_]+/).map { match in
                    String(match.output).replacing(/_(bucket|count|sum)$/, with: "")
                })
                #expect(!queried.isEmpty)
                #expect(queried.subtracting(types.map(String.init)).isEmpty, "unknown in the dashboard: \(queried.subtracting(types.map(String.init)))")
            }
        }
    }

    @Test("a URL answered Cache-Control: private: /entry says 404 with reason private; outpostctl inspect prints it")
    func whyNotCached() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin]) { node in
                let answered = try await request("/private", to: node)
                #expect(answered.header("cache-status") == "Outpost; fwd=uri-miss; detail=private")
                let response = try await admin("GET", "/entry?url=http%3A%2F%2Fsite.example%2Fprivate", to: node)
                #expect(response.status == 404)
                let absence = try decode(EntryAbsence.self, response)
                #expect(absence.lastDeclined?.reason == "private")
                #expect((absence.lastDeclined?.secondsAgo ?? -1) >= 0)
                #expect(absence.error.contains("private"))
                let never = try decode(EntryAbsence.self, try await admin("GET", "/entry?url=http://site.example/never", to: node))
                #expect(never.lastDeclined == nil)
                let adminPort = try #require(node.adminPort)
                let inspected = try await run(["inspect", "http://site.example/private", "--admin", "http://127.0.0.1:\(adminPort)",
                                               "--token", adminToken], binary: "outpostctl")
                #expect(inspected.status == 1)
                #expect(inspected.output.contains("reason private"), "\(inspected.output)")
                #expect(inspected.errors.contains("not stored (reason: private)"), "\(inspected.errors)")
            }
        }
    }

    @Test("a rule bypass is remembered as the reason too")
    func bypassReason() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin], configure: { configuration in
                configuration.cache.rules = try! PolicyFile.parse("""
                version: 1
                rules:
                  - name: no-api
                    paths: [/api/]
                    bypass: "the API is personal"
                """, file: "test-rules.yaml")
            }) { node in
                _ = try await request("/api/x", to: node)
                let absence = try decode(EntryAbsence.self, try await admin("GET", "/entry?url=http://site.example/api/x", to: node))
                #expect(absence.lastDeclined?.reason == "rule-bypass")
            }
        }
    }

    @Test("the node's own pages carry Cache-Status: 502 from a dead origin, 400 for a malformed request, 408 for a slow head")
    func errorPagesCarryCacheStatus() async throws {
        let dead = try DeadOrigin()
        try await withNode(origins: [dead], configure: { $0.edge.headerReadTimeout = .milliseconds(300) }) { node in
            let gateway = try await request("/down", to: node)
            #expect(gateway.status == 502)
            #expect(gateway.header("cache-status") == "Outpost; fwd=miss; detail=origin-error")
            let malformed = try await send("GARBAGE\r\n\r\n", to: node)
            #expect(malformed.status == 400)
            #expect(malformed.header("cache-status") == "Outpost; detail=refused")
            let slow = try await WireConnection.with(port: node.port) { connection in
                try await connection.send("GET /slow HTTP/1.1\r\nHost: site.example\r\n")
                return try await connection.readResponse()
            }
            #expect(slow.status == 408)
            #expect(slow.header("cache-status") == "Outpost; detail=refused")
        }
    }

    @Test("Surrogate-Control: content=\"ESI/1.0\" alone leaves Cache-Control max-age=60 in charge: stored, then a hit")
    func surrogateControlWithoutFreshness() async throws {
        try await withOrigin(Self.cacheable) { origin in
            try await withNode(origins: [origin]) { node in
                let first = try await request("/esi", to: node)
                #expect(first.header("cache-status")?.contains("stored") == true, "\(first.header("cache-status") ?? "-")")
                let second = try await request("/esi", to: node)
                #expect(second.header("cache-status")?.hasPrefix("Outpost; hit; ttl=") == true)
                #expect(second.header("surrogate-control") == nil)
                #expect(origin.requestCount == 1)
            }
        }
    }

    /// The repository's root, from this file's path.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("packaging/completions holds what the binaries generate for bash, zsh and fish (packaging/generate.sh)")
    func completionsAreCurrent() async throws {
        for tool in ["outpost", "outpostctl"] {
            for (shell, file) in [("bash", "\(tool).bash"), ("zsh", "_\(tool)"), ("fish", "\(tool).fish")] {
                let generated = try await run(["--generate-completion-script", shell], binary: tool)
                let shipped = try String(contentsOf: Self.repository.appendingPathComponent("packaging/completions/\(file)"), encoding: .utf8)
                #expect(generated.output == shipped, "packaging/completions/\(file) is stale: run packaging/generate.sh")
            }
        }
        let manual = try String(contentsOf: Self.repository.appendingPathComponent("packaging/man/outpost.1"), encoding: .utf8)
        for setting in NodeSettings.all { #expect(manual.contains("Fl -\(setting.name)"), "outpost.1 lacks --\(setting.name): run packaging/generate.sh") }
    }

    @Test("packaging/outpost.service passes systemd-analyze verify (where systemd-analyze exists)")
    func systemdUnitVerifies() async throws {
        let folders = ["/usr/bin", "/bin", "/usr/local/bin"]
        guard let analyze = folders.map({ $0 + "/systemd-analyze" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return  // not a systemd machine: nothing to verify with
        }
        let unit = try String(contentsOf: Self.repository.appendingPathComponent("packaging/outpost.service"), encoding: .utf8)
        #expect(unit.contains("DynamicUser=yes") && unit.contains("StateDirectory=outpost") && unit.contains("LimitNOFILE="))
        // Verified as installed, with the binary of this build where the unit expects /usr/local/bin/outpost.
        try await withTemporaryDirectory { directory in
            let path = directory + "/outpost.service"
            try unit.replacingOccurrences(of: "/usr/local/bin/outpost", with: try outpostBinary().path)
                .write(toFile: path, atomically: true, encoding: .utf8)
            let verified = try runTool(analyze, ["verify", "--man=no", path])
            #expect(verified.status == 0, "\(verified.output) \(verified.errors)")
            #expect(verified.errors.isEmpty, "\(verified.errors)")
        }
    }

    @Test("outpost serve --log-format json --access-log-format json: both logs are JSON lines on standard output, apart")
    func jsonApplicationLog() async throws {
        try await withOrigin(Self.cacheable) { origin in
            let process = ChildProcess()
            process.executableURL = try outpostBinary()
            process.arguments = ["serve", "--listen", "127.0.0.1:0", "--threads", "1", "--admin-listen", "off", "--disk-size", "0",
                                 "--origin", origin.url, "--log-format", "json", "--access-log-format", "json"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
            var text = ""
            let deadline = ContinuousClock.now + .seconds(20)
            while !text.contains("outpost started") && ContinuousClock.now < deadline && process.isRunning {
                text += String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            }
            let startLine = try #require(text.split(separator: "\n").first { $0.contains("outpost started") })
            let started = try #require(try JSONSerialization.jsonObject(with: Data(startLine.utf8)) as? [String: Any])
            #expect(started["level"] as? String == "notice")
            #expect(started["label"] as? String == "outpost")
            let metadata = try #require(started["metadata"] as? [String: Any])
            let port = try #require((metadata["port"] as? String).flatMap { Int($0) })
            _ = try await send("GET /json HTTP/1.1\r\nHost: site.example\r\n\r\n", to: port)
            while !text.contains("\"target\":\"/json\"") && ContinuousClock.now < deadline && process.isRunning {
                text += String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            }
            let accessLine = try #require(text.split(separator: "\n").first { $0.contains("\"target\":\"/json\"") })
            let access = try #require(try JSONSerialization.jsonObject(with: Data(accessLine.utf8)) as? [String: Any])
            #expect(access["status"] as? Int == 200)
            #expect(access["cache"] as? String == "miss")
            #expect(access["level"] == nil)  // an access line, not an application log record
        }
    }
}
