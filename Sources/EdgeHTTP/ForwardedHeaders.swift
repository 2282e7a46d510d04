// The header rewrites of a gateway (RFC 9110 §7.6): hop-by-hop fields removed both ways, Via
// added both ways, X-Forwarded-For / -Proto and Forwarded (RFC 7239) on requests, override fields
// removed, the origin's Server replaced on responses.
// Pure functions over NIO's HTTPHeaders.
import NIOCore
import NIOHTTP1
import OriginClient

extension ForwardingPolicy {
    /// Headers to send to the origin for a client request.
    func originRequestHeaders(for head: HTTPRequestHead, clientAddress: String?, scheme: String) -> HTTPHeaders {
        var headers = head.headers
        headers.removeHopByHopFields()
        // Framing is set anew by the origin connection; the expectation was answered here.
        headers.remove(name: "content-length")
        headers.remove(name: "expect")
        for name in strippedRequestFields where headers.contains(name: name) { headers.remove(name: name) }
        if let clientAddress {
            switch forwardedFor {
            case .append:
                let previous = headers[canonicalForm: "x-forwarded-for"]
                headers.replaceOrAdd(
                    name: "x-forwarded-for",
                    value: previous.isEmpty ? clientAddress : previous.joined(separator: ", ") + ", " + clientAddress)
            case .replace:
                headers.replaceOrAdd(name: "x-forwarded-for", value: clientAddress)
            case .off:
                break
            }
        }
        if forwardedProto {
            headers.replaceOrAdd(name: "x-forwarded-proto", value: scheme)
        } else {
            headers.remove(name: "x-forwarded-proto")
        }
        // RFC 7239: the node speaks for this hop only; a client's own Forwarded (host=, proto=)
        // could steer an origin while the cache key never saw it, so it is replaced, not passed on.
        headers.remove(name: "forwarded")
        if forwardedFor != .off, let clientAddress {
            headers.add(name: "forwarded", value: "for=\(Self.forwardedNode(clientAddress));proto=\(scheme)")
        }
        headers.add(name: "via", value: "\(head.version.major).\(head.version.minor) \(viaName)")
        return headers
    }

    /// RFC 7239 §6: an IPv6 address is quoted and bracketed.
    static func forwardedNode(_ address: String) -> String {
        address.contains(":") ? "\"[\(address)]\"" : address
    }

    /// The request fields the cache decides on: what the origin is sent, before the node adds its
    /// own (Via, X-Forwarded-*, Forwarded). Fields named by Connection and the override fields are
    /// gone, so neither the key nor a Vary'd variant can depend on a field the origin never saw.
    func cacheRequestHeaders(_ received: HTTPHeaders) -> HTTPHeaders {
        var headers = received
        headers.removeHopByHopFields()
        for name in strippedRequestFields where headers.contains(name: name) { headers.remove(name: name) }
        // Removing only what is there: `remove` copies the fields even when nothing matches, and
        // most requests arrive with nothing to strip (a hit then copies no fields at all).
        if headers.contains(name: "forwarded") { headers.remove(name: "forwarded") }
        return headers
    }

    /// Rewrites a response head for the client: hop-by-hop fields out, the origin's Server
    /// replaced or removed, Via added for the hop the response arrived on.
    func rewriteResponseHeaders(_ headers: inout HTTPHeaders, receivedVersion version: HTTPVersion) {
        headers.removeHopByHopFields()
        if let serverHeader {
            headers.remove(name: "server")
            if !serverHeader.isEmpty { headers.add(name: "server", value: serverHeader) }
        }
        headers.add(name: "via", value: "\(version.major).\(version.minor) \(viaName)")
    }
}
