// The origin `outpost demo` starts on a loopback port: a small site whose pages carry a mix of
// caching policies and sizes, with deterministic bodies, ETag and Last-Modified.
//   /static/N.css  public, max-age=3600          2–8 KiB
//   /images/N.jpg  public, max-age=86400         16–64 KiB
//   /pages/N.html  max-age=60, s-maxage=300      8 KiB
//   /api/N         no-store                      ~100 B JSON
//   /account/N     private, max-age=60           1 KiB
import NIOCore
import NIOHTTP1
import NIOPosix

public final class SampleOrigin: Sendable {
    private let channel: any Channel
    public var port: Int { channel.localAddress?.port ?? 0 }
    public var url: String { "http://127.0.0.1:\(port)" }

    private init(channel: any Channel) { self.channel = channel }

    public static func start(group: any EventLoopGroup) async throws -> SampleOrigin {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(SampleOriginHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return SampleOrigin(channel: channel)
    }

    public func shutdown() async throws { try await channel.close() }

    /// The demo's catalogue: every path the sample origin serves, most popular first.
    public static func catalogue(count: Int) -> [String] {
        let kinds = ["/static/%d.css", "/images/%d.jpg", "/pages/%d.html", "/api/%d", "/account/%d"]
        return (0..<count).map { index in
            kinds[index % kinds.count].replacingOccurrences(of: "%d", with: String(index / kinds.count))
        }
    }

    static func response(for path: String) -> (HTTPResponseStatus, [(String, String)], Int)? {
        let parts = path.split(separator: "/")
        guard parts.count == 2 else { return nil }
        let number = Int(parts[1].prefix { $0.isNumber }) ?? 0
        let lastModified = "Tue, 03 Nov 2026 10:00:00 GMT"
        switch parts[0] {
        case "static": return (.ok, [("content-type", "text/css"), ("cache-control", "public, max-age=3600"), ("last-modified", lastModified)], 2048 + (number % 4) * 2048)
        case "images": return (.ok, [("content-type", "image/jpeg"), ("cache-control", "public, max-age=86400"), ("last-modified", lastModified)], 16384 + (number % 4) * 16384)
        case "pages": return (.ok, [("content-type", "text/html"), ("cache-control", "max-age=60, s-maxage=300")], 8192)
        case "api": return (.ok, [("content-type", "application/json"), ("cache-control", "no-store")], 100)
        case "account": return (.ok, [("content-type", "text/html"), ("cache-control", "private, max-age=60")], 1024)
        default: return nil
        }
    }
}

private final class SampleOriginHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private var head: HTTPRequestHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            respond(to: head, context: context)
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = String(request.uri.prefix { $0 != "?" })
        var headers = HTTPHeaders()
        headers.add(name: "server", value: "sample-origin")
        guard let (status, fields, size) = SampleOrigin.response(for: path) else {
            let body = ByteBuffer(string: "not found\n")
            headers.add(name: "content-length", value: String(body.readableBytes))
            headers.add(name: "cache-control", value: "max-age=30")
            write(HTTPResponseHead(version: request.version, status: .notFound, headers: headers), body: body, request: request, context: context)
            return
        }
        for (name, value) in fields { headers.add(name: name, value: value) }
        let tag = "\"\(String(Self.fingerprint(path), radix: 16))-\(size)\""
        headers.add(name: "etag", value: tag)
        headers.add(name: "content-length", value: String(size))
        if request.headers["if-none-match"].contains(tag) {
            headers.remove(name: "content-length")
            write(HTTPResponseHead(version: request.version, status: .notModified, headers: headers), body: nil, request: request, context: context)
            return
        }
        var body = context.channel.allocator.buffer(capacity: size)
        let line = Array("\(path) sample body line.\n".utf8)
        while body.readableBytes < size { body.writeBytes(line.prefix(size - body.readableBytes)) }
        write(HTTPResponseHead(version: request.version, status: status, headers: headers), body: body, request: request, context: context)
    }

    /// FNV-1a: a stable fingerprint, so ETags are the same across runs.
    static func fingerprint(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash
    }

    private func write(_ head: HTTPResponseHead, body: ByteBuffer?, request: HTTPRequestHead, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body, request.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let keepAlive = request.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
        self.head = nil
    }
}
