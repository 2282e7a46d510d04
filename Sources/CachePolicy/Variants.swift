// Variants: matching a new request to stored responses that carry Vary (RFC 9111 §4.1), by way
// of a secondary key computed from the request's values of the Vary'd fields.
//
// Invariants: two requests get the same secondary key exactly when a stored response with that
// Vary would match both. "The header fields from two requests are defined to match if and only
// if those in the first request can be transformed to those in the second request by applying
// any of the following: adding or removing whitespace, where allowed in the header field's
// syntax; combining multiple header field lines with the same field name; normalizing both header
// field values in a way that is known to have identical semantics". A field absent from the
// request matches only its absence ("If (after any normalization that might take place) a header
// field is absent from a request, it can only match another request if it is also absent").
// "A stored response with a Vary header field value containing a member "*" always fails to
// match": the key is nil.

/// Vary matching.
public enum Variants {
    /// The Vary'd field names, lower-cased, de-duplicated and sorted; nil when Vary contains `*`.
    public static func fieldNames(vary: [String]) -> [String]? {
        var names: Set<String> = []
        for line in vary {
            for member in FieldSyntax.splitList(line) {
                if member == "*" { return nil }
                names.insert(FieldSyntax.lowercased(member))
            }
        }
        return names.sorted()
    }

    /// The secondary key of a request for a stored response with this Vary; "" when nothing
    /// varies, nil for `Vary: *`.
    public static func secondaryKey(vary: [String], request: some HTTPFieldReading) -> String? {
        secondaryKey(vary: vary, request: request, normaliseAcceptEncoding: false)
    }

    /// The same, with Accept-Encoding reduced to `br`, `gzip` or `identity` when the rules ask.
    public static func secondaryKey(vary: [String], request: some HTTPFieldReading, normaliseAcceptEncoding: Bool) -> String? {
        if vary.isEmpty { return "" }  // the common case: no Vary, one variant
        guard let names = fieldNames(vary: vary) else { return nil }
        var key = ""
        for name in names {
            if !key.isEmpty { key += "\n" }
            let lines = request.fieldValues(name)
            if name == "accept-encoding", normaliseAcceptEncoding {
                key += "\(name)=\(preferredEncoding(acceptEncoding: lines))"
            } else if lines.isEmpty {
                key += name
            } else {
                key += "\(name)=\(normalisedValue(lines))"
            }
        }
        return key
    }

    /// The lines combined with ", " (RFC 9110 §5.3), with whitespace around list members removed
    /// and empty members dropped.
    public static func normalisedValue(_ lines: [String]) -> String {
        lines.flatMap { FieldSyntax.splitList($0) }.joined(separator: ", ")
    }

    /// The content coding this node would use for a request's Accept-Encoding: `br` if
    /// acceptable, else `gzip`, else `identity` (RFC 9110 §12.5.3: a coding with q=0 is "not
    /// acceptable"; `*` covers codings not listed). The origin request should carry this value
    /// too, so the stored variant is the one the key names.
    public static func preferredEncoding(acceptEncoding lines: [String]) -> String {
        var weights: [String: Double] = [:]
        for member in lines.flatMap({ FieldSyntax.splitList($0) }) {
            let parts = FieldSyntax.splitList(member, separator: UInt8(ascii: ";"))
            guard let coding = parts.first.map(FieldSyntax.lowercased) else { continue }
            var weight = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                if pair.count == 2, FieldSyntax.namesEqual(FieldSyntax.trimmed(pair[0]), "q") {
                    weight = Double(FieldSyntax.trimmed(pair[1])) ?? 0
                }
            }
            weights[coding == "x-gzip" ? "gzip" : coding] = weight
        }
        for coding in ["br", "gzip"] {
            if let weight = weights[coding] ?? weights["*"], weight > 0 { return coding }
        }
        return "identity"
    }
}
