// The admin listener: a small HTTP/1.1 server, separate from the public one, that hands each
// complete request to the AdminRouter and writes its answer. Requests on one connection are
// answered in order (NIO's pipelining handler holds the next until the current one ends).
//
// Bounds (AdminLimits): a connection cap, a header-read timeout and an idle timeout, as on the
// public listener, and accept back-off when descriptors run out.
//
// Invariants: a request body larger than `maximumBodyBytes` is answered 413 without being kept;
// the router runs off the event loop (it may wait on the disk); nothing here blocks a loop.
import EdgeHTTP
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

public final class AdminServer: Sendable {
    private let channel: any Channel
    /// The bound port (useful when listening on port 0).
    public let port: Int

    private init(channel: any Channel) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    public static func start(host: String, port: Int, router: AdminRouter, limits: AdminLimits = AdminLimits(),
                             group: any EventLoopGroup, logger: Logger) async throws -> AdminServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Out of descriptors, accept fails: wait a second instead of spinning on it.
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler())
                    try channel.pipeline.syncOperations.addHandler(ConnectionLimiter(maximum: limits.maximumConnections))
                }
            }
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let open = router.sources.engine.stats.responses.openAdminConnections
                    open.add(1)
                    channel.closeFuture.whenComplete { _ in open.add(-1) }
                    let timeouts = ConnectionTimeouts(keepAliveTimeout: limits.idleTimeout, headerReadTimeout: limits.headerReadTimeout)
                    try channel.pipeline.syncOperations.addHandler(timeouts)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminConnectionHandler(router: router, timeouts: timeouts, logger: logger))
                }
            }
            .bind(host: host, port: port)
            .get()
        return AdminServer(channel: channel)
    }

    /// Stops accepting; open admin connections end with the event loops.
    public func shutdown() async {
        try? await channel.close()
    }
}

/// The admin listener's own bounds, as strict as the public listener's: it must never be the way to
/// exhaust the process's descriptors or hold connections open forever.
public struct AdminLimits: Sendable {
    /// Most admin connections open at once; further connects wait in the kernel's backlog.
    public var maximumConnections = 64
    /// From the first byte of a request to the end of its head: 408 past it.
    public var headerReadTimeout: TimeAmount = .seconds(10)
    /// How long an idle admin connection is kept.
    public var idleTimeout: TimeAmount = .seconds(30)

    public init() {}
}

/// One admin request, whole.
public struct AdminRequest: Sendable {
    public var method: HTTPMethod
    /// The path without the query.
    public var path: String
    /// Decoded query parameters (the last value wins).
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8] = []) {
        self.method = method
        self.headers = headers
        self.body = body
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let nameAndValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = Self.percentDecoded(nameAndValue[0])
                query[name] = nameAndValue.count > 1 ? Self.percentDecoded(nameAndValue[1]) : ""
            }
        }
        self.query = query
    }

    /// application/x-www-form-urlencoded decoding: `+` is a space, `%XX` a byte.
    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// One admin answer.
public struct AdminResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPResponseStatus, contentType: String, body: [UInt8], headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.headers = headers
        self.headers.replaceOrAdd(name: "content-type", value: contentType)
        self.headers.replaceOrAdd(name: "cache-control", value: "no-store")
        self.body = body
    }
}

final class AdminConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Purge requests are a few hundred bytes; anything near this is not one.
    static let maximumBodyBytes = 64 * 1024

    private let router: AdminRouter
    private let timeouts: ConnectionTimeouts
    private let logger: Logger
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyTooLarge = false

    init(router: AdminRouter, timeouts: ConnectionTimeouts, logger: Logger) {
        self.router = router
        self.timeouts = timeouts
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            timeouts.requestHeadReceived()
            self.head = head
            body = []
            bodyTooLarge = false
        case .body(var part):
            if body.count + part.readableBytes > Self.maximumBodyBytes {
                bodyTooLarge = true
                body = []
            } else if !bodyTooLarge {
                body += part.readBytes(length: part.readableBytes) ?? []
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let keepAlive = head.isKeepAlive && !bodyTooLarge
            if bodyTooLarge {
                write(AdminRouter.error(.payloadTooLarge, "the request body is larger than \(Self.maximumBodyBytes) bytes"),
                      version: head.version, keepAlive: false, context: context)
                return
            }
            let request = AdminRequest(method: head.method, uri: head.uri, headers: head.headers, body: body)
            body = []
            let router = self.router
            let promise = context.eventLoop.makePromise(of: AdminResponse.self)
            promise.completeWithTask { await router.respond(to: request) }
            promise.futureResult.assumeIsolated().whenSuccess { [self] response in
                write(response, version: head.version, keepAlive: keepAlive, bodyless: head.method == .HEAD, context: context)
            }
        }
    }

    /// Writes the whole answer; a HEAD request gets the head only (with the body's length).
    private func write(_ response: AdminResponse, version: HTTPVersion, keepAlive: Bool, bodyless: Bool = false,
                       context: ChannelHandlerContext) {
        var headers = response.headers
        headers.replaceOrAdd(name: "content-length", value: String(response.body.count))
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))), promise: nil)
        if !response.body.isEmpty && !bodyless {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if keepAlive {
            timeouts.responseCompleted()
        } else {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
