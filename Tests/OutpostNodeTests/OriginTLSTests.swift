// https origins behind a private CA, as a regional cache meets them: a CA and a server certificate
// are made at test time with openssl, a TLS origin made here serves with them, and the node trusts
// it only when --origin-ca-file names the CA. Without it the client gets a 502 and the log says why.
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOConcurrencyHelpers
import NIOPosix
import NIOSSL
import OriginClient
import OutpostNode
import OutpostTesting
import Testing

@Suite("https origins: private CAs, verification, server names", .timeLimit(.minutes(1)))
struct OriginTLSTests {
    @Test("A self-signed origin behind --origin-ca-file is fetched and cached like an http one")
    func privateCertificateAuthority() async throws {
        let pki = try TestPKI.make(serverName: "origin.test")
        let origin = try await TLSOrigin.start(pki: pki)
        defer { Task { await origin.stop() } }
        try await withNode(origins: [URLOrigin(url: "https://127.0.0.1:\(origin.port)")], configure: {
            $0.originClient.tls.certificateAuthorityFiles = [pki.authorityCertificate]
            $0.originClient.tls.serverName = "origin.test"
        }) { node in
            let first = try await request("/secure", to: node)
            #expect(first.status == 200)
            #expect(first.bodyText == "over tls")
            #expect(first.header("cache-status")?.contains("stored") == true)
            let second = try await request("/secure", to: node)
            #expect(second.header("cache-status")?.contains("hit") == true)
            #expect(origin.requestCount == 1)
        }
    }

    @Test("Without the CA the origin is not trusted: 502, and a log line that names the certificate failure")
    func untrustedOrigin() async throws {
        let pki = try TestPKI.make(serverName: "origin.test")
        let origin = try await TLSOrigin.start(pki: pki)
        defer { Task { await origin.stop() } }
        let records = LogRecords()
        try await withNode(origins: [URLOrigin(url: "https://127.0.0.1:\(origin.port)")], configure: {
            $0.originClient.tls.serverName = "origin.test"
        }, logger: records.logger) { node in
            let response = try await request("/secure", to: node)
            #expect(response.status == 502)
            #expect(origin.requestCount == 0)
            let warnings = records.lines(at: .warning)
            #expect(warnings.contains { $0.contains("CERTIFICATE_VERIFY_FAILED") || $0.lowercased().contains("certificate verify") },
                    "\(warnings)")
        }
    }

    @Test("An unreadable --origin-ca-file stops start-up with one line naming it")
    func unreadableAuthorityFile() async throws {
        var configuration = NodeConfiguration()
        configuration.origins = [try OriginServer(url: "https://127.0.0.1:9")]
        configuration.originClient.tls.certificateAuthorityFiles = ["/nonexistent/ca.pem"]
        #expect(throws: ConfigurationError.self) { try configuration.validated() }
        do {
            _ = try configuration.validated()
        } catch let error as ConfigurationError {
            #expect(error.description.contains("--origin-ca-file") && error.description.contains("/nonexistent/ca.pem"))
        }
    }
}

/// Any URL as an origin address for the harness.
struct URLOrigin: OriginAddress {
    let url: String
}

/// A CA and a server certificate for `serverName` (and 127.0.0.1), made with the openssl CLI.
struct TestPKI {
    let directory: String
    var authorityCertificate: String { directory + "/ca.pem" }
    var serverCertificate: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }

    static func make(serverName: String) throws -> TestPKI {
        let directory = NSTemporaryDirectory() + "outpost-pki-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let extensions = directory + "/server.ext"
        try "subjectAltName=DNS:\(serverName),IP:127.0.0.1\nbasicConstraints=CA:FALSE\n".write(
            toFile: extensions, atomically: true, encoding: .utf8)
        for arguments in [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=Outpost Test CA"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=\(serverName)"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
             "-days", "2", "-extfile", "server.ext"],
        ] {
            let process = ChildProcess()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw WireError.malformed("openssl \(arguments[0]) failed (is Debian's openssl package installed?)")
            }
        }
        return TestPKI(directory: directory)
    }
}

/// An HTTPS/1.1 origin on 127.0.0.1 answering every GET with "over tls", cacheable for a minute.
final class TLSOrigin: Sendable {
    let port: Int
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    private let counter: NIOLockedValueBox<Int>

    var requestCount: Int { counter.withLockedValue { $0 } }

    private init(port: Int, channel: any Channel, group: MultiThreadedEventLoopGroup, counter: NIOLockedValueBox<Int>) {
        self.port = port
        self.channel = channel
        self.group = group
        self.counter = counter
    }

    static func start(pki: TestPKI) async throws -> TLSOrigin {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(pki.serverCertificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: pki.serverKey, format: .pem)))
        let context = try NIOSSLContext(configuration: configuration)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counter = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(TLSOriginHandler(counter: counter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TLSOrigin(port: channel.localAddress?.port ?? 0, channel: channel, group: group, counter: counter)
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

private final class TLSOriginHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let counter: NIOLockedValueBox<Int>

    init(counter: NIOLockedValueBox<Int>) { self.counter = counter }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        counter.withLockedValue { $0 += 1 }
        let body = context.channel.allocator.buffer(string: "over tls")
        let headers = HTTPHeaders([("content-length", "\(body.readableBytes)"), ("cache-control", "max-age=60")])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
