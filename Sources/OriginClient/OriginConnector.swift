// Opens connections to origins: TCP through NIOPosix's ClientBootstrap on the caller's event
// loop, TLS through NIOSSL for https origins, and the HTTP/1.1 client codec with interim
// responses forwarded rather than dropped. Each origin's address, server name and TLS use are
// worked out once, when the client is made.
//
// Invariants:
// - autoRead is off: the connection handler reads only when its consumer is ready.
// - A connection is reported only once usable (connected and, for https, handshake done); any
//   failure before that is reported instead, within the connect timeout.
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

struct OriginConnector: Sendable {
    struct Endpoint: Sendable {
        /// Set when the host is an IP literal: no name resolution is needed.
        let address: SocketAddress?
        let host: String
        let port: Int
        let usesTLS: Bool
        /// The TLS server name (SNI); nil for IP literals, which SNI may not carry (RFC 6066 §3).
        let serverName: String?
    }

    let endpoints: [Endpoint]
    let connectTimeout: TimeAmount
    /// Made once if any origin is https; an error here fails every https connect with its reason.
    let tls: Result<NIOSSLContext, any Error>?

    init(origins: [OriginServer], connectTimeout: TimeAmount, tls trust: OriginTLS = OriginTLS()) {
        self.connectTimeout = connectTimeout
        self.endpoints = origins.map { origin in
            var host = origin.host
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let address = try? SocketAddress(ipAddress: host, port: origin.port)
            // `--origin-sni` names the server for every https origin (an origin known by address
            // whose certificate names its public host); otherwise the host name, never an IP literal.
            return Endpoint(address: address, host: host, port: origin.port, usesTLS: origin.scheme == "https",
                            serverName: trust.serverName ?? (address == nil ? host : nil))
        }
        if origins.contains(where: { $0.scheme == "https" }) {
            tls = Result { try trust.makeContext() }
        } else {
            tls = nil
        }
    }

    /// Connects to origin `index` on `eventLoop`; `completion` runs on that loop.
    func connect(
        origin index: Int, on eventLoop: any EventLoop,
        completion: @escaping (Result<OriginConnectionHandler, any Error>) -> Void
    ) {
        eventLoop.assertInEventLoop()
        let endpoint = endpoints[index]
        var context: NIOSSLContext? = nil
        if endpoint.usesTLS {
            switch tls {
            case .success(let made): context = made
            case .failure(let error): return completion(.failure(error))
            case nil: preconditionFailure("an https origin without a TLS context")
            }
        }
        guard let bootstrap = ClientBootstrap(validatingGroup: eventLoop) else {
            return completion(.failure(OriginFailureError(failure: .other("this event loop cannot open sockets"))))
        }
        let handler = OriginConnectionHandler(
            origin: index, eventLoop: eventLoop, usesTLS: endpoint.usesTLS, handshakeTimeout: connectTimeout)
        let bound = NIOLoopBound(handler, eventLoop: eventLoop)
        let configured = bootstrap
            .connectTimeout(connectTimeout)
            .channelOption(.autoRead, value: false)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { [context] channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.addHandlers(to: channel, tls: context, serverName: endpoint.serverName, connection: bound.value)
                }
            }
        let connected: EventLoopFuture<any Channel>
        if let address = endpoint.address {
            connected = configured.connect(to: address)
        } else {
            connected = configured.connect(host: endpoint.host, port: endpoint.port)
        }
        connected.assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                handler.established.futureResult.assumeIsolated().whenComplete { established in
                    switch established {
                    case .success: completion(.success(handler))
                    case .failure(let error): completion(.failure(error))
                    }
                }
            case .failure(let error):
                handler.abandonEstablishment(error)
                completion(.failure(error))
            }
        }
    }

    /// The pipeline of an origin connection, TLS first when used, the connection handler last.
    static func addHandlers(
        to channel: any Channel, tls: NIOSSLContext?, serverName: String?, connection: OriginConnectionHandler
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        if let tls {
            try pipeline.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName))
        }
        try pipeline.addHandler(HTTPRequestEncoder())
        // RFC 9110 §15.2: a proxy forwards 1xx responses, so the decoder must not drop them.
        try pipeline.addHandler(ByteToMessageHandler(HTTPResponseDecoder(
            leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .forward)))
        try pipeline.addHandler(NIOHTTPRequestHeadersValidator())
        try pipeline.addHandler(connection)
    }
}
