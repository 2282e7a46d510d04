// Hop-by-hop header hygiene on NIO's headers (RFC 9110 §7.6.1): fields that describe one
// connection are never forwarded in either direction, nor are the fields a `Connection` header
// names. The names come from CachePolicy.HopByHop, the one list the cache also stores by.
// Invariant: afterwards no such field remains.
import CachePolicy
import NIOHTTP1

extension HTTPHeaders {
    public mutating func removeHopByHopFields() {
        var named: [String] = []
        for value in self[canonicalForm: "connection"] {
            let name = value.lowercased()
            if name != "close" && name != "keep-alive" { named.append(name) }
        }
        for name in named { remove(name: name) }
        for name in HopByHop.fixedNames where contains(name: name) { remove(name: name) }
        for name in HopByHop.gatewayNames where contains(name: name) { remove(name: name) }
    }
}
