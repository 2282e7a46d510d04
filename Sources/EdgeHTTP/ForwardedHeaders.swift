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
        // One pass drops the hop-by-hop fields, framing (set anew by the origin connection), the
        // expectation (answered here), the override fields and the forwarding fields this node
        // writes anew below; the client's X-Forwarded-For is read first when it is appended to.
        let writesForwardedFor = clientAddress != nil && forwardedFor != .off
        let previousForwardedFor = writesForwardedFor && forwardedFor == .append ? head.headers[canonicalForm: "x-forwarded-for"] : []
        var headers = head.headers.removingHopByHopFields(
            and: writesForwardedFor ? droppedFields.towardOriginWithForwardedFor : droppedFields.towardOrigin)
        if writesForwardedFor, let clientAddress {
            headers.add(name: "x-forwarded-for",
                        value: previousForwardedFor.isEmpty ? clientAddress : previousForwardedFor.joined(separator: ", ") + ", " + clientAddress)
        }
        if forwardedProto { headers.add(name: "x-forwarded-proto", value: scheme) }
        // RFC 7239: the node speaks for this hop only; a client's own Forwarded (host=, proto=)
        // could steer an origin while the cache key never saw it, so it is replaced, not passed on.
        if writesForwardedFor, let clientAddress {
            headers.add(name: "forwarded", value: "for=\(Self.forwardedNode(clientAddress));proto=\(scheme)")
        }
        headers.add(name: "via", value: via.value(for: head.version))
        return headers
    }

    /// RFC 7239 §6: an IPv6 address is quoted and bracketed.
    static func forwardedNode(_ address: String) -> String {
        address.utf8.contains(UInt8(ascii: ":")) ? "\"[\(address)]\"" : address
    }

    /// The request fields the cache decides on: what the origin is sent, before the node adds its
    /// own (Via, X-Forwarded-*, Forwarded). Fields named by Connection and the override fields are
    /// gone, so neither the key nor a Vary'd variant can depend on a field the origin never saw.
    func cacheRequestHeaders(_ received: HTTPHeaders) -> HTTPHeaders {
        // Most requests arrive with nothing to drop: they are then not copied at all.
        received.removingHopByHopFields(and: droppedFields.forCache)
    }

    /// Rewrites a response head for the client: hop-by-hop fields out, the origin's Server
    /// replaced or removed, Via added for the hop the response arrived on.
    func rewriteResponseHeaders(_ headers: inout HTTPHeaders, receivedVersion version: HTTPVersion) {
        headers.removeHopByHopFields()
        if let serverHeader {
            // Removed only when there: a remove copies the fields even when nothing matches.
            if headers.contains(name: "server") { headers.remove(name: "server") }
            if !serverHeader.isEmpty { headers.add(name: "server", value: serverHeader) }
        }
        headers.add(name: "via", value: via.value(for: version))
    }
}

/// The request fields ForwardingPolicy's rewrites drop besides the hop-by-hop ones, as sets made
/// once per setting rather than looked for one by one in every request.
struct DroppedFields: Sendable {
    /// The override fields, as configured (ForwardingPolicy.strippedRequestFields).
    let strippedRequestFields: [String]
    /// What the key and the Vary'd variant must not depend on: the override fields and Forwarded.
    let forCache: FieldNameSet
    /// Toward the origin: also framing, Expect and the forwarding fields the node writes anew.
    let towardOrigin: FieldNameSet
    /// The same when the node writes X-Forwarded-For itself (a known client, not `off`).
    let towardOriginWithForwardedFor: FieldNameSet

    init(strippedRequestFields: [String]) {
        self.strippedRequestFields = strippedRequestFields
        forCache = FieldNameSet(strippedRequestFields + ["forwarded"])
        let origin = strippedRequestFields + ["forwarded", "content-length", "expect", "x-forwarded-proto"]
        towardOrigin = FieldNameSet(origin)
        towardOriginWithForwardedFor = FieldNameSet(origin + ["x-forwarded-for"])
    }
}

/// Via's pseudonym (RFC 9110 §7.6.3), with the value for an HTTP/1.1 hop, the usual one, made once.
struct ViaName: Sendable {
    let name: String
    private let forHTTP11: String

    init(_ name: String) {
        self.name = name
        self.forHTTP11 = "1.1 " + name
    }

    /// The Via value for a hop of `version`: `1.1 outpost`.
    func value(for version: HTTPVersion) -> String {
        version == .http1_1 ? forHTTP11 : "\(version.major).\(version.minor) \(name)"
    }
}
