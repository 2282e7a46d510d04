// The admin API from outpostctl's side: the shared options (--admin, --token, --json) and a client
// that sends the bearer token, decodes AdminProtocol's types and turns every failure into one line
// on standard error and an exit code: 1 not found, 2 a request the node calls bad, 3 unreachable
// or refused (401/403). The HTTP client is always shut down before the command returns.
import AdminProtocol
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

struct AdminOptions: ParsableArguments {
    static let defaultAddress = "http://127.0.0.1:8081"

    @Option(name: .customLong("admin"), help: "The node's admin API (default: \(AdminOptions.defaultAddress)).")
    var address: String?

    @Option(help: "The admin token (default: the \(AdminAPI.tokenEnvironmentVariable) environment variable).")
    var token: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    var baseURL: String {
        var text = address ?? Self.defaultAddress
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    var effectiveToken: String? {
        token ?? ProcessInfo.processInfo.environment[AdminAPI.tokenEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    func validate() throws {
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else {
            throw ValidationError("--admin must start with http:// or https://")
        }
    }

    /// Runs `body` with a client for this node's admin API, and shuts the client down whatever happens.
    func withClient<Result>(_ body: (AdminClient) async throws -> Result) async throws -> Result {
        let client = AdminClient(baseURL: baseURL, token: effectiveToken)
        do {
            let result = try await body(client)
            try? await client.http.shutdown()
            return result
        } catch {
            try? await client.http.shutdown()
            throw error
        }
    }
}

/// One node's admin API. Every method either returns the decoded answer or throws an `ExitCode`
/// after saying why on standard error.
final class AdminClient: Sendable {
    let baseURL: String
    let token: String?
    let http: HTTPClient
    let timeout: TimeAmount = .seconds(10)

    init(baseURL: String, token: String?) {
        self.baseURL = baseURL
        self.token = token
        // One request at a time to one node: a refused connection is an answer, not a reason to retry.
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func get<Answer: Decodable>(_ path: String, query: [(String, String)] = [], as type: Answer.Type = Answer.self) async throws -> Answer {
        try await send(.GET, path, query: query, body: nil, missingIsNil: false)!
    }

    /// A GET whose 404 means "nothing there" (nil) rather than a failure.
    func find<Answer: Decodable>(_ path: String, query: [(String, String)] = [], as type: Answer.Type = Answer.self) async throws -> Answer? {
        try await send(.GET, path, query: query, body: nil, missingIsNil: true)
    }

    func post<Answer: Decodable>(_ path: String, body: some Encodable, as type: Answer.Type = Answer.self) async throws -> Answer {
        try await send(.POST, path, query: [], body: try jsonEncoder.encode(body), missingIsNil: false)!
    }

    /// A GET whose 404 gives no answer and, decoded as `Absence`, what the node says about it.
    func findOrExplain<Answer: Decodable, Absence: Decodable>(_ path: String, query: [(String, String)], as type: Answer.Type,
                                                              absence: Absence.Type) async throws -> (answer: Answer?, absence: Absence?) {
        nonisolated(unsafe) var explanation: Absence?
        let answer: Answer? = try await send(.GET, path, query: query, body: nil, missingIsNil: true) { data in
            explanation = try? JSONDecoder().decode(Absence.self, from: data)
        }
        return (answer, explanation)
    }

    private func send<Answer: Decodable>(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: Data?,
                                         missingIsNil: Bool, missing: (Data) -> Void = { _ in }) async throws -> Answer? {
        let url = baseURL + path + queryString(query)
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: HTTPResponseStatus
        var bytes: ByteBuffer
        do {
            let response = try await http.execute(request, timeout: timeout)
            status = response.status
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw failure("cannot reach the admin API at \(baseURL): \(describe(error))", code: 3)
        }
        let data = Data(bytes.readBytes(length: bytes.readableBytes) ?? [])
        let reason = (try? JSONDecoder().decode(ErrorMessage.self, from: data))?.error
            ?? String(decoding: data.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        switch status.code {
        case 200..<300:
            do {
                return try JSONDecoder().decode(Answer.self, from: data)
            } catch {
                throw failure("\(method) \(path): the answer is not the expected JSON (\(error))", code: 3)
            }
        case 401, 403:
            let hint = token == nil ? "no token given: use --token or \(AdminAPI.tokenEnvironmentVariable)" : "check --token or \(AdminAPI.tokenEnvironmentVariable)"
            throw failure("the admin API at \(baseURL) refused the request (\(status.code)\(reason.isEmpty ? "" : ": \(reason)")); \(hint)", code: 3)
        case 404:
            if missingIsNil {
                missing(data)
                return nil
            }
            throw failure(reason.isEmpty ? "\(path): not found" : reason, code: 1)
        case 400:
            throw failure("the node rejected the request: \(reason)", code: 2)
        default:
            throw failure("\(method) \(path) answered \(status.code)\(reason.isEmpty ? "" : ": \(reason)")", code: 1)
        }
    }
}

private let jsonEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    return encoder
}()

/// `?name=value&…` with everything but unreserved characters percent-encoded (RFC 3986 §2.3).
func queryString(_ items: [(String, String)]) -> String {
    guard !items.isEmpty else { return "" }
    return "?" + items.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&")
}

func percentEncoded(_ text: String) -> String {
    var result = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            result.append(Character(Unicode.Scalar(byte)))
        default:
            result += String(format: "%%%02X", byte)
        }
    }
    return result
}

/// A transport error in a few words ("connection refused", "timed out") rather than a type dump.
func describe(_ error: any Error) -> String {
    let text = String(describing: error)
    if text.localizedCaseInsensitiveContains("refused") { return "connection refused" }
    if ["timeout", "timedout", "deadline"].contains(where: { text.localizedCaseInsensitiveContains($0) }) { return "timed out" }
    if let error = error as? HTTPClientError { return error.description }
    return text
}
