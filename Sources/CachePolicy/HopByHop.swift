// HopByHop: the connection-specific fields that are never stored or forwarded
// (RFC 9110 §7.6.1; RFC 9111 §3.1: "Caches MUST NOT store ... the Connection header field and
// header fields whose names are listed in it ... Proxy-Connection, Keep-Alive, TE,
// Transfer-Encoding, and Upgrade").

/// Hop-by-hop field names.
public enum HopByHop {
    /// The fixed hop-by-hop names (lower-cased).
    public static let fixedNames: [String] = ["connection", "proxy-connection", "keep-alive", "te", "transfer-encoding", "upgrade"]

    /// Fields a gateway also consumes rather than forwards: the trailer announcement (framing is
    /// redone per hop) and proxy authentication, which is addressed to this hop (RFC 9110 §11.7).
    public static let gatewayNames: [String] = ["trailer", "proxy-authorization", "proxy-authenticate"]

    /// Every hop-by-hop name for this message: the fixed ones plus those listed in Connection.
    public static func names(in fields: some HTTPFieldReading) -> [String] {
        var names = fixedNames
        for listed in fields.listMembers("Connection").map(FieldSyntax.lowercased) where !names.contains(listed) {
            names.append(listed)
        }
        return names
    }

    /// The fields without their hop-by-hop lines.
    public static func removing(from fields: HeaderFields) -> HeaderFields {
        var result = fields
        result.remove(names: names(in: fields))
        return result
    }
}
