// Settings of the public listener: limits, timeouts and how forwarded headers are written.
// Every limit has a safe default; the composition root fills these from flags and the config file.
import NIOCore

public struct EdgeConfiguration: Sendable {
    /// Longest request target (RFC 9112 §3: 414 past it).
    public var maximumRequestTargetLength = 8 * 1024
    /// Largest header section, request line included (RFC 6585 §5: 431 past it).
    public var maximumHeaderBytes = 32 * 1024
    /// Most header field lines (431 past it).
    public var maximumHeaderCount = 100
    /// Largest request body (RFC 9110 §15.5.14: 413 past it).
    public var maximumRequestBodyBytes = 100 * 1024 * 1024
    /// From the first byte of a request to the end of its head (slowloris defence): 408 past it.
    public var headerReadTimeout: TimeAmount = .seconds(10)
    /// Longest pause between two pieces of a request body: 408 past it, and the origin connection
    /// the body was going to is released.
    public var requestBodyTimeout: TimeAmount = .seconds(30)
    /// How long an idle keep-alive connection is kept open waiting for its next request.
    public var keepAliveTimeout: TimeAmount = .seconds(60)
    /// Most client connections open at once; further connects wait in the kernel's backlog.
    /// Lowered at start-up to what the descriptor limit allows.
    public var maximumConnections = 10_000
    /// Most connections one client address may hold open (0: no cap); past it, 429 and close.
    /// Generous by default: a whole office behind one NAT address must still get through.
    public var maximumConnectionsPerClient = 1_024
    public var forwarding = ForwardingPolicy()
    /// Forward listeners only: anonymity and tunnel limits (see ForwardProxy.swift).
    public var forward = ForwardSettings()

    public init() {}
}

/// How the node rewrites headers it forwards (RFC 9110 §7.6).
public struct ForwardingPolicy: Sendable {
    public enum HostHeader: String, Sendable, CaseIterable { case preserve, origin }
    public enum ForwardedFor: String, Sendable, CaseIterable { case append, replace, off }

    /// `preserve` forwards the client's Host; `origin` sends the origin's own host name.
    public var hostHeader: HostHeader = .preserve
    /// What to do with X-Forwarded-For: append the client address, replace it, or leave it alone.
    public var forwardedFor: ForwardedFor = .append
    /// Whether to set X-Forwarded-Proto to the scheme the client used.
    public var forwardedProto = true
    /// The pseudonym this node uses in Via (RFC 9110 §7.6.3): never the host name or address.
    public var viaName: String {
        get { via.name }
        set { via = ViaName(newValue) }
    }
    /// Replaces the origin's Server header; nil keeps the origin's, "" removes it.
    public var serverHeader: String? = "Outpost"
    /// Request fields never forwarded because an origin might trust them and they are not part of
    /// the cache key (a cache-poisoning vector), lower-case: host and scheme overrides, URL
    /// rewrites, and method overrides (CPDoS "HTTP method override", Nguyen et al., CCS 2019).
    /// `Forwarded` is not listed: the node writes its own (RFC 7239), replacing the client's.
    public var strippedRequestFields: [String] {
        get { droppedFields.strippedRequestFields }
        set { droppedFields = DroppedFields(strippedRequestFields: newValue) }
    }

    /// The pseudonym with its Via value for HTTP/1.1 made once (ForwardedHeaders).
    private(set) var via = ViaName("outpost")
    /// The request fields each rewrite drops, as sets made once (ForwardedHeaders).
    private(set) var droppedFields = DroppedFields(strippedRequestFields: Self.overrideFields)

    public static let overrideFields: [String] = [
        "x-forwarded-host", "x-forwarded-server", "x-forwarded-port", "x-forwarded-scheme", "x-forwarded-prefix",
        "x-forwarded-ssl", "x-host", "x-original-host", "x-original-url", "x-rewrite-url", "x-http-method-override",
        "x-http-method", "x-method-override", "x-original-method",
    ]

    public init() {}
}
