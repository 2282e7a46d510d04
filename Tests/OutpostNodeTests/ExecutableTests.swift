// The built `outpost` binary, run as an operator would: exit codes, help, the demo, and SIGTERM
// during an in-flight request. The binary sits next to the test bundle in the build folder.
import AdminProtocol
import Foundation
import OutpostNode
import OutpostTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct RunResult {
    var status: Int32
    var output: String
    var errors: String
}

/// A binary of this build (`outpost`, `outpostctl`), found next to the test bundle.
func builtBinary(_ name: String = "outpost") throws -> URL {
    let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [folder, folder.deletingLastPathComponent(), folder.deletingLastPathComponent().deletingLastPathComponent()] {
        let url = candidate.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: folder.appendingPathComponent(name).path])
}

func outpostBinary() throws -> URL { try builtBinary("outpost") }

/// Starts `outpost serve --listen 127.0.0.1:0 --threads 1` plus `arguments`; returns the running
/// process and the port its start-up line reports.
func startServing(_ arguments: [String]) throws -> (ChildProcess, Int) {
    let (process, port, _) = try startServingWithAdmin(arguments)
    return (process, port)
}

/// As `startServing`, with the admin port from the start-up line too.
func startServingWithAdmin(_ arguments: [String]) throws -> (ChildProcess, Int, Int?) {
    let process = ChildProcess()
    process.executableURL = try outpostBinary()
    process.arguments = ["serve", "--listen", "127.0.0.1:0", "--threads", "1", "--admin-listen", "127.0.0.1:0",
                         "--admin-token", adminToken] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    var text = ""
    let deadline = ContinuousClock.now + .seconds(20)
    // The whole start-up line: it names the public port and the admin port.
    func started() -> Bool { text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().contains { $0.contains(" port=") } }
    while !started() && ContinuousClock.now < deadline && process.isRunning {
        text += String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
    }
    guard let port = text.split(separator: " ").first(where: { $0.hasPrefix("port=") }).flatMap({ Int($0.dropFirst(5)) }) else {
        if process.isRunning { process.terminate() }
        throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "outpost did not report a port: \(text)"])
    }
    let admin = text.split(separator: " ").first(where: { $0.hasPrefix("admin-port=") }).flatMap { Int($0.dropFirst(11)) }
    // Keep draining the output so the node never blocks on a full pipe.
    output.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
    return (process, port, admin)
}

func run(_ arguments: [String], binary: String = "outpost", timeout: Duration = .seconds(60)) async throws -> RunResult {
    let process = ChildProcess()
    process.executableURL = try builtBinary(binary)
    process.arguments = arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return RunResult(
        status: process.terminationStatus,
        output: String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
        errors: String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
}

@Suite("The outpost executable", .timeLimit(.minutes(2)))
struct ExecutableTests {
    @Test("a bad value stops start-up with one line naming it, and exit code 2", arguments: [
        ["serve", "--origin", "http://127.0.0.1:1", "--memory-size", "12XB"],
        ["serve", "--origin", "http://127.0.0.1:1", "--listen", "nowhere"],
        ["serve", "--origin", "gopher://x"],
        ["serve", "--no-such-flag"],
        ["serve", "--origin", "http://127.0.0.1:1", "--policy", "/nonexistent/rules.yaml"],
        ["serve"],
    ])
    func badValue(_ arguments: [String]) async throws {
        let result = try await run(arguments)
        #expect(result.status == 2)
        let lines = result.errors.split(separator: "\n")
        #expect(lines.count == 1, "\(result.errors)")
        #expect(result.errors.hasPrefix("outpost: "))
    }

    @Test("--help documents every setting")
    func help() async throws {
        let result = try await run(["serve", "--help"])
        #expect(result.status == 0)
        for setting in NodeSettings.all { #expect(result.output.contains("--\(setting.name)"), "--\(setting.name) missing from help") }
        #expect(result.output.contains("--config"))
    }

    @Test("outpost --version and outpostctl --version name the release")
    func version() async throws {
        for binary in ["outpost", "outpostctl"] {
            let result = try await run(["--version"], binary: binary)
            #expect(result.status == 0)
            #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(binary) \(OutpostRelease.version)")
        }
    }

    @Test("outpost demo exits 0 with a report")
    func demo() async throws {
        let result = try await run(["demo", "--requests", "300", "--concurrency", "4", "--seconds", "30"])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.contains("requests     300"))
        #expect(result.output.contains("latency ms"))
        #expect(result.output.contains("status codes 200×300"))
    }

    @Test("SIGTERM during a slow in-flight request: the request completes and the process exits 0")
    func sigterm() async throws {
        try await withOrigin({ _ in OriginReply(body: .bytes(Array("finished".utf8)), behaviour: .delayHead(.seconds(1))) }) { origin in
            let (process, port) = try startServing(["--origin", origin.url, "--disk-size", "0"])
            defer { if process.isRunning { process.terminate() } }
            let deadline = ContinuousClock.now + .seconds(20)
            async let response = WireConnection.with(port: port) { connection in
                try await connection.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
                return try await connection.readResponse()
            }
            while origin.requestCount == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            kill(process.processIdentifier, SIGTERM)
            let answered = try await response
            #expect(answered.status == 200)
            #expect(answered.bodyText == "finished")
            while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!process.isRunning)
            #expect(process.terminationReason == .exit)
            #expect(process.terminationStatus == 0)
        }
    }

    @Test("outpostctl check explains a miss, then a hit; an unreachable node exits 3")
    func outpostctlCheck() async throws {
        try await withOrigin({ _ in .ok("page", headers: [("Cache-Control", "max-age=60")]) }) { origin in
            try await withNode(origins: [origin]) { node in
                let url = "http://127.0.0.1:\(node.port)/page"
                let miss = try await run(["check", url], binary: "outpostctl")
                #expect(miss.status == 0, "\(miss.errors)")
                #expect(miss.output.contains("forwarded (uri-miss), now stored"))
                let hit = try await run(["check", url, "--json"], binary: "outpostctl")
                #expect(hit.status == 0)
                #expect(hit.output.contains("\"verdict\" : \"hit, fresh for"))
                #expect(hit.output.contains("\"bodyBytes\" : 4"))
            }
        }
        let unreachable = try await run(["check", "http://127.0.0.1:9/x", "--timeout", "2"], binary: "outpostctl")
        #expect(unreachable.status == 3)
        let usage = try await run(["check", "not-a-url"], binary: "outpostctl")
        #expect(usage.status == 2)
    }
}
