// The forward proxy's settings and shared parts: what a forward listener does differently from a
// reverse one (ProxyHandler+Forward), the anonymity levels, and the registry of destinations.
//
// A forward listener takes absolute-form requests (`GET http://host/path`, RFC 9112 §3.2.2) and
// CONNECT (RFC 9110 §9.3.6) from clients the access rules admit, and sends each request to the
// host its URL names, through the same cache engine as the reverse listeners, keyed apart from
// them (PrimaryKey.forward).
import CachePolicy
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import OriginClient

/// What a forward listener tells the origins about its clients (`--anonymity`).
public enum Anonymity: String, Sendable, CaseIterable {
    /// X-Forwarded-For, Forwarded `for=` and X-Forwarded-Proto as a reverse listener sends them.
    case off
    /// None of those: the origin learns the proxy's address and pseudonym (Via), not the client's.
    case standard
    /// Also no From, no Referer pointing at another origin, no client hints, and the
    /// configured User-Agent (if any) in place of the client's.
    case strict
}

public struct ForwardSettings: Sendable {
    public var anonymity = Anonymity.standard
    /// Sent instead of every client's User-Agent under `strict` (nil: the client's is kept).
    public var userAgent: String?
    /// A tunnel with no bytes either way for this long is closed.
    public var tunnelIdleTimeout: TimeAmount = .minutes(5)
    /// A tunnel is closed after this long whatever it carries.
    public var tunnelLifetime: TimeAmount = .hours(1)
    /// Most tunnels one client address may hold open; past it, 429.
    public var tunnelsPerClient = 64
    /// Most destinations (host:port) whose connection pools are kept; the least recently used
    /// one past it has its idle connections closed.
    public var maximumDestinations = 512

    public init() {}

    /// Client-hint request fields (RFC 8942 and the Client Hints drafts), removed under `strict`.
    static let clientHintFields = ["dpr", "viewport-width", "width", "device-memory", "rtt", "downlink", "ect", "save-data"]

    /// Removes what the anonymity level says the origin must not learn; `targetOrigin` is the
    /// request's `scheme://authority` (a Referer from that origin is kept under `strict`).
    func anonymise(_ headers: inout HTTPHeaders, targetOrigin: String) {
        guard anonymity != .off else { return }
        for name in ["x-forwarded-for", "forwarded", "x-forwarded-proto", "x-real-ip", "client-ip"] where headers.contains(name: name) {
            headers.remove(name: name)
        }
        guard anonymity == .strict else { return }
        headers.remove(name: "from")
        if let referer = headers.first(name: "referer"), !Self.sameOrigin(referer, targetOrigin) { headers.remove(name: "referer") }
        let hints = headers.map(\.name).filter { name in
            let lower = name.lowercased()
            return lower.hasPrefix("sec-ch-") || Self.clientHintFields.contains(lower)
        }
        for name in hints { headers.remove(name: name) }
        if let userAgent { headers.replaceOrAdd(name: "user-agent", value: userAgent) }
    }

    static func sameOrigin(_ url: String, _ origin: String) -> Bool {
        let lower = url.lowercased()
        return lower == origin.lowercased() || lower.hasPrefix(origin.lowercased() + "/") || lower.hasPrefix(origin.lowercased() + "?")
    }
}

/// Where a forward listener's request goes: the destination's client, its scheme (part of the
/// key) and its `scheme://authority` (for the anonymity rules' same-origin test).
struct ForwardRoute {
    let client: OriginClient
    let scheme: String
    let origin: String
}

/// One origin client per destination a forward listener has sent requests to, made on first use
/// and bounded: past `maximum`, the least recently used one is retired (its idle connections
/// close; requests under way on it finish).
public final class ForwardDestinations: Sendable {
    private struct State {
        var clients: [String: OriginClient] = [:]
        var order: [String] = []
    }

    private let state = NIOLockedValueBox(State())
    private let configuration: OriginClientConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let maximum: Int

    public init(configuration: OriginClientConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger, maximum: Int = 512) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.maximum = max(1, maximum)
    }

    /// The client for `origin` (`scheme://authority`); nil when that is not a valid origin.
    func client(origin name: String) -> OriginClient? {
        let (client, retired): (OriginClient?, OriginClient?) = state.withLockedValue { state in
            if let client = state.clients[name] {
                if state.order.last != name, let index = state.order.firstIndex(of: name) {
                    state.order.remove(at: index)
                    state.order.append(name)
                }
                return (client, nil)
            }
            guard let server = try? OriginServer(url: name) else { return (nil, nil) }
            let client = OriginClient(origins: [server], configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
            state.clients[name] = client
            state.order.append(name)
            var retired: OriginClient?
            if state.order.count > maximum {
                let oldest = state.order.removeFirst()
                retired = state.clients.removeValue(forKey: oldest)
            }
            return (client, retired)
        }
        retired?.retire()
        return client
    }

    /// Closes every destination's connections (node shutdown).
    public func shutdown() async {
        let all = state.withLockedValue { state in
            defer { state = State() }
            return Array(state.clients.values)
        }
        for client in all { try? await client.shutdown() }
    }
}
