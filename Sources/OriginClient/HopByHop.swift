// Hop-by-hop header hygiene (RFC 9110 §7.6.1). Fields that describe one connection are never
// forwarded in either direction, and neither are the fields a `Connection` header names.
// Invariant: after `removeHopByHopFields`, no field listed here or named by Connection remains.
import NIOHTTP1

public enum HopByHop {
    /// Fields that are hop-by-hop by definition (RFC 9110 §7.6.1, RFC 9112 §6.1, §9.6), plus the
    /// legacy `Proxy-Connection` that clients still send. Lower-case.
    public static let fieldNames: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade",
        "trailer", "proxy-authorization", "proxy-authenticate",
    ]

    /// Removes every hop-by-hop field and every field named in a `Connection` header.
    public static func removeHopByHopFields(from headers: inout HTTPHeaders) {
        var named: [String] = []
        for value in headers[canonicalForm: "connection"] {
            let name = value.lowercased()
            if name != "close" && name != "keep-alive" { named.append(String(name)) }
        }
        for name in named { headers.remove(name: name) }
        for name in fieldNames where headers.contains(name: name) { headers.remove(name: name) }
    }
}
