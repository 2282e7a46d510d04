// A byte-level HTTP/1.1 client for tests: one TCP connection that sends raw text and parses just
// enough HTTP to split responses, so tests can see exactly what went over the wire — framing,
// interim responses, and whether the connection ended cleanly, early, or with a reset.
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif


public enum WireError: Error { case endedEarly(received: Int), malformed(String) }

/// What the client saw on the wire for one response.
public struct WireResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    /// The body as framed on the wire (chunk sizes included).
    public var wireBody: [UInt8] = []
    /// The body with the framing removed.
    public var body: [UInt8] = []

    public func header(_ name: String) -> String? {
        self.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of `name`, case-insensitively, in order.
    public func headerValues(_ name: String) -> [String] {
        self.headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// One TCP connection that sends raw text and parses just enough HTTP/1.1 to split responses.
public final class WireConnection {
    public enum End: Equatable, Sendable { case endOfFile, connectionReset, other(String) }

    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var buffered: [UInt8] = []
    public private(set) var end: End?

    private init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    public static func with<Result>(port: Int, _ body: (WireConnection) async throws -> Result) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(WireConnection(inbound: inbound, outbound: outbound))
        }
    }

    public func send(_ text: String) async throws {
        try await self.outbound.write(ByteBuffer(string: text))
    }

    /// Reads one more piece into the buffer; false once the connection has ended.
    private func receive() async -> Bool {
        guard self.end == nil else { return false }
        do {
            guard let piece = try await self.inbound.next() else {
                self.end = .endOfFile
                return false
            }
            self.buffered.append(contentsOf: piece.readableBytesView)
            return true
        } catch let error as IOError where error.errnoCode == ECONNRESET {
            self.end = .connectionReset
        } catch {
            self.end = .other(String(describing: error))
        }
        return false
    }

    private func take(_ count: Int) async throws -> [UInt8] {
        while self.buffered.count < count {
            guard await self.receive() else { throw WireError.endedEarly(received: self.buffered.count) }
        }
        defer { self.buffered.removeFirst(count) }
        return Array(self.buffered.prefix(count))
    }

    private func takeLine() async throws -> String {
        var searchFrom = 0
        while true {
            if let index = self.buffered[searchFrom...].firstIndex(of: 10), index > 0, self.buffered[index - 1] == 13 {
                let line = try await self.take(index + 1)
                return String(decoding: line.dropLast(2), as: UTF8.self)
            }
            searchFrom = max(0, self.buffered.count - 1)
            guard await self.receive() else { throw WireError.endedEarly(received: self.buffered.count) }
        }
    }

    /// Reads a status line and fields, then (unless `toHead`) the body as its framing says.
    public func readResponse(toHead: Bool = false) async throws -> WireResponse {
        let statusLine = try await self.takeLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw WireError.malformed(statusLine)
        }
        var response = WireResponse(status: status, headers: [])
        while case let line = try await self.takeLine(), !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw WireError.malformed(line) }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            response.headers.append((name: String(line[..<colon]), value: String(value)))
        }
        // RFC 9112 §6.3: 1xx, 204 and 304 responses never have a body.
        guard !toHead, status >= 200, status != 204, status != 304 else { return response }
        if response.header("transfer-encoding") == "chunked" {
            while true {
                let sizeLine = try await self.takeLine()
                guard let size = Int(sizeLine, radix: 16) else { throw WireError.malformed(sizeLine) }
                let data = size > 0 ? try await self.take(size) : []
                _ = try await self.take(2)
                response.wireBody += Array("\(sizeLine)\r\n".utf8) + data + [13, 10]
                response.body += data
                if size == 0 { break }
            }
        } else if let length = response.header("content-length").flatMap({ Int($0) }) {
            response.body = try await self.take(length)
            response.wireBody = response.body
        } else {
            response.body = await self.readUntilEnd()
            response.wireBody = response.body
        }
        return response
    }

    /// Everything not yet consumed, up to the end of the connection.
    public func readUntilEnd() async -> [UInt8] {
        while await self.receive() {}
        defer { self.buffered.removeAll() }
        return self.buffered
    }
}
