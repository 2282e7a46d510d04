// The TLS listeners, driven by a real TLS client (AsyncHTTPClient, which speaks HTTP/2 when ALPN
// offers it) with certificates made at test time: HTTP/2 and HTTP/1.1 over TLS through miss, hit,
// collapse and purge, X-Forwarded-Proto and the scheme in the key, and SNI choosing the pair.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import OutpostNode
import OutpostTesting
import Testing

@Suite("TLS listeners: HTTP/1.1 and HTTP/2 over TLS, SNI", .timeLimit(.minutes(1)))
struct TLSListenerTests {
    /// A node with a plain listener and a TLS listener serving `pki`'s certificate (and `more`).
    func withTLSNode(origin: ScriptedOrigin, pki: TestPKI, more: [TestPKI] = [], http2: Bool = true,
                     _ body: (Node) async throws -> Void) async throws {
        try await withNode(origins: [origin], configure: {
            $0.tlsListens = [HostAndPort(host: "127.0.0.1", port: 0)]
            $0.tlsCertificateFiles = ([pki] + more).map(\.serverCertificate)
            $0.tlsKeyFiles = ([pki] + more).map(\.serverKey)
            $0.http2 = http2
        }, body)
    }

    func client(trusting pki: TestPKI, version: HTTPClient.Configuration.HTTPVersion) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(pki.authorityCertificate)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = version
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func get(_ url: String, with client: HTTPClient) async throws -> (HTTPClientResponse, String) {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (response, String(buffer: body))
    }

    @Test("HTTP/2 over TLS: a miss, then a hit, the origin told X-Forwarded-Proto https; a purge reaches it", arguments: [true, false])
    func missHitPurge(_ http2: Bool) async throws {
        let pki = try TestPKI.make(serverName: "localhost")
        try await withOrigin({ request in
            OriginReply(headers: [("Cache-Control", "max-age=60")], body: .bytes(Array("proto=\(request.header("x-forwarded-proto") ?? "-")".utf8)))
        }) { origin in
            try await withTLSNode(origin: origin, pki: pki) { node in
                let client = client(trusting: pki, version: http2 ? .automatic : .http1Only)
                do {
                    let url = "https://localhost:\(try #require(node.tlsPorts.first))/page"
                    let (first, body) = try await get(url, with: client)
                    #expect(first.status == .ok)
                    #expect(first.version == (http2 ? .http2 : .http1_1))
                    #expect(body == "proto=https")
                    #expect(first.headers.first(name: "cache-status")?.contains("stored") == true)
                    let (second, _) = try await get(url, with: client)
                    #expect(second.headers.first(name: "cache-status")?.contains("hit") == true)
                    #expect(origin.requestCount == 1)
                    // The scheme is part of the key: plain http is another object.
                    let plain = try await request("/page", to: node)
                    #expect(plain.bodyText == "proto=http")
                    #expect(origin.requestCount == 2)
                    let receipt = try await purge(#"{"url": "https://localhost:\#(node.tlsPorts[0])/page"}"#, on: node)
                    #expect(receipt.objects >= 1)
                    let (afterPurge, _) = try await get(url, with: client)
                    #expect(afterPurge.headers.first(name: "cache-status")?.contains("fwd=uri-miss") == true)
                } catch {
                    try? await client.shutdown()
                    throw error
                }
                try await client.shutdown()
            }
        }
    }

    @Test("HTTP/2: 20 concurrent streams for one cold URL collapse into one origin fetch")
    func collapseOverStreams() async throws {
        let pki = try TestPKI.make(serverName: "localhost")
        try await withOrigin({ _ in
            OriginReply(headers: [("Cache-Control", "max-age=60")], body: .bytes(Array("slow".utf8)), behaviour: .delayHead(.milliseconds(300)))
        }) { origin in
            try await withTLSNode(origin: origin, pki: pki) { node in
                let client = client(trusting: pki, version: .automatic)
                let url = "https://localhost:\(node.tlsPorts[0])/cold"
                let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<20 { group.addTask { try await get(url, with: client).1 } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                try await client.shutdown()
                #expect(bodies.count == 20 && bodies.allSatisfy { $0 == "slow" })
                #expect(origin.requestCount == 1)
            }
        }
    }

    @Test("SNI chooses each pair's certificate; a name no pair covers gets the first")
    func serverNameIndication() async throws {
        let first = try TestPKI.make(serverName: "first.test")
        let second = try TestPKI.make(serverName: "second.test")
        try await withOrigin({ _ in .ok("x") }) { origin in
            try await withTLSNode(origin: origin, pki: first, more: [second]) { node in
                let port = node.tlsPorts[0]
                let names = try ["first.test", "second.test", "unknown.test"].map { try peerCommonName(port: port, serverName: $0) }
                #expect(names == ["first.test", "second.test", "first.test"])
            }
        }
    }

    @Test("--http2 off: ALPN offers only http/1.1")
    func http2Off() async throws {
        let pki = try TestPKI.make(serverName: "localhost")
        try await withOrigin({ _ in .ok("x") }) { origin in
            try await withTLSNode(origin: origin, pki: pki, http2: false) { node in
                let client = client(trusting: pki, version: .automatic)
                let (response, _) = try await get("https://localhost:\(node.tlsPorts[0])/x", with: client)
                try await client.shutdown()
                #expect(response.version == .http1_1)
            }
        }
    }
}

/// The subject CN of the certificate the server at `port` presents for `serverName` (openssl s_client).
func peerCommonName(port: Int, serverName: String) throws -> String? {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", serverName]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("subject=") }),
          let range = line.range(of: "CN = ") ?? line.range(of: "CN=")
    else { return nil }
    return String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
}
