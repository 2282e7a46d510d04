// Hop-by-hop header hygiene on NIO's headers (RFC 9110 §7.6.1): fields that describe one
// connection are never forwarded in either direction, nor are the fields a `Connection` header
// names. The names come from CachePolicy.HopByHop, the one list the cache also stores by.
// Invariant: afterwards no such field remains, and the others keep their order.
import CachePolicy
import NIOHTTP1

extension HTTPHeaders {
    public mutating func removeHopByHopFields() {
        if let kept = fieldsWithoutHopByHop(dropping: .empty) { self = kept }
    }

    /// These fields without the hop-by-hop ones, those Connection names, and those in `dropped`:
    /// one pass that finds what is there, a second only when something goes. Unchanged (not
    /// copied) when nothing does.
    public func removingHopByHopFields(and dropped: FieldNameSet) -> HTTPHeaders {
        fieldsWithoutHopByHop(dropping: dropped) ?? self
    }

    /// nil when no field goes.
    private func fieldsWithoutHopByHop(dropping dropped: FieldNameSet) -> HTTPHeaders? {
        var connectionNamed: [String] = []
        var anyGoes = false
        for (name, value) in self {
            if let fixed = Self.hopByHop.member(name) {
                anyGoes = true
                guard fixed == "connection" else { continue }
                for token in value.utf8.split(separator: UInt8(ascii: ",")) {
                    let listed = FieldSyntax.lowercased(FieldSyntax.trimmed(Substring(token)))
                    if !listed.isEmpty, listed != "close", !connectionNamed.contains(listed) { connectionNamed.append(listed) }
                }
            } else if dropped.contains(name) {
                anyGoes = true
            }
        }
        guard anyGoes else { return nil }
        var kept: [(String, String)] = []
        kept.reserveCapacity(count)
        for (name, value) in self where !Self.hopByHop.contains(name) && !dropped.contains(name)
            && !Self.isListed(name, in: connectionNamed) {
            kept.append((name, value))
        }
        return HTTPHeaders(kept)
    }

    /// Whether `name` is one of the lower-cased names a Connection field listed: nearly always
    /// none or one ("keep-alive"), so compared in place rather than gathered into a set.
    private static func isListed(_ name: String, in listed: [String]) -> Bool {
        listed.contains { FieldSyntax.namesEqual(name, $0) }
    }

    /// The fixed and gateway hop-by-hop names (CachePolicy.HopByHop).
    private static let hopByHop = FieldNameSet(HopByHop.fixedNames + HopByHop.gatewayNames)
}
