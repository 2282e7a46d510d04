// The TLS listener's HTTP/2 against the known HTTP/2 attacks. Each test opens a real TLS connection
// on loopback (ALPN h2) and writes hand-built frames a well-behaved client library never would:
// rapid reset (CVE-2023-44487), CONTINUATION floods, more streams than SETTINGS_MAX_CONCURRENT_STREAMS,
// header lists past --max-header-size (and an HPACK bomb), and flow-control abuse. Each asserts the
// HTTP/2 error code the node answers with, that the origin was spared, and that a fresh client is
// still served afterwards; one more asserts that a connection error's GOAWAY is followed by closing
// the connection. Every wait has a deadline; nothing waits for a timer to expire.
import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import OutpostNode
import OutpostTesting
import Testing

@Suite("HTTP/2 defences on the TLS listener", .timeLimit(.minutes(1)))
struct HTTP2DefenceTests {
    /// A node whose TLS listener offers h2, in front of `origin`.
    func withH2Node(origin: ScriptedOrigin, pki: TestPKI, maximumHeaderBytes: Int? = nil,
                    _ body: (Node) async throws -> Void) async throws {
        try await withNode(origins: [origin], configure: {
            $0.tlsListens = [HostAndPort(host: "127.0.0.1", port: 0)]
            $0.tlsCertificateFiles = [pki.serverCertificate]
            $0.tlsKeyFiles = [pki.serverKey]
            $0.http2 = true
            if let maximumHeaderBytes { $0.edge.maximumHeaderBytes = maximumHeaderBytes }
        }, body)
    }

    /// One GET from a well-behaved HTTP/2 client (AsyncHTTPClient) on a fresh connection.
    func wellBehavedGet(_ path: String, port: Int, pki: TestPKI) async throws -> (status: Int, version: HTTPVersion, body: String) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(pki.authorityCertificate)
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = .automatic
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let response = try await client.execute(HTTPClientRequest(url: "https://localhost:\(port)\(path)"), timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return (Int(response.status.code), response.version, String(buffer: body))
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// The node still answers a well-behaved HTTP/2 client with a 200 after an attack.
    func expectStillServing(_ node: Node, pki: TestPKI, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let after = try await wellBehavedGet("/after-the-attack", port: node.tlsPorts[0], pki: pki)
        #expect(after.status == 200, sourceLocation: sourceLocation)
        #expect(after.version == .http2, sourceLocation: sourceLocation)
        #expect(after.body == "fine", sourceLocation: sourceLocation)
    }

    @Test("Rapid reset (CVE-2023-44487): 1000 HEADERS+RST_STREAM pairs in a burst end in GOAWAY ENHANCE_YOUR_CALM; the origin is spared")
    func rapidReset() async throws {
        let pki = try TestPKI.make(serverName: "localhost")
        try await withOrigin({ _ in .ok("fine") }) { origin in
            try await withH2Node(origin: origin, pki: pki) { node in
                let streams = 1000
                try await RawHTTP2Connection.with(port: node.tlsPorts[0], pki: pki) { connection in
                    connection.write(H2.rapidReset(streams: streams))
                    let seen = await connection.wait(upTo: .seconds(10)) { $0.goAway != nil || $0.ended }
                    let goAway = try #require(seen.goAway, "no GOAWAY after \(streams) reset streams; ended: \(seen.ended) (\(seen.endReason ?? "-"))")
                    #expect(goAway.errorCode == H2.Code.enhanceYourCalm)
                }
                // NIOHTTP2 takes 200 RST_STREAMs per 30 s: only the streams opened before the one whose
                // reset crossed that line can have reached the origin, not one per stream opened.
                #expect(origin.requestCount <= 201)
                try await expectStillServing(node, pki: pki)
            }
        }
    }

    @Test("CONTINUATION flood: HEADERS without END_HEADERS then 1000 CONTINUATIONs end in GOAWAY ENHANCE_YOUR_CALM")
    func continuationFlood() async throws {
        let pki = try TestPKI.make(serverName: "localhost")
        try await withOrigin({ _ in .ok("fine") }) { origin in
            try await withH2Node(origin: origin, pki: pki) { node in
                try await RawHTTP2Connection.with(port: node.tlsPorts[0], pki: pki) { connection in
                    connection.write(H2.continuationFlood(frames: 1000))
                    let seen = await connection.wait(upTo: .seconds(5)) { $0.goAway != nil || $0.ended }
                    let goAway = try #require(seen.goAway, "no GOAWAY within 5 s of a CONTINUATION flood; ended: \(seen.ended) (\(seen.endReason ?? "-"))")
                    #expect(goAway.errorCode == H2.Code.enhanceYourCalm)
                    #expect(seen.frames.allSatisfy { $0.type != H2.FrameType.headers }, "a response to a header block that never ended")
                }
                #expect(origin.requestCount == 0)
                try await expectStillServing(node, pki: pki)
            }
        }
    }

    enum ConnectionError: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case rapidReset, continuationFlood, connectionWindowOverflow
        var testDescription: String { rawValue }
        var bytes: [UInt8] {
            switch self {
            case .rapidReset: H2.rapidReset(streams: 300)
            case .continuationFlood: H2.continuationFlood(frames: 20)
            case .connectionWindowOverflow: H2.windowUpdate(stream: 0, increment: 0x7fff_ffff)
            }
        }
    }

    @Test("After the GOAWAY of a connection error the node closes the connection (RFC 9113 §5.4.1)", arguments: ConnectionError.allCases)
    func closesAfterConnectionError(_ error: ConnectionError) async throws {
        let pki = try TestPKI.make(serverName: "localhost")
        try await withOrigin({ _ in .ok("fine") }) { origin in
            try await withH2Node(origin: origin, pki: pki) { node in
                try await RawHTTP2Connection.with(port: node.tlsPorts[0], pki: pki) { connection in
                    connection.write(error.bytes)
                    let first = await connection.wait(upTo: .seconds(5)) { $0.goAway != nil || $0.ended }
                    let goAway = try #require(first.goAway, "no GOAWAY: \(first)")
                    // A client that keeps talking must not keep the connection: no answer to a PING.
                    connection.write(H2.frame(H2.FrameType.ping, stream: 0, [1, 2, 3, 4, 5, 6, 7, 8]))
                    let seen = await connection.wait(upTo: .seconds(5)) { $0.ended }
                    #expect(seen.ended, "still open 5 s after \(goAway): \(seen)")
                    let pingAnswered = seen.frames.dropFirst(first.frames.count).contains { $0.type == H2.FrameType.ping && $0.flags & H2.Flag.ack != 0 }
                    #expect(!pingAnswered, "a PING sent after \(goAway) was answered")
                }
            }
        }
    }

    @Test("Concurrent streams: SETTINGS advertise 100; a client past 100 is refused (GOAWAY, then the connection closes), the origin sees none beyond 100")
    func tooManyConcurrentStreams() async throws {
        let pki = try TestPKI.make(serverName: "localhost")
        let gate = OriginGate()
        try await withOrigin({ request in
            request.target.hasPrefix("/held/")
                ? OriginReply(headers: [("Cache-Control", "no-store")], body: .bytes(Array("held".utf8)), behaviour: .holdBody(gate))
                : .ok("fine")
        }) { origin in
            try await withH2Node(origin: origin, pki: pki) { node in
                try await RawHTTP2Connection.with(port: node.tlsPorts[0], pki: pki) { connection in
                    let settings = try #require(connection.received.serverSettings)
                    #expect(settings[H2.Setting.maxConcurrentStreams] == 100)
                    #expect(settings[H2.Setting.maxHeaderListSize] == UInt32(32 * 1024))
                    #expect(settings[H2.Setting.initialWindowSize] == 65_535)

                    // 110 requests whose answers the origin holds (head sent, body held): each stream stays open.
                    let opened = (0..<110).map { UInt32(2 * $0 + 1) }
                    connection.write(opened.enumerated().flatMap { index, stream in
                        H2.headers(stream: stream, H2.request("/held/\(index)"), endStream: true)
                    })
                    let admitted = Array(opened.prefix(100)), beyond = Array(opened.dropFirst(100))
                    let refused = await connection.wait(upTo: .seconds(10)) { seen in
                        beyond.allSatisfy { seen.reset(on: $0) != nil } || seen.goAway != nil || seen.ended
                    }
                    // RFC 9113 §5.1.2 asks for a stream error (REFUSED_STREAM or PROTOCOL_ERROR);
                    // NIOHTTP2 makes it a connection error: GOAWAY PROTOCOL_ERROR. Either refuses them.
                    let refusedOneByOne = beyond.allSatisfy { refused.reset(on: $0)?.errorCode == H2.Code.refusedStream }
                    let refusedWholesale = refused.goAway.map { [H2.Code.protocolError, H2.Code.refusedStream].contains($0.errorCode) } ?? false
                    #expect(refusedOneByOne || refusedWholesale,
                            "past 100: \(beyond.map { refused.reset(on: $0)?.errorCode }), GOAWAY \(String(describing: refused.goAway?.errorCode))")
                    #expect(admitted.allSatisfy { refused.reset(on: $0) == nil })

                    // NIOHTTP2 answers the 101st stream with a connection error, and after the
                    // GOAWAY of an error the node closes the connection (RFC 9113 §5.4.1): the
                    // client broke the limit it was told, and loses the connection, streams and all.
                    // Streams that were already admitted get a response, or end with the connection.
                    gate.open()
                    let served = await connection.wait(upTo: .seconds(15)) { seen in
                        admitted.allSatisfy { seen.streamEnded($0) } || seen.ended
                    }
                    if refusedWholesale { #expect(served.ended, "the connection stayed open after GOAWAY") }
                    #expect(admitted.allSatisfy { served.responseStatus(on: $0) == nil || served.responseStatus(on: $0) == "200" })
                    #expect(beyond.allSatisfy { served.responseStatus(on: $0) == nil })
                }
                // The refused streams never reached the origin.
                let targets = origin.requests.map(\.target)
                #expect((100..<110).allSatisfy { !targets.contains("/held/\($0)") })
                #expect(Set(targets.filter { $0.hasPrefix("/held/") }).count <= 100)
                try await expectStillServing(node, pki: pki)
            }
        }
    }

    enum OversizedHeaders: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// One 12 KiB field in one HEADERS frame, after SETTINGS were acknowledged.
        case oneLargeField
        /// One 12 KiB field, sent before acknowledging the node's SETTINGS.
        case oneLargeFieldBeforeSettingsAck
        /// A 4000-byte field put in the HPACK dynamic table, then referenced 12 times with one
        /// byte each: a small block that decodes to about 48 KiB.
        case hpackBomb
        var testDescription: String { rawValue }
    }

    @Test("A header list past --max-header-size (8 KiB) is refused and never reaches the origin", arguments: OversizedHeaders.allCases)
    func headerListTooLarge(_ attack: OversizedHeaders) async throws {
        let pki = try TestPKI.make(serverName: "localhost")
        let limit = 8 * 1024
        try await withOrigin({ _ in .ok("fine") }) { origin in
            try await withH2Node(origin: origin, pki: pki, maximumHeaderBytes: limit) { node in
                try await RawHTTP2Connection.with(port: node.tlsPorts[0], pki: pki,
                                                  acknowledgeSettings: attack != .oneLargeFieldBeforeSettingsAck) { connection in
                    #expect(connection.received.serverSettings?[H2.Setting.maxHeaderListSize] == UInt32(limit))
                    let block: [UInt8]
                    switch attack {
                    case .oneLargeField, .oneLargeFieldBeforeSettingsAck:
                        block = H2.block(H2.request("/large") + [("x-large", String(repeating: "a", count: 12 * 1024))])
                        #expect(block.count < 16_384, "fits one frame of the default SETTINGS_MAX_FRAME_SIZE")
                    case .hpackBomb:
                        // Literal with incremental indexing, new name: dynamic table entry 62.
                        block = H2.block(H2.request("/bomb"))
                            + [0x40] + H2.string("x-bomb") + H2.string(String(repeating: "b", count: 4000))
                            + Array(repeating: 0x80 | 62, count: 12)
                        #expect(block.count < limit, "the encoded block itself is under the limit")
                    }
                    connection.write(H2.frame(H2.FrameType.headers, flags: H2.Flag.endHeaders | H2.Flag.endStream, stream: 1, block))
                    let seen = await connection.wait(upTo: .seconds(10)) { seen in
                        seen.goAway != nil || seen.reset(on: 1) != nil || seen.responseStatus(on: 1) != nil || seen.ended
                    }
                    let refusal = seen.goAway.map { "GOAWAY \($0.errorCode ?? 0)" }
                        ?? seen.reset(on: 1).map { "RST_STREAM \($0.errorCode ?? 0)" }
                        ?? seen.responseStatus(on: 1).map { ":status \($0)" }
                        ?? (seen.ended ? "closed" : "nothing")
                    let refused = (seen.goAway.map { $0.errorCode != H2.Code.noError } ?? false)
                        || seen.reset(on: 1) != nil || seen.responseStatus(on: 1) == "431"
                    #expect(refused, "answered with \(refusal)")
                }
                #expect(origin.requestCount == 0,
                        "the origin saw \(origin.requests.map { "\($0.target) with \($0.header("x-large")?.utf8.count ?? 0) bytes of x-large" })")
                try await expectStillServing(node, pki: pki)
            }
        }
    }

    enum FlowControlAbuse: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// WINDOW_UPDATE on stream 0 taking the connection's send window past 2^31-1.
        case connectionWindowOverflow
        /// WINDOW_UPDATE on an open stream taking its send window past 2^31-1.
        case streamWindowOverflow
        /// 256 KiB of DATA on one stream at once, four times the 64 KiB window the node advertised.
        case dataPastWindow
        var testDescription: String { rawValue }
    }

    @Test("Flow-control abuse is a FLOW_CONTROL_ERROR", arguments: FlowControlAbuse.allCases)
    func flowControlAbuse(_ abuse: FlowControlAbuse) async throws {
        let pki = try TestPKI.make(serverName: "localhost")
        try await withOrigin({ _ in .ok("fine") }) { origin in
            try await withH2Node(origin: origin, pki: pki) { node in
                try await RawHTTP2Connection.with(port: node.tlsPorts[0], pki: pki) { connection in
                    // An upload whose body never ends keeps stream 1 open.
                    let upload = H2.headers(stream: 1, H2.request("/upload", method: "POST"), endStream: false)
                    switch abuse {
                    case .connectionWindowOverflow:
                        connection.write(H2.windowUpdate(stream: 0, increment: 0x7fff_ffff))
                    case .streamWindowOverflow:
                        connection.write(upload + H2.windowUpdate(stream: 1, increment: 0x7fff_ffff))
                    case .dataPastWindow:
                        let piece = [UInt8](repeating: 0x78, count: 16_384)
                        connection.write(upload + (0..<16).flatMap { _ in H2.data(stream: 1, piece) })
                    }
                    let seen = await connection.wait(upTo: .seconds(10)) { seen in
                        seen.goAway != nil || seen.reset(on: 1) != nil || seen.ended
                    }
                    let code = seen.goAway?.errorCode ?? seen.reset(on: 1)?.errorCode
                    #expect(code == H2.Code.flowControlError,
                            "GOAWAY \(String(describing: seen.goAway?.errorCode)), RST_STREAM \(String(describing: seen.reset(on: 1)?.errorCode)), ended \(seen.ended), window updates \(seen.windowIncrements)")
                    if abuse == .connectionWindowOverflow {
                        #expect(seen.goAway != nil, "a connection-level overflow is a connection error")
                    }
                }
                #expect(origin.requestCount == 0)
                try await expectStillServing(node, pki: pki)
            }
        }
    }
}

// MARK: - A raw HTTP/2 client over TLS

/// HTTP/2 frames and HPACK blocks built by hand (RFC 9113 §4.1, RFC 7541): literal fields without
/// indexing and without Huffman coding, so any sequence, valid or not, can be sent.
enum H2 {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    enum FrameType {
        static let data: UInt8 = 0x0, headers: UInt8 = 0x1, rstStream: UInt8 = 0x3, settings: UInt8 = 0x4
        static let ping: UInt8 = 0x6, goAway: UInt8 = 0x7, windowUpdate: UInt8 = 0x8, continuation: UInt8 = 0x9
    }

    enum Flag {
        static let endStream: UInt8 = 0x1, ack: UInt8 = 0x1, endHeaders: UInt8 = 0x4, padded: UInt8 = 0x8, priority: UInt8 = 0x20
    }

    /// Error codes (RFC 9113 §7).
    enum Code {
        static let noError: UInt32 = 0x0, protocolError: UInt32 = 0x1, flowControlError: UInt32 = 0x3
        static let refusedStream: UInt32 = 0x7, cancel: UInt32 = 0x8, compressionError: UInt32 = 0x9
        static let enhanceYourCalm: UInt32 = 0xb
    }

    enum Setting {
        static let maxConcurrentStreams: UInt16 = 0x3, initialWindowSize: UInt16 = 0x4, maxHeaderListSize: UInt16 = 0x6
    }

    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags]
            + bigEndian(stream & 0x7fff_ffff) + payload
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    /// An HPACK integer with an `prefixBits`-bit prefix, the byte's other bits taken from `first`.
    static func integer(_ value: Int, prefixBits: Int, first: UInt8 = 0) -> [UInt8] {
        let limit = (1 << prefixBits) - 1
        guard value >= limit else { return [first | UInt8(value)] }
        var bytes = [first | UInt8(limit)]
        var rest = value - limit
        while rest >= 128 {
            bytes.append(UInt8(rest % 128) | 0x80)
            rest /= 128
        }
        bytes.append(UInt8(rest))
        return bytes
    }

    /// An HPACK string literal, not Huffman-coded.
    static func string(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return integer(bytes.count, prefixBits: 7) + bytes
    }

    /// Literal header fields without indexing, new names (RFC 7541 §6.2.2).
    static func block(_ fields: [(String, String)]) -> [UInt8] {
        fields.flatMap { [0x00] + string($0.0) + string($0.1) }
    }

    static func request(_ path: String, method: String = "GET") -> [(String, String)] {
        [(":method", method), (":scheme", "https"), (":path", path), (":authority", "localhost")]
    }

    static func headers(stream: UInt32, _ fields: [(String, String)], endStream: Bool) -> [UInt8] {
        frame(FrameType.headers, flags: Flag.endHeaders | (endStream ? Flag.endStream : 0), stream: stream, block(fields))
    }

    static func data(stream: UInt32, _ bytes: [UInt8], endStream: Bool = false) -> [UInt8] {
        frame(FrameType.data, flags: endStream ? Flag.endStream : 0, stream: stream, bytes)
    }

    static func rstStream(stream: UInt32, code: UInt32) -> [UInt8] {
        frame(FrameType.rstStream, stream: stream, bigEndian(code))
    }

    static func windowUpdate(stream: UInt32, increment: UInt32) -> [UInt8] {
        frame(FrameType.windowUpdate, stream: stream, bigEndian(increment))
    }

    static func settings(_ values: [(UInt16, UInt32)] = []) -> [UInt8] {
        frame(FrameType.settings, values.flatMap { [UInt8($0.0 >> 8), UInt8($0.0 & 0xff)] + bigEndian($0.1) })
    }

    static let settingsAck = frame(FrameType.settings, flags: Flag.ack)

    /// `streams` streams each opened (a GET for its own path) and reset at once, in one burst.
    static func rapidReset(streams: Int) -> [UInt8] {
        (0..<streams).flatMap { index in
            let stream = UInt32(2 * index + 1)
            return headers(stream: stream, request("/reset/\(index)"), endStream: true) + rstStream(stream: stream, code: Code.cancel)
        }
    }

    /// A HEADERS frame without END_HEADERS, then `frames` CONTINUATIONs of one small field each, none ending the block.
    static func continuationFlood(frames: Int) -> [UInt8] {
        frame(FrameType.headers, stream: 1, block(request("/continuation")))
            + (0..<frames).flatMap { frame(FrameType.continuation, stream: 1, block([("x-filler-\($0)", "a")])) }
    }
}

/// One frame the node sent, with its header block decoded (HEADERS) or its fields read out.
struct ReceivedFrame: Sendable, CustomStringConvertible {
    var type: UInt8
    var flags: UInt8
    var stream: UInt32
    var payload: [UInt8]
    /// The decoded header block of a HEADERS frame (with its CONTINUATIONs).
    var fields: [(name: String, value: String)] = []

    private func word(at offset: Int) -> UInt32? {
        guard payload.count >= offset + 4 else { return nil }
        return payload[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// RST_STREAM's or GOAWAY's error code.
    var errorCode: UInt32? {
        switch type {
        case H2.FrameType.rstStream: word(at: 0)
        case H2.FrameType.goAway: word(at: 4)
        default: nil
        }
    }

    var lastStreamID: UInt32? { type == H2.FrameType.goAway ? word(at: 0).map { $0 & 0x7fff_ffff } : nil }

    /// A WINDOW_UPDATE's increment.
    var increment: UInt32? { type == H2.FrameType.windowUpdate ? word(at: 0).map { $0 & 0x7fff_ffff } : nil }

    var description: String {
        let names: [UInt8: String] = [0: "DATA", 1: "HEADERS", 3: "RST_STREAM", 4: "SETTINGS", 6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE"]
        var text = "\(names[type] ?? "type \(type)")(stream \(stream)"
        if flags != 0 { text += ", flags 0x\(String(flags, radix: 16))" }
        if let lastStreamID { text += ", last \(lastStreamID)" }
        if let errorCode { text += ", error 0x\(String(errorCode, radix: 16))" }
        if let increment { text += ", +\(increment)" }
        if let status = fields.first(where: { $0.name == ":status" }) { text += ", :status \(status.value)" }
        return text + ")"
    }

    /// A SETTINGS frame's parameters.
    var settings: [UInt16: UInt32] {
        stride(from: 0, to: payload.count - payload.count % 6, by: 6).reduce(into: [:]) { settings, offset in
            settings[UInt16(payload[offset]) << 8 | UInt16(payload[offset + 1])] = word(at: offset + 2)
        }
    }
}

/// Everything one raw connection has received so far, in order, and how it ended.
struct ReceivedFrames: Sendable, CustomStringConvertible {
    var frames: [ReceivedFrame] = []
    var negotiatedProtocol: String?
    /// The connection is gone: end of file, a reset, or a TLS error.
    var ended = false
    var endReason: String?

    var description: String {
        "\(frames.count) frames [\(frames.prefix(12).map(\.description).joined(separator: ", "))\(frames.count > 12 ? ", …" : "")]"
            + (ended ? ", ended (\(endReason ?? "-"))" : ", still open")
    }

    var goAway: ReceivedFrame? { frames.first { $0.type == H2.FrameType.goAway } }
    var serverSettings: [UInt16: UInt32]? {
        frames.first { $0.type == H2.FrameType.settings && $0.flags & H2.Flag.ack == 0 }?.settings
    }
    func reset(on stream: UInt32) -> ReceivedFrame? {
        frames.first { $0.type == H2.FrameType.rstStream && $0.stream == stream }
    }
    func responseStatus(on stream: UInt32) -> String? {
        frames.first { $0.type == H2.FrameType.headers && $0.stream == stream }?.fields.first { $0.name == ":status" }?.value
    }
    /// The node ended `stream` (END_STREAM on HEADERS or DATA).
    func streamEnded(_ stream: UInt32) -> Bool {
        frames.contains { $0.stream == stream && ($0.type == H2.FrameType.headers || $0.type == H2.FrameType.data)
            && $0.flags & H2.Flag.endStream != 0 }
    }
    /// WINDOW_UPDATE increments received, by stream.
    var windowIncrements: [UInt32: UInt64] {
        frames.reduce(into: [:]) { increments, frame in
            if let increment = frame.increment { increments[frame.stream, default: 0] += UInt64(increment) }
        }
    }
}

/// A TLS connection (ALPN h2 only) that writes raw bytes and records the frames that come back.
final class RawHTTP2Connection: Sendable {
    private let channel: any Channel
    private let record: NIOLockedValueBox<ReceivedFrames>

    private init(channel: any Channel, record: NIOLockedValueBox<ReceivedFrames>) {
        self.channel = channel
        self.record = record
    }

    /// Connects, negotiates h2, sends the preface and an empty SETTINGS, waits for the node's
    /// SETTINGS and (unless told not to) acknowledges them; runs `body`; closes whatever happens.
    static func with<Result>(port: Int, pki: TestPKI, acknowledgeSettings: Bool = true,
                             _ body: (RawHTTP2Connection) async throws -> Result) async throws -> Result {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(pki.authorityCertificate)
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)
        let record = NIOLockedValueBox(ReceivedFrames())
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHandler(FrameRecorder(record: record))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let connection = RawHTTP2Connection(channel: channel, record: record)
        do {
            connection.write(H2.preface + H2.settings())
            let greeted = await connection.wait(upTo: .seconds(10)) { $0.serverSettings != nil || $0.ended }
            #expect(greeted.negotiatedProtocol == "h2")
            _ = try #require(greeted.serverSettings, "no SETTINGS from the node (\(greeted.endReason ?? "-"))")
            if acknowledgeSettings { connection.write(H2.settingsAck) }
            let result = try await body(connection)
            try? await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Writes `bytes` without waiting for them to leave: the node may close while they are in flight.
    func write(_ bytes: [UInt8]) {
        channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
    }

    var received: ReceivedFrames { record.withLockedValue { $0 } }

    /// What has been received once `condition` holds, or once `limit` has passed.
    func wait(upTo limit: Duration, until condition: (ReceivedFrames) -> Bool) async -> ReceivedFrames {
        let deadline = ContinuousClock.now + limit
        while !record.withLockedValue({ condition($0) }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return received
    }
}

/// Splits the decrypted byte stream into frames, decodes header blocks, and notes how it ended.
private final class FrameRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let record: NIOLockedValueBox<ReceivedFrames>
    private var pending = ByteBuffer()
    private var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
    /// A HEADERS frame waiting for its CONTINUATIONs, and the block so far.
    private var openBlock: (frame: ReceivedFrame, block: [UInt8])?

    init(record: NIOLockedValueBox<ReceivedFrames>) { self.record = record }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        pending.writeBuffer(&bytes)
        while pending.readableBytes >= 9, let header = pending.getBytes(at: pending.readerIndex, length: 9) {
            let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
            guard pending.readableBytes >= 9 + length else { break }
            pending.moveReaderIndex(forwardBy: 9)
            let payload = pending.readBytes(length: length) ?? []
            let stream = (UInt32(header[5]) << 24 | UInt32(header[6]) << 16 | UInt32(header[7]) << 8 | UInt32(header[8])) & 0x7fff_ffff
            received(ReceivedFrame(type: header[3], flags: header[4], stream: stream, payload: payload))
        }
        pending.discardReadBytes()
    }

    private func received(_ frame: ReceivedFrame) {
        switch frame.type {
        case H2.FrameType.headers:
            var fragment = frame.payload[...]
            if frame.flags & H2.Flag.padded != 0, let padding = fragment.first {
                fragment = fragment.dropFirst().dropLast(Int(padding))
            }
            if frame.flags & H2.Flag.priority != 0 { fragment = fragment.dropFirst(5) }
            openBlock = (frame, Array(fragment))
        case H2.FrameType.continuation where openBlock != nil:
            openBlock?.block += frame.payload
        default:
            record.withLockedValue { $0.frames.append(frame) }
            return
        }
        guard let open = openBlock, frame.flags & H2.Flag.endHeaders != 0 else { return }
        openBlock = nil
        var decoded = open.frame
        let block = open.block
        var buffer = ByteBuffer(bytes: block)
        if let fields = try? decoder.decodeHeaders(from: &buffer) {
            decoded.fields = fields.map { (name: $0.name, value: $0.value) }
        } else {
            decoded.fields = [(name: "hpack-error", value: "\(block.count) bytes")]
        }
        decoded.flags |= H2.Flag.endHeaders
        record.withLockedValue { $0.frames.append(decoded) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted(let negotiated) = event {
            record.withLockedValue { $0.negotiatedProtocol = negotiated }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        record.withLockedValue { $0.endReason = $0.endReason ?? "\(error)" }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        record.withLockedValue {
            $0.ended = true
            $0.endReason = $0.endReason ?? "end of file"
        }
        context.fireChannelInactive()
    }
}

