// Hop-by-hop header hygiene on NIO's headers (RFC 9110 §7.6.1): fields that describe one
// connection are never forwarded in either direction, nor are the fields a `Connection` header
// names. The names come from CachePolicy.HopByHop, the one list the cache also stores by.
// Invariant: afterwards no such field remains.
import CachePolicy
import NIOHTTP1

extension HTTPHeaders {
    public mutating func removeHopByHopFields() {
        // One pass finds what is there (usually only `connection`); only those are removed. A
        // name is compared only with the hop-by-hop names of its length.
        var present: [String] = []
        for (name, value) in self {
            let length = name.utf8.count
            guard length < Self.hopByHopByLength.count, let candidates = Self.hopByHopByLength[length] else { continue }
            guard let fixed = candidates.first(where: { Self.equalsIgnoringCase(name, $0) }) else { continue }
            if fixed == "connection" {
                for token in value.utf8.split(separator: UInt8(ascii: ",")) {
                    let listed = FieldSyntax.lowercased(FieldSyntax.trimmed(Substring(token)))
                    if !listed.isEmpty, listed != "close", listed != "keep-alive", !present.contains(listed) { present.append(listed) }
                }
            }
            if !present.contains(fixed) { present.append(fixed) }
        }
        for name in present { remove(name: name) }
    }

    /// The fixed and gateway hop-by-hop names (CachePolicy.HopByHop), by their length.
    private static let hopByHopByLength: [[String]?] = {
        let names = HopByHop.fixedNames + HopByHop.gatewayNames
        var table = [[String]?](repeating: nil, count: (names.map(\.utf8.count).max() ?? 0) + 1)
        for name in names { table[name.utf8.count] = (table[name.utf8.count] ?? []) + [name] }
        return table
    }()

    /// ASCII case-insensitive equality of a field name with a lower-case name, length first.
    private static func equalsIgnoringCase(_ name: String, _ lowercased: String) -> Bool {
        let bytes = name.utf8, other = lowercased.utf8
        guard bytes.count == other.count else { return false }
        return zip(bytes, other).allSatisfy { byte, expected in
            byte == expected || (byte >= 0x41 && byte <= 0x5A && byte | 0x20 == expected)
        }
    }
}
