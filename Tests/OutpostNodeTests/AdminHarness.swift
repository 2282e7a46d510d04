// Requests to a test node's admin listener, and decoding its JSON answers.
import AdminProtocol
import Foundation
import OutpostNode
import OutpostTesting
import Testing

/// One admin request on a fresh connection; `token: nil` sends none.
func admin(_ method: String, _ target: String, json body: String? = nil, token: String? = adminToken,
           extraHeaders: [String] = [], to node: Node) async throws -> WireResponse {
    let port = try #require(node.adminPort)
    var lines = ["\(method) \(target) HTTP/1.1", "Host: 127.0.0.1:\(port)", "Connection: close"]
    if let token { lines.append("Authorization: Bearer \(token)") }
    lines += extraHeaders
    if let body {
        lines.append("Content-Type: application/json")
        lines.append("Content-Length: \(body.utf8.count)")
    }
    return try await send(lines.joined(separator: "\r\n") + "\r\n\r\n" + (body ?? ""), to: port)
}

func decode<T: Decodable>(_ type: T.Type, _ response: WireResponse) throws -> T {
    do {
        return try JSONDecoder().decode(type, from: Data(response.body))
    } catch {
        Issue.record("status \(response.status), body: \(response.bodyText)")
        throw error
    }
}

func purge(_ json: String, on node: Node) async throws -> PurgeReceipt {
    let response = try await admin("POST", "/purge", json: json, to: node)
    #expect(response.status == 200, "\(response.bodyText)")
    return try decode(PurgeReceipt.self, response)
}
