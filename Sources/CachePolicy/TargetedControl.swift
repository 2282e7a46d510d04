// TargetedControl: which cache directives apply to this cache (RFC 9213 targeted fields,
// Surrogate-Control) and which of those fields are removed before a response reaches a client.
//
// Precedence, highest first: the node-specific field (default `Outpost-Cache-Control`),
// `CDN-Cache-Control`, `Surrogate-Control`, then `Cache-Control` with `Expires`.
// RFC 9213 §2.1: a cache "MUST select the first (in target list order) field with a valid,
// non-empty value and use its value to determine the caching policy for the response, and it
// MUST ignore the Cache-Control and Expires header fields in that response, unless no valid,
// non-empty value is available from the listed header fields."
// Targeted fields are Structured Field Dictionaries (RFC 9213 §2.1); one that fails to parse is
// ignored as a whole.
//
// Forwarding decision: `CDN-Cache-Control` is forwarded to the client unchanged — it targets the
// whole class of CDN caches, and a CDN downstream of this node (tiered or multi-CDN setups) is
// one of its targets; RFC 9213 does not ask a cache to remove it. The node-specific field speaks
// only to this node and `Surrogate-Control` speaks only to surrogates (Edge Architecture
// Specification 1.0: the surrogate removes the directives it consumed), so both are stripped.

/// Names of the targeted fields this node listens to.
public struct TargetedFields: Hashable, Sendable {
    /// The node-specific field; it outranks every other cache-control field.
    public var nodeFieldName: String
    /// The device token this node answers to in `Surrogate-Control` directives of the form
    /// `max-age=60;outpost`. Directives targeted at another token are ignored.
    public var surrogateDeviceToken: String

    public init(nodeFieldName: String = "Outpost-Cache-Control", surrogateDeviceToken: String = "outpost") {
        self.nodeFieldName = nodeFieldName
        self.surrogateDeviceToken = surrogateDeviceToken
    }

    /// Fields removed before a response goes to a client (see the file comment).
    public var fieldsToStrip: [String] {
        [nodeFieldName, "Surrogate-Control"]
    }
}

/// The response directives this cache obeys, and where they came from.
public struct ResponseDirectives: Hashable, Sendable {
    public enum Source: String, Hashable, Sendable {
        case nodeField
        case cdnCacheControl
        case surrogateControl
        case cacheControl
    }

    public var control: CacheControl
    public var source: Source

    /// Whether `Expires` still counts: only when Cache-Control is the source (RFC 9213 §2.1).
    public var usesExpires: Bool { source == .cacheControl }

    public init(control: CacheControl, source: Source) {
        self.control = control
        self.source = source
    }

    /// Selects the effective directives of a response for this cache.
    public init(_ response: some HTTPFieldReading, targeting: TargetedFields = TargetedFields()) {
        if let control = Self.targetedField(response.fieldValues(targeting.nodeFieldName)) {
            self.init(control: control, source: .nodeField)
        } else if let control = Self.targetedField(response.fieldValues("CDN-Cache-Control")) {
            self.init(control: control, source: .cdnCacheControl)
        } else if let control = Self.surrogateControl(response.fieldValues("Surrogate-Control"),
                                                      deviceToken: targeting.surrogateDeviceToken) {
            self.init(control: control, source: .surrogateControl)
        } else {
            self.init(control: CacheControl(response), source: .cacheControl)
        }
    }

    /// A targeted field's directives, or nil when absent, empty or not a valid sf-dictionary.
    static func targetedField(_ lines: [String]) -> CacheControl? {
        guard !lines.isEmpty, let members = StructuredFields.dictionary(lines) else { return nil }
        var directives: [CacheControl.Directive] = []
        for (key, item) in members {
            switch item {
            case .boolean(true): directives.append(.init(name: key))
            case .boolean(false): continue
            case .integer(let value): directives.append(.init(name: key, value: String(value)))
            case .decimal(let value): directives.append(.init(name: key, value: String(value)))
            case .string(let value), .token(let value): directives.append(.init(name: key, value: value))
            case .byteSequence, .innerList: directives.append(.init(name: key, value: ""))
            }
        }
        return directives.isEmpty ? nil : CacheControl(directives: directives)
    }

    /// Surrogate-Control directives addressed to everyone or to `deviceToken`. The Edge
    /// Architecture form `max-age=30+60` (freshness, then extra time usable when the origin is
    /// unavailable) becomes `max-age=30, stale-if-error=60`. Nil when nothing applies, and nil
    /// when what applies says nothing about caching: only `max-age` and `no-store` (Edge
    /// Architecture Specification 1.0 §3) put Surrogate-Control in charge. `content="ESI/1.0"`
    /// alone, which many CMSs send, leaves Cache-Control in charge.
    static func surrogateControl(_ lines: [String], deviceToken: String) -> CacheControl? {
        var kept: [String] = []
        for line in lines {
            for member in FieldSyntax.splitList(line) {
                let parts = FieldSyntax.splitList(member, separator: UInt8(ascii: ";"))
                guard let directive = parts.first else { continue }
                if parts.count > 1, !parts.dropFirst().contains(where: { FieldSyntax.namesEqual($0, deviceToken) }) {
                    continue
                }
                kept.append(directive)
            }
        }
        var control = CacheControl(fieldValues: kept)
        control.directives = control.directives.flatMap { directive -> [CacheControl.Directive] in
            guard directive.name == "max-age", let value = directive.value,
                  let plus = value.firstIndex(of: "+") else { return [directive] }
            return [.init(name: "max-age", value: String(value[..<plus])),
                    .init(name: "stale-if-error", value: String(value[value.index(after: plus)...]))]
        }
        guard control.directives.contains(where: { $0.name == "max-age" || $0.name == "no-store" }) else { return nil }
        return control
    }
}
