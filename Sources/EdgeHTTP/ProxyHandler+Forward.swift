// The forward listener's part of a request (see ForwardProxy.swift): the target form, the access
// rules, credentials, and the destination. On every listener an absolute-form target is turned
// into origin-form with its authority as Host (RFC 9112 §3.2.2), before anything reads Host.
//
//   absolute-form ──rules allow──▶ the usual cache path, fetched from the URL's host
//   CONNECT host:port ──rules allow──▶ a tunnel (Tunnel.swift)
//   origin-form ──▶ 400 (a forward proxy needs to know where to go)
//   rules deny ──▶ 403 naming the rule · credentials needed ──▶ 407 with Proxy-Authenticate
import CachePolicy
import EdgeCache
import NIOCore
import NIOHTTP1
import NIOPosix
import OriginClient

/// What a forward listener's connections share.
public struct ForwardContext: Sendable {
    public let destinations: ForwardDestinations
    /// Open tunnels per client address, capped as the listener caps connections.
    let tunnels: ClientLimits
    let credentials = ProxyCredentials()

    public init(destinations: ForwardDestinations, tunnelsPerClient: Int) {
        self.destinations = destinations
        self.tunnels = ClientLimits(maximumConnectionsPerClient: tunnelsPerClient)
    }
}

extension ProxyHandler {
    /// RFC 9112 §3.2.2: "When a proxy receives a request with an absolute-form of
    /// request-target, the proxy MUST ignore the received Host header field (if any) and instead
    /// replace it with the host information of the request-target."
    static func originForm(_ head: HTTPRequestHead, form: RequestTargetForm?) -> HTTPRequestHead {
        guard case .absolute(_, let authority, let pathAndQuery) = form else { return head }
        var head = head
        head.uri = pathAndQuery
        head.headers.replaceOrAdd(name: "host", value: authority.description)
        return head
    }

    /// A forward listener's checks; true when the request goes on as usual (to its destination),
    /// false when it was answered here or became a tunnel.
    func admitForward(_ received: HTTPRequestHead, form: RequestTargetForm?, exchange: Exchange, context: ChannelHandlerContext) -> Bool {
        guard let forward else { return true }
        exchange.absoluteTarget = received.uri
        let closing = !received.isKeepAlive || received.headers.contains(name: "content-length")
            || received.headers.contains(name: "transfer-encoding")
        let scheme: String, authority: RequestTargetForm.Authority
        switch form {
        case .absolute(let named, let named2, _): (scheme, authority) = (named, named2)
        case .authority(let named): (scheme, authority) = ("tunnel", named)
        default:
            state = .discarding
            exchange.failureNote = "not a proxy request"
            writeErrorPage(.badRequest, for: exchange, closing: true, context: context,
                           explanation: "this is a forward proxy: send an absolute URI (http://host/path) or CONNECT host:port.")
            return false
        }
        let access = engine.currentRules.rules.access
        switch forward.credentials.check(received.headers, usersFile: access.usersFile) {
        case .accepted:
            return decideAccess(received, scheme: scheme, authority: authority, authenticated: true, closing: closing,
                                exchange: exchange, context: context)
        case .refused:
            return decideAccess(received, scheme: scheme, authority: authority, authenticated: false, closing: closing,
                                exchange: exchange, context: context)
        case .needsVerification(let verification):
            // PBKDF2 is deliberately slow: run it on the thread pool, hold the request (and any
            // body that comes meanwhile), and go on where it left off.
            state = .forwarding(exchange)
            exchange.lifecycle.credentialsNeeded()
            NIOThreadPool.singleton.runIfActive(eventLoop: context.eventLoop) { verification.run() }
                .assumeIsolated().whenComplete { [self] result in
                    guard let context = isCurrent(exchange) else { return }
                    exchange.lifecycle.credentialsChecked()
                    state = .idle
                    let authenticated = (try? result.get()) ?? false
                    if decideAccess(received, scheme: scheme, authority: authority, authenticated: authenticated, closing: closing,
                                    exchange: exchange, context: context) {
                        proceed(exchange, context: context)
                    }
                    // What arrived while the credentials were checked follows, as if it came now.
                    let (parts, ended) = (exchange.heldBodyParts, exchange.heldEnd)
                    exchange.heldBodyParts = []
                    for part in parts { requestBodyReceived(part, context: context) }
                    if ended { requestEndReceived(context: context) }
                    resumeReading()
                }
            return false
        }
    }

    /// The access rules' verdict and what follows from it; true when the request goes on.
    private func decideAccess(_ received: HTTPRequestHead, scheme: String, authority: RequestTargetForm.Authority,
                              authenticated: Bool, closing: Bool, exchange: Exchange, context: ChannelHandlerContext) -> Bool {
        guard let forward else { return true }
        let request = AccessRequest(client: exchange.client, host: authority.host,
                                    port: authority.port(defaultFor: scheme == "tunnel" ? "https" : scheme),
                                    method: received.method.wireName, scheme: scheme)
        switch engine.currentRules.rules.access.evaluate(request, authenticated: authenticated) {
        case .deny(let rule):
            exchange.accessRule = rule
            exchange.failureNote = "denied by access rule \(rule)"
            engine.stats.forward.denied(rule)
            state = .discarding
            writeErrorPage(.forbidden, for: exchange, closing: closing, context: context,
                           explanation: "access rule '\(rule)' does not allow this request.")
            return false
        case .authenticate(let rule):
            exchange.accessRule = rule
            exchange.failureNote = "credentials needed by access rule \(rule)"
            engine.stats.forward.authenticationRequired.add(1, ordering: .relaxed)
            state = .discarding
            // RFC 9110 §11.7.1: a 407 carries the challenge.
            writeErrorPage(.proxyAuthenticationRequired, for: exchange, closing: closing, context: context,
                           extraHeaders: [("proxy-authenticate", "Basic realm=\"outpost\", charset=\"UTF-8\"")])
            return false
        case .allow(let rule):
            exchange.accessRule = rule
            engine.stats.forward.allowed.add(1, ordering: .relaxed)
        }
        if scheme == "tunnel" {
            openTunnel(to: authority, exchange: exchange, context: context)
            return false
        }
        let origin = scheme + "://" + authority.description
        guard let destination = forward.destinations.client(origin: origin) else {
            state = .discarding
            writeErrorPage(.badRequest, for: exchange, closing: true, context: context)
            return false
        }
        exchange.destination = ForwardRoute(client: destination, scheme: scheme, origin: origin)
        return true
    }
}
