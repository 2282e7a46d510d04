// PolicyRules: the operator's rules, as pure values. An ordered list of rules, each matching
// requests by host and path; the first matching rule's settings are laid over the defaults and
// the result (`RuleSettings`) is what every policy function reads.
//
// Invariants: RFC behaviour first — with `RuleSettings()` (all defaults) no heuristic or default
// freshness is invented, nothing is kept past what the response allows, and keys are not
// rewritten. A rule changes only what it names. Patterns are validated when built (failable
// initialisers), so matching never fails.

/// What to do with a response that carries Set-Cookie.
public enum SetCookieHandling: String, Hashable, Sendable, CaseIterable {
    /// Do not store it (reason `setCookie`). The safe choice: a cookie meant for one client is
    /// never replayed to another.
    case doNotStore = "do-not-store"
    /// Store it without its Set-Cookie lines (the client that caused the fill still gets them).
    case omitField = "omit-field"
    /// Store it as is (RFC 9111 permits this; only for origins known to set shared cookies).
    case store
}

/// How the storage tiers choose what to evict (`node.eviction` in the rules file). A node-wide
/// setting, not a per-rule one: a tier has one policy. See docs/CACHING.md for why the default.
public enum EvictionChoice: String, Hashable, Sendable, CaseIterable {
    /// Least recently used: the design's baseline; one pass of one-time keys flushes the tier.
    case leastRecentlyUsed = "lru"
    /// S3-FIFO (Yang et al., SOSP 2023): a small probation queue, a main queue and a ghost list
    /// of keys evicted from probation. Scan-resistant, and a hit only sets a counter.
    case threeQueueFIFO = "s3-fifo"
}

/// How request URIs and Vary'd headers are normalised before they become keys.
public struct KeyNormalisation: Hashable, Sendable {
    /// Sort query parameters by name (stable for repeated names).
    public var sortQuery: Bool
    /// Query parameters removed from the key (`gclid`, or a prefix pattern like `utm_*`).
    public var dropQueryParameters: [QueryParameterPattern]
    /// Reduce Accept-Encoding to `br`, `gzip` or `identity` in the secondary key.
    public var normaliseAcceptEncoding: Bool

    public init(sortQuery: Bool = false, dropQueryParameters: [QueryParameterPattern] = [],
                normaliseAcceptEncoding: Bool = false) {
        self.sortQuery = sortQuery
        self.dropQueryParameters = dropQueryParameters
        self.normaliseAcceptEncoding = normaliseAcceptEncoding
    }
}

/// The settings in force for one request.
public struct RuleSettings: Hashable, Sendable {
    /// When set, the cache is bypassed (reason `ruleBypass`); the text explains why, for logs.
    public var bypass: String?
    /// Freshness lifetime imposed regardless of the response's own (storability rules still apply).
    public var forceTTL: Double?
    /// Upper bound on any freshness lifetime except a forced one.
    public var maxTTL: Double?
    /// Heuristic freshness as a fraction of (Date − Last-Modified) (RFC 9111 §4.2.2); nil = off.
    public var heuristicFraction: Double?
    /// Cap on a heuristic lifetime.
    public var heuristicCap: Double
    /// Lifetime for heuristically cacheable responses with no freshness information; nil = off.
    public var defaultTTL: Double?
    /// Lifetime per status code for responses with no explicit freshness (negative caching).
    public var statusTTLs: [Int: Double]
    /// Extra time a stale response may still be served while revalidating or when the origin
    /// fails, beyond what the response itself allows. Never overrides must-revalidate & co.
    public var grace: Double
    /// Responses with Set-Cookie.
    public var setCookie: SetCookieHandling
    /// Requests a second one client address may send under these settings (a token bucket per
    /// address and rule); nil = no limit. Over it: 429 with Retry-After.
    public var requestRate: Double?
    /// How many requests above the rate a client may send at once (the bucket's size).
    public var requestBurst: Int = 1
    /// Key normalisation.
    public var key: KeyNormalisation
    /// Most variants kept per primary key.
    public var maxVariants: Int
    /// Largest body stored, in bytes.
    public var maxObjectSize: Int
    /// Names of the targeted cache-control fields.
    public var targeting: TargetedFields
    /// Name of the rule that matched, for logs; nil when only defaults apply.
    public var ruleName: String?

    public init(bypass: String? = nil, forceTTL: Double? = nil, maxTTL: Double? = nil,
                heuristicFraction: Double? = nil, heuristicCap: Double = 86_400, defaultTTL: Double? = nil,
                statusTTLs: [Int: Double] = [:], grace: Double = 0, setCookie: SetCookieHandling = .doNotStore,
                key: KeyNormalisation = KeyNormalisation(), maxVariants: Int = 16,
                maxObjectSize: Int = 64 * 1024 * 1024, targeting: TargetedFields = TargetedFields(),
                ruleName: String? = nil) {
        self.bypass = bypass
        self.forceTTL = forceTTL
        self.maxTTL = maxTTL
        self.heuristicFraction = heuristicFraction
        self.heuristicCap = heuristicCap
        self.defaultTTL = defaultTTL
        self.statusTTLs = statusTTLs
        self.grace = grace
        self.setCookie = setCookie
        self.key = key
        self.maxVariants = maxVariants
        self.maxObjectSize = maxObjectSize
        self.targeting = targeting
        self.ruleName = ruleName
    }
}

/// What one rule changes. `nil` leaves the default; for settings that can be switched off,
/// `.some(nil)` switches them off.
public struct RuleOverrides: Hashable, Sendable {
    public var bypass: String??
    public var forceTTL: Double??
    public var maxTTL: Double??
    public var heuristicFraction: Double??
    public var heuristicCap: Double?
    public var defaultTTL: Double??
    /// Merged per status over the defaults' table.
    public var statusTTLs: [Int: Double]?
    public var grace: Double?
    public var setCookie: SetCookieHandling?
    public var sortQuery: Bool?
    /// Replaces the defaults' list.
    public var dropQueryParameters: [QueryParameterPattern]?
    public var normaliseAcceptEncoding: Bool?
    public var maxVariants: Int?
    public var maxObjectSize: Int?
    public var requestRate: Double??
    public var requestBurst: Int?

    public init() {}

    /// `defaults` with these overrides applied.
    public func applied(to defaults: RuleSettings) -> RuleSettings {
        var settings = defaults
        if let bypass { settings.bypass = bypass }
        if let forceTTL { settings.forceTTL = forceTTL }
        if let maxTTL { settings.maxTTL = maxTTL }
        if let heuristicFraction { settings.heuristicFraction = heuristicFraction }
        if let heuristicCap { settings.heuristicCap = heuristicCap }
        if let defaultTTL { settings.defaultTTL = defaultTTL }
        if let statusTTLs { settings.statusTTLs.merge(statusTTLs) { _, rule in rule } }
        if let grace { settings.grace = grace }
        if let setCookie { settings.setCookie = setCookie }
        if let sortQuery { settings.key.sortQuery = sortQuery }
        if let dropQueryParameters { settings.key.dropQueryParameters = dropQueryParameters }
        if let normaliseAcceptEncoding { settings.key.normaliseAcceptEncoding = normaliseAcceptEncoding }
        if let maxVariants { settings.maxVariants = maxVariants }
        if let maxObjectSize { settings.maxObjectSize = maxObjectSize }
        if let requestRate { settings.requestRate = requestRate }
        if let requestBurst { settings.requestBurst = requestBurst }
        return settings
    }
}

/// One rule: where it applies and what it changes.
public struct Rule: Hashable, Sendable {
    public var name: String?
    /// Any of these hosts; empty matches every host.
    public var hosts: [HostPattern]
    /// Any of these paths; empty matches every path.
    public var paths: [PathPattern]
    public var overrides: RuleOverrides

    public init(name: String? = nil, hosts: [HostPattern] = [], paths: [PathPattern] = [],
                overrides: RuleOverrides = RuleOverrides()) {
        self.name = name
        self.hosts = hosts
        self.paths = paths
        self.overrides = overrides
    }

    /// Whether the rule applies to a request for `host` (port allowed) and `path` (query allowed).
    public func matches(host: String, path: String) -> Bool {
        let bareHost = PrimaryKey.hostWithoutPort(host)
        let barePath = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        return (hosts.isEmpty || hosts.contains { $0.matches(bareHost) })
            && (paths.isEmpty || paths.contains { $0.matches(barePath) })
    }
}

/// The whole rule set.
public struct PolicyRules: Hashable, Sendable {
    public var defaults: RuleSettings
    public var rules: [Rule]
    /// The storage tiers' eviction policy (node-wide).
    public var eviction: EvictionChoice
    /// Who may use the forward listeners, to reach what (the `access:` section).
    public var access: AccessRules

    public init(defaults: RuleSettings = RuleSettings(), rules: [Rule] = [], eviction: EvictionChoice = .threeQueueFIFO,
                access: AccessRules = .standard) {
        self.defaults = defaults
        self.rules = rules
        self.eviction = eviction
        self.access = access
    }

    /// Whether any setting limits request rates, so the front asks only when one may apply.
    public var limitsRequestRates: Bool {
        defaults.requestRate != nil || rules.contains { ($0.overrides.requestRate ?? nil) != nil }
    }

    /// The settings for a request: the first matching rule laid over the defaults.
    public func settings(host: String, path: String) -> RuleSettings {
        guard let rule = rules.first(where: { $0.matches(host: host, path: path) }) else { return defaults }
        var settings = rule.overrides.applied(to: defaults)
        settings.ruleName = rule.name
        return settings
    }
}

/// A host pattern: `example.com` (exact) or `*.example.com` (any subdomain at any depth, not the
/// apex). Case-insensitive.
public struct HostPattern: Hashable, Sendable, CustomStringConvertible {
    public let description: String
    private let suffix: String?

    public init?(_ text: String) {
        let lower = FieldSyntax.lowercased(text)
        let rest = lower.hasPrefix("*.") ? String(lower.dropFirst(2)) : lower
        guard !rest.isEmpty, rest.utf8.allSatisfy({ FieldSyntax.isTokenCharacter($0) && $0 != UInt8(ascii: "*") }) else {
            return nil
        }
        description = lower
        suffix = lower.hasPrefix("*.") ? String(lower.dropFirst(1)) : nil
    }

    public func matches(_ host: String) -> Bool {
        let lower = FieldSyntax.lowercased(host)
        if let suffix { return lower.hasSuffix(suffix) && lower.utf8.count > suffix.utf8.count }
        return lower == description
    }
}

/// A path pattern: a prefix (`/static/`) or, when it contains `*`, a glob matched against the
/// whole path where `*` matches within one segment, `**` across segments, and `**/` any number
/// of whole segments, none included (`/**/*.png` matches `/a.png` and `/a/b/c.png`).
public struct PathPattern: Hashable, Sendable, CustomStringConvertible {
    public let description: String
    private let isGlob: Bool

    /// Nil (`problem(_:)` says why) when the pattern does not start with `/`, contains `***`,
    /// or uses unsupported glob syntax (`?`, `[`, `{`).
    public init?(_ text: String) {
        guard Self.problem(text) == nil else { return nil }
        description = text
        isGlob = text.contains("*")
    }

    /// Why `text` is not a valid path pattern, or nil when it is.
    public static func problem(_ text: String) -> String? {
        if !text.hasPrefix("/") { return "path pattern must start with '/'" }
        if text.contains("***") { return "'***' is not a valid glob" }
        if text.contains(where: { "?[]{}".contains($0) }) { return "unsupported glob syntax (only * and ** are allowed)" }
        return nil
    }

    public func matches(_ path: String) -> Bool {
        guard isGlob else { return path.hasPrefix(description) }
        return Self.glob(Array(description.utf8), Array(path.utf8))
    }

    /// Glob match by dynamic programming over (pattern position, path position).
    static func glob(_ pattern: [UInt8], _ path: [UInt8]) -> Bool {
        let slash = UInt8(ascii: "/"), star = UInt8(ascii: "*")
        // matches[j] for the current pattern prefix against path prefix of length j.
        var matches = [Bool](repeating: false, count: path.count + 1)
        matches[0] = true
        var index = 0
        while index < pattern.count {
            var next = [Bool](repeating: false, count: path.count + 1)
            if pattern[index] == star {
                let crossesSegments = index + 1 < pattern.count && pattern[index + 1] == star
                // `**/` also matches nothing at all, so `/**/x` matches `/x`.
                let wholeSegments = crossesSegments && index + 2 < pattern.count && pattern[index + 2] == slash
                var reachedBefore = false
                for j in 0...path.count {
                    if wholeSegments {
                        next[j] = matches[j] || (j > 0 && reachedBefore && path[j - 1] == slash)
                        reachedBefore = reachedBefore || matches[j]
                        continue
                    }
                    if matches[j] { next[j] = true }
                    if j > 0, next[j - 1], crossesSegments || path[j - 1] != slash { next[j] = true }
                }
                index += wholeSegments ? 3 : (crossesSegments ? 2 : 1)
            } else {
                for j in 1...max(path.count, 1) where j <= path.count {
                    next[j] = matches[j - 1] && path[j - 1] == pattern[index]
                }
                index += 1
            }
            matches = next
        }
        return matches[path.count]
    }
}

/// A query parameter name to drop from keys: exact (`gclid`) or prefix (`utm_*`).
public struct QueryParameterPattern: Hashable, Sendable, CustomStringConvertible {
    public let description: String
    /// The name, or the prefix of names when the pattern ends in `*`, as bytes: a request
    /// target's parameter names are compared byte for byte (they are percent-encoded ASCII).
    private let bytes: [UInt8]
    private let isPrefix: Bool

    /// Nil when empty or when `*` appears anywhere but at the end.
    public init?(_ text: String) {
        guard !text.isEmpty, !text.dropLast().contains("*"), text != "*" else { return nil }
        description = text
        isPrefix = text.hasSuffix("*")
        bytes = Array((isPrefix ? text.dropLast() : Substring(text)).utf8)
    }

    public func matches<Name: StringProtocol>(_ name: Name) -> Bool {
        let utf8 = name.utf8
        if isPrefix {
            guard utf8.count >= bytes.count else { return false }
            return utf8.prefix(bytes.count).elementsEqual(bytes)
        }
        return utf8.count == bytes.count && utf8.elementsEqual(bytes)
    }

    /// `matches` for a name given as bytes in place.
    public func matches(bytes name: UnsafeBufferPointer<UInt8>) -> Bool {
        if isPrefix {
            return name.count >= bytes.count && name.prefix(bytes.count).elementsEqual(bytes)
        }
        return name.count == bytes.count && name.elementsEqual(bytes)
    }
}
