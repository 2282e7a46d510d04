// outpostctl warm FILE: fills a node's cache by requesting URLs through its public listener, at
// most --concurrency at a time, reading every body to its end (a fill is stored only when whole).
// A line "/path" is sent to --node as is; a line "http://host/path?q" sends "/path?q" to --node
// with "Host: host", so the node stores it under that URL. A progress bar goes to standard error
// only when it is a terminal. Exit 0 when every URL answered below 400, 1 when some failed,
// 3 when none could reach the node.
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Warm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Request every URL in a file through a node, so that its cache holds them.",
        discussion: """
            FILE has one URL per line ('-' reads standard input); blank lines and lines starting with # are skipped.
            A line is a path (/img/a.png) or a full URL (http://example.com/img/a.png), sent to --node with that Host.
            """)

    @Argument(help: "The file of URLs.") var file: String
    @Option(help: "The node's public listener.") var node = "http://127.0.0.1:8080"
    @Option(help: "Requests in flight at once.") var concurrency = 8
    @Option(help: "Seconds to wait for each answer.") var timeout = 30
    @Flag(help: "Print JSON instead of a table.") var json = false

    func validate() throws {
        guard node.hasPrefix("http://") || node.hasPrefix("https://") else { throw ValidationError("--node must start with http:// or https://") }
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if timeout < 1 { throw ValidationError("--timeout must be at least 1 second") }
    }

    func run() async throws {
        let text: String
        do {
            text = file == "-"
                ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                : try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw failure("cannot read \(file): \(error.localizedDescription)", code: 2)
        }
        let targets: [WarmTarget]
        do {
            targets = try warmTargets(text, node: node)
        } catch let error as WarmLineError {
            throw failure("\(file):\(error.line): \(error.reason)", code: 2)
        }
        let started = ContinuousClock.now
        let progress = Progress(total: targets.count, drawing: isatty(STDERR_FILENO) == 1)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = concurrency
        configuration.timeout.connect = .seconds(3)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let wait = TimeAmount.seconds(Int64(timeout))
        var results: [WarmResult] = []
        await withTaskGroup(of: WarmResult.self) { group in
            var next = 0
            func startNext() {
                guard next < targets.count else { return }
                let target = targets[next]
                next += 1
                group.addTask { await fetch(target, client: client, timeout: wait) }
            }
            for _ in 0..<concurrency { startNext() }
            while let result = await group.next() {
                results.append(result)
                progress.advance(ok: result.ok)
                startNext()
            }
        }
        try? await client.shutdown()
        progress.finish()
        let elapsed = ContinuousClock.now - started
        let report = WarmReport(
            total: results.count, ok: results.filter(\.ok).count, failed: results.filter { !$0.ok }.count,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            failures: results.filter { !$0.ok }.sorted { $0.url < $1.url })
        if json { printJSON(report) } else { print(report.table) }
        if report.failed > 0 && report.failures.allSatisfy({ $0.status == nil }) {
            throw failure("cannot reach the node at \(node)", code: 3)
        }
        if report.failed > 0 { throw ExitCode(1) }
    }
}

/// One line of the file, resolved: where to send it and with which Host.
struct WarmTarget: Sendable {
    var line: String
    var requestURL: String
    var host: String?
}

struct WarmLineError: Error {
    var line: Int
    var reason: String
}

func warmTargets(_ text: String, node: String) throws -> [WarmTarget] {
    var base = node
    while base.hasSuffix("/") { base.removeLast() }
    var targets: [WarmTarget] = []
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.isEmpty || line.hasPrefix("#") { continue }
        let withoutFragment = String(line.prefix { $0 != "#" })
        if withoutFragment.hasPrefix("/") {
            targets.append(WarmTarget(line: line, requestURL: base + withoutFragment, host: nil))
        } else if let scheme = withoutFragment.range(of: "://"), ["http", "https"].contains(withoutFragment[..<scheme.lowerBound].lowercased()) {
            let rest = withoutFragment[scheme.upperBound...]
            let authority = rest.prefix { $0 != "/" && $0 != "?" }
            guard !authority.isEmpty else { throw WarmLineError(line: index + 1, reason: "no host in \(line)") }
            let target = rest.dropFirst(authority.count)
            let path = target.isEmpty ? "/" : target.hasPrefix("?") ? "/" + target : String(target)
            targets.append(WarmTarget(line: line, requestURL: base + path, host: String(authority)))
        } else {
            throw WarmLineError(line: index + 1, reason: "not a path (/x) or an http(s) URL: \(line)")
        }
    }
    return targets
}

struct WarmResult: Encodable, Sendable {
    var url: String
    /// Nil when no answer came (the error says why).
    var status: Int?
    var bytes: Int
    var error: String?
    var ok: Bool { status.map { $0 < 400 } ?? false }
}

func fetch(_ target: WarmTarget, client: HTTPClient, timeout: TimeAmount) async -> WarmResult {
    var request = HTTPClientRequest(url: target.requestURL)
    if let host = target.host { request.headers.replaceOrAdd(name: "Host", value: host) }
    do {
        let response = try await client.execute(request, timeout: timeout)
        var bytes = 0
        for try await part in response.body { bytes += part.readableBytes }
        let status = Int(response.status.code)
        return WarmResult(url: target.line, status: status, bytes: bytes, error: status < 400 ? nil : "answered \(status)")
    } catch {
        return WarmResult(url: target.line, status: nil, bytes: 0, error: describe(error))
    }
}

struct WarmReport: Encodable {
    var total, ok, failed: Int
    var seconds: Double
    var failures: [WarmResult]

    var table: String {
        var lines = ["warmed \(total) URLs in \(String(format: "%.1f", seconds)) s: \(ok) ok, \(failed) failed"]
        for failure in failures { lines.append("  failed  \(failure.url)  \(failure.error ?? "")") }
        return lines.joined(separator: "\n")
    }
}

/// A one-line progress bar on standard error, redrawn in place; silent when not drawing.
final class Progress {
    private let total: Int
    private let drawing: Bool
    private var done = 0, ok = 0

    init(total: Int, drawing: Bool) {
        self.total = total
        self.drawing = drawing
        draw()
    }

    func advance(ok succeeded: Bool) {
        done += 1
        if succeeded { ok += 1 }
        draw()
    }

    func finish() {
        if drawing { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw() {
        guard drawing else { return }
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)  ok \(ok)  failed \(done - ok)\u{1B}[K".utf8))
    }
}
