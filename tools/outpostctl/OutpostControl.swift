// outpostctl: the operator's command line for Outpost nodes.
// `check` asks a node for a URL and explains the cache's answer from its Cache-Status
// (RFC 9211); `stats`, `top`, `purge`, `ls` and `inspect` ask the node's admin API
// (AdminClient.swift) — or, for ls / inspect / stats with --cache-dir, read a cache directory's
// index (Offline.swift); `warm` fills the cache through the public listener (Warm.swift).
// Exit codes scripts can rely on: 0 ok, 1 not found or an error status, 2 usage,
// 3 node unreachable, token refused, or index unreadable.
import AdminProtocol
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

@main
struct OutpostControl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpostctl",
        abstract: "Inspect and operate Outpost nodes.",
        discussion: """
            Commands that ask the admin API take --admin URL (default \(AdminOptions.defaultAddress)) and \
            --token T (default: $\(AdminAPI.tokenEnvironmentVariable)).
            Exit codes: 0 ok, 1 not found or failed, 2 usage, 3 unreachable, token refused or index unreadable.
            """,
        version: "outpostctl \(OutpostRelease.version)",
        subcommands: [Check.self, Statistics.self, Top.self, Purge.self, List.self, Inspect.self, Warm.self, Reload.self, HashPassword.self])

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
        } catch {
            let code = exitCode(for: error)
            if code == .success { print(fullMessage(for: error)); Foundation.exit(0) }
            if let exit = error as? ExitCode { Foundation.exit(exit.rawValue) }
            FileHandle.standardError.write(Data("outpostctl: \(message(for: error))\n".utf8))
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Request a URL through a node and explain how the cache answered.",
        discussion: "Example: outpostctl check http://127.0.0.1:8080/index.html --header 'Accept-Encoding: gzip'")

    @Argument(help: "The URL, on the node's public listener.")
    var url: String

    @Option(name: .customLong("header"), help: "An extra request header, 'Name: value' (repeatable).")
    var headers: [String] = []

    @Flag(help: "Send HEAD instead of GET.")
    var head = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Seconds to wait for the answer.")
    var timeout = 10

    func validate() throws {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw ValidationError("the URL must start with http:// or https://") }
        for header in headers where !header.contains(":") { throw ValidationError("--header '\(header)' is not 'Name: value'") }
    }

    func run() async throws {
        var request = HTTPClientRequest(url: url)
        request.method = head ? .HEAD : .GET
        for header in headers {
            let parts = header.split(separator: ":", maxSplits: 1)
            request.headers.add(name: String(parts[0]).trimmingCharacters(in: .whitespaces),
                                value: String(parts[1]).trimmingCharacters(in: .whitespaces))
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let started = ContinuousClock.now
        let report: CheckReport
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(timeout)))
            var bytes = 0
            for try await part in response.body { bytes += part.readableBytes }
            let elapsed = ContinuousClock.now - started
            report = CheckReport(
                url: url, status: Int(response.status.code), cacheStatus: response.headers["cache-status"].last,
                age: response.headers.first(name: "age"), bodyBytes: bytes,
                milliseconds: Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        } catch {
            try? await client.shutdown()
            FileHandle.standardError.write(Data("outpostctl: \(url) is unreachable: \(error)\n".utf8))
            throw ExitCode(3)
        }
        try await client.shutdown()
        print(json ? report.json : report.table)
        if report.status >= 400 { throw ExitCode(1) }
    }
}

/// What one check found, from the response's Cache-Status member (RFC 9211 §2).
struct CheckReport: Encodable {
    var url: String
    var status: Int
    var cacheStatus: String?
    var age: String?
    var bodyBytes: Int
    var milliseconds: Double

    /// The parameters of the last member (this node's): hit, fwd, fwd-status, ttl, stored, collapsed, detail.
    var parameters: [String: String] {
        guard let member = cacheStatus?.split(separator: ",").last else { return [:] }
        var result: [String: String] = [:]
        for parameter in member.split(separator: ";").dropFirst() {
            let pair = parameter.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            result[String(pair[0])] = pair.count > 1 ? String(pair[1]) : "true"
        }
        return result
    }

    var verdict: String {
        let parameters = self.parameters
        guard cacheStatus != nil else { return "no Cache-Status: not an Outpost node, or not through its public listener" }
        if parameters["hit"] != nil {
            if let ttl = parameters["ttl"], ttl.hasPrefix("-") { return "hit, served stale (\(parameters["detail"] ?? "allowed"))" }
            return "hit, fresh for \(parameters["ttl"] ?? "?") s more"
        }
        var text = "forwarded (\(parameters["fwd"] ?? "?"))"
        if let status = parameters["fwd-status"] { text += ", origin answered \(status)" }
        if parameters["stored"] != nil { text += ", now stored" }
        if parameters["collapsed"] != nil { text += ", waited on another request's fetch" }
        if let detail = parameters["detail"] { text += ", because: \(detail)" }
        return text
    }

    var table: String {
        [
            "url           \(url)",
            "status        \(status)",
            "cache         \(verdict)",
            "cache-status  \(cacheStatus ?? "-")",
            "age           \(age ?? "-")",
            "body bytes    \(bodyBytes)",
            "time          \(String(format: "%.1f", milliseconds)) ms",
        ].joined(separator: "\n")
    }

    var json: String {
        struct Output: Encodable {
            var url: String, status: Int, cacheStatus: String?, verdict: String, age: String?, bodyBytes: Int, milliseconds: Double
            var parameters: [String: String]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let output = Output(url: url, status: status, cacheStatus: cacheStatus, verdict: verdict, age: age,
                            bodyBytes: bodyBytes, milliseconds: milliseconds, parameters: parameters)
        return String(decoding: (try? encoder.encode(output)) ?? Data(), as: UTF8.self)
    }
}
