// Starts a node on port 0 in front of scripted origins, runs a test body, and tears everything
// down whatever happens.
import Foundation
import Logging
import NIOCore
import OriginClient
import OutpostNode
import OutpostTesting

/// `logger` receives the node's log (default: critical messages only, to stderr).
func withNode(
    origins: [any OriginAddress],
    configure: (inout NodeConfiguration) -> Void = { _ in },
    logger: Logger? = nil,
    _ body: (Node) async throws -> Void
) async throws {
    var configuration = NodeConfiguration()
    configuration.listen = HostAndPort(host: "127.0.0.1", port: 0)
    configuration.origins = try origins.map { try OriginServer(url: $0.url) }
    configuration.threads = 1
    configuration.diskSize = 0  // memory only unless a test gives the node a cache directory
    configuration.adminListen = HostAndPort(host: "127.0.0.1", port: 0)
    configuration.adminToken = adminToken
    configure(&configuration)
    let logger = logger ?? {
        var logger = Logger(label: "test.node")
        logger.logLevel = .critical
        return logger
    }()
    let node = try await Node.start(configuration, logger: logger)
    do {
        try await body(node)
    } catch {
        await node.shutdown(gracePeriod: .seconds(1))
        throw error
    }
    await node.shutdown(gracePeriod: .seconds(1))
}

/// The admin token every test node is started with.
let adminToken = "test-admin-token-0123456789"

/// One request on a fresh connection; returns the response as seen on the wire.
func send(_ raw: String, to node: Node, headOnly: Bool = false) async throws -> WireResponse {
    try await send(raw, to: node.port, headOnly: headOnly)
}

func send(_ raw: String, to port: Int, headOnly: Bool = false) async throws -> WireResponse {
    try await WireConnection.with(port: port) { connection in
        try await connection.send(raw)
        return try await connection.readResponse(toHead: headOnly)
    }
}

/// A GET (or `method`) for `target` with extra header lines, on a fresh connection.
func request(_ target: String, _ method: String = "GET", headers: [String] = [], to node: Node) async throws -> WireResponse {
    let extra = headers.map { "\($0)\r\n" }.joined()
    return try await send("\(method) \(target) HTTP/1.1\r\nHost: site.example\r\n\(extra)\r\n", to: node, headOnly: method == "HEAD")
}

/// Every stored body file under a cache directory.
func bodyFiles(_ directory: String) -> [String] {
    let enumerator = FileManager.default.enumerator(atPath: directory)
    var files: [String] = []
    while let path = enumerator?.nextObject() as? String {
        if path.hasSuffix(".body") && !path.contains("/tmp/") { files.append("\(directory)/\(path)") }
    }
    return files
}

extension WireResponse {
    /// This node's Cache-Status member (the last one, RFC 9211 §2).
    var cacheStatus: String { headerValues("cache-status").last?.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" }
}

extension RecordedRequest {
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}
