// The three real clients and how each one is made to play a sequence of requests over one reused
// connection: Node's fetch and Python's http.client through the scripts in Clients/, curl through
// one command line whose URLs are separated by `--next`. Every client reports, per request, the
// status, the response fields, the body, the time it took and which connection carried it.
import Foundation
import Testing

/// One request of a sequence.
struct ClientStep: Codable, Sendable, CustomStringConvertible {
    var method: String
    var path: String
    var headers: [String: String] = [:]
    /// ASCII text, sent with Content-Length unless `chunked`.
    var body: String? = nil
    /// Send the body with `Transfer-Encoding: chunked`.
    var chunked = false

    static func get(_ path: String, _ headers: [String: String] = [:]) -> ClientStep {
        ClientStep(method: "GET", path: path, headers: headers)
    }

    static func head(_ path: String) -> ClientStep { ClientStep(method: "HEAD", path: path) }

    static func send(_ method: String, _ path: String, _ body: String, chunked: Bool = false) -> ClientStep {
        ClientStep(method: method, path: path, body: body, chunked: chunked)
    }

    var description: String {
        let extra = headers.sorted { $0.key < $1.key }.map { " [\($0.key): \($0.value)]" }.joined()
        let sent = body.map { " with \($0.utf8.count) bytes\(chunked ? " chunked" : "")" } ?? ""
        return "\(method) \(path)\(extra)\(sent)"
    }
}

/// What a client reports for one step.
struct ClientResult: Decodable, Sendable, CustomStringConvertible {
    /// `nil` when the request failed (see `error`).
    var status: Int?
    /// Field names lowercased; repeated fields joined with ", ".
    var headers: [String: String]
    /// The body as text (the tests' bodies are ASCII).
    var body: String
    /// Seconds from sending the request to having read the whole response.
    var elapsed: Double
    /// The client's port of the connection that carried the request.
    var localPort: Int?
    /// The client opened a connection for this request.
    var newConnection: Bool?
    var error: String?

    func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// This node's Cache-Status member (the last one, RFC 9211 §2).
    var cacheStatus: CacheStatusMember { CacheStatusMember(field: header("cache-status")) }

    var description: String {
        let outcome = error.map { "error \($0)" } ?? "\(status.map(String.init) ?? "-") \(body.utf8.count) bytes"
        return "\(outcome) in \(String(format: "%.3f", elapsed)) s, Cache-Status: \(header("cache-status") ?? "none"), "
            + "port \(localPort.map(String.init) ?? "-")\(newConnection == true ? " (new connection)" : "")"
    }
}

/// One run of a client over a sequence.
struct ClientRun: Sendable {
    var client: RealClient
    var steps: [ClientStep]
    var results: [ClientResult]
    var process: ProcessOutcome

    /// Fails the test unless the client finished in time and reported every step.
    func expectCompleted(sourceLocation: SourceLocation = #_sourceLocation) {
        let timedOut = process.timedOut
        let reported = results.count
        let unfinished = reported < steps.count ? "step \(reported + 1) \(steps[reported]) never finished" : "every step reported"
        #expect(!timedOut, "\(client) was killed after its timeout; \(unfinished); stderr: \(process.errors.suffix(2000))",
                sourceLocation: sourceLocation)
        #expect(reported == steps.count,
                "\(client) reported \(reported) of \(steps.count) steps (\(unfinished)); exit \(process.exitStatus); stderr: \(process.errors.suffix(2000))",
                sourceLocation: sourceLocation)
    }

    /// Fails the test unless the first request opened the one connection every later request
    /// reused. The only new connections allowed are the client's own choice (see
    /// `RealClient.closesConnection(after:)`): the step after such a request opens the next one.
    /// Only the first step off that pattern is reported; the ones after it follow from it.
    func expectOneConnection(sourceLocation: SourceLocation = #_sourceLocation) {
        var connectionPort: Int? = nil
        for (index, (step, result)) in zip(steps, results).enumerated() {
            let opens = index == 0 || client.closesConnection(after: steps[index - 1])
            if opens { connectionPort = result.localPort }
            let expected = result.newConnection == opens && result.localPort != nil && result.localPort == connectionPort
            #expect(expected, "\(client), step \(index + 1) \(step): \(opens ? "expected a new connection" : "expected the previous connection (port \(connectionPort.map(String.init) ?? "-")) to be reused"): \(result)",
                    sourceLocation: sourceLocation)
            if !expected { return }
        }
    }

    /// The result of step `index` (0-based), or a recorded failure.
    func result(_ index: Int, sourceLocation: SourceLocation = #_sourceLocation) throws -> ClientResult {
        try #require(index < results.count, "\(client) reported no result for step \(index + 1)", sourceLocation: sourceLocation)
        return results[index]
    }
}

enum RealClient: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case fetch
    case curl
    case httpClient

    var testDescription: String {
        switch self {
        case .fetch: "Node fetch"
        case .curl: "curl"
        case .httpClient: "Python http.client"
        }
    }

    var program: ExternalProgram {
        switch self {
        case .fetch: .node
        case .curl: .curl
        case .httpClient: .python3
        }
    }

    /// Whether the client itself closes its connection after `step`, whatever the server says.
    /// undici (Node's fetch) does after a HEAD (mcollina/undici#258: against servers that send a
    /// body anyway) and after a body on a method that does not expect one (anything but POST, PUT
    /// and PATCH, e.g. DELETE with a body); see `writeH1` in undici's lib/dispatcher/client-h1.js.
    func closesConnection(after step: ClientStep) -> Bool {
        guard self == .fetch else { return false }
        return step.method == "HEAD" || (step.body != nil && !["POST", "PUT", "PATCH"].contains(step.method))
    }

    /// How long a client waits for one response before reporting the step as failed.
    static let stepTimeout = 3

    /// Plays `steps` in order against 127.0.0.1:`port`, over one connection as far as the client
    /// and the server allow.
    func run(_ steps: [ClientStep], port: Int) async throws -> ClientRun {
        switch self {
        case .fetch:
            let outcome = try await runProgram(.node, [clientScript("fetch-sequence.mjs"), "http://127.0.0.1:\(port)", try Self.json(steps)])
            return ClientRun(client: self, steps: steps, results: Self.decodeLines(outcome.output), process: outcome)
        case .httpClient:
            let outcome = try await runProgram(.python3, [clientScript("http-client-sequence.py"), String(port), try Self.json(steps)])
            return ClientRun(client: self, steps: steps, results: Self.decodeLines(outcome.output), process: outcome)
        case .curl:
            return try await CurlCommand(steps: steps, port: port).run()
        }
    }

    private static func json(_ steps: [ClientStep]) throws -> String {
        String(decoding: try JSONEncoder().encode(steps), as: UTF8.self)
    }

    /// The results a client printed, up to the first line that is not one (a client killed at its
    /// timeout may leave half a line; `expectCompleted` then reports the missing steps).
    private static func decodeLines(_ output: String) -> [ClientResult] {
        var results: [ClientResult] = []
        for line in output.split(separator: "\n") {
            guard let result = try? JSONDecoder().decode(ClientResult.self, from: Data(line.utf8)) else { break }
            results.append(result)
        }
        return results
    }
}

/// curl with one URL per step, `--next` between them, so every transfer shares curl's connection
/// cache. Each transfer dumps its head and body to its own file and writes its `%{json}` summary
/// (status, number of new connections, local port, total time) as one line on stdout; `-v` writes
/// the connection log ("Re-using existing connection") to stderr.
struct CurlCommand {
    var steps: [ClientStep]
    var port: Int

    var folder = FileManager.default.temporaryDirectory.appendingPathComponent("outpost-curl-\(UUID().uuidString)")

    func headFile(_ index: Int) -> URL { folder.appendingPathComponent("head-\(index)") }
    func bodyFile(_ index: Int) -> URL { folder.appendingPathComponent("body-\(index)") }

    var arguments: [String] {
        var arguments = ["--silent", "--verbose"]
        for (index, step) in steps.enumerated() {
            if index > 0 { arguments.append("--next") }
            arguments += ["--max-time", String(RealClient.stepTimeout),
                          "--dump-header", headFile(index).path, "--output", bodyFile(index).path,
                          "--write-out", "%{json}\\n"]
            switch step.method {
            case "GET": break
            // --head writes the head to the output file too; the result's body is then left empty.
            case "HEAD": arguments.append("--head")
            default: arguments += ["--request", step.method]
            }
            for (name, value) in step.headers.sorted(by: { $0.key < $1.key }) { arguments += ["--header", "\(name): \(value)"] }
            if let body = step.body {
                if step.chunked { arguments += ["--header", "Transfer-Encoding: chunked"] }
                arguments += ["--data-binary", body]
            }
            arguments.append("http://127.0.0.1:\(port)\(step.path)")
        }
        return arguments
    }

    func run() async throws -> ClientRun {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try await runProgram(.curl, arguments)
        var results: [ClientResult] = []
        for (index, line) in outcome.output.split(separator: "\n").enumerated() where index < steps.count {
            // A curl killed at its timeout may leave half a line; `expectCompleted` reports the rest.
            guard let summary = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { break }
            let status = summary["http_code"] as? Int ?? 0
            let message = summary["errormsg"] as? String
            let body = steps[index].method == "HEAD" ? "" : (try? String(contentsOf: bodyFile(index), encoding: .isoLatin1)) ?? ""
            results.append(ClientResult(
                status: status == 0 ? nil : status,
                headers: Self.finalHead((try? String(contentsOf: headFile(index), encoding: .isoLatin1)) ?? ""),
                body: body,
                elapsed: summary["time_total"] as? Double ?? 0,
                localPort: (summary["local_port"] as? Int).flatMap { $0 == 0 ? nil : $0 },
                newConnection: (summary["num_connects"] as? Int).map { $0 > 0 },
                error: message.flatMap { $0.isEmpty ? nil : $0 } ?? (status == 0 ? "curl exit \(summary["exitcode"] ?? "?")" : nil)))
        }
        return ClientRun(client: .curl, steps: steps, results: results, process: outcome)
    }

    /// The fields of the last head in a `--dump-header` file (interim 1xx heads come first).
    static func finalHead(_ text: String) -> [String: String] {
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.lastIndex(where: { $0.hasPrefix("HTTP/") }) else { return [:] }
        var fields: [String: String] = [:]
        for line in lines[(start + 1)...] {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            fields[name] = fields[name].map { "\($0), \(value)" } ?? value
        }
        return fields
    }

    /// How many times curl's verbose log says a transfer reused a connection (curl 7 spells it
    /// "Re-using existing connection", curl 8 "Reusing existing connection").
    static func reuseCount(in log: String) -> Int {
        log.components(separatedBy: "\n").filter {
            $0.contains("Re-using existing connection") || $0.contains("Reusing existing connection")
        }.count
    }
}
