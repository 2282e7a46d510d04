// Purging: which stored variants an operator's purge (or an RFC 9875 group invalidation) selects,
// and what happens to them. Every tier answers the same selection the same way, so a purge can be
// applied to memory and disk and its receipt counted once per variant.
//
// Invariants: a selection never matches on anything but the stored response's own key, URL and
// tags; `.count` changes nothing; `.markStale(at:)` keeps the body and sets `softPurgedAt`, so the
// next use revalidates (RFC 9111 §4.3) while stale-while-revalidate and stale-if-error still apply.
import CachePolicy

/// The stored variants a purge applies to.
public enum PurgeSelection: Sendable, Hashable {
    /// Every variant of one primary key.
    case key(String)
    /// Variants whose stored URL starts with one of these (`scheme://host/path…`).
    case urlPrefixes([String])
    /// Variants, of any host, whose URL path starts with this (`/img/`).
    case pathPrefix(String)
    /// Variants carrying this tag (Surrogate-Key, Cache-Tag or Cache-Groups value).
    case tag(String)
    /// RFC 9875 §3: variants of this origin (normalised `scheme://host[:port]`) in this group.
    case group(String, origin: String)
    case all

    public func matches(_ response: StoredResponse) -> Bool {
        switch self {
        case .key(let key): response.key == key
        case .urlPrefixes(let prefixes): prefixes.contains { response.url.hasPrefix($0) }
        case .pathPrefix(let prefix): Self.path(of: response.url).hasPrefix(prefix)
        case .tag(let tag): response.tags.contains(tag)
        case .group(let group, let origin): response.tags.contains(group) && Self.origin(of: response.url) == origin
        case .all: true
        }
    }

    /// The path and query of an absolute URL ("/" when it has none).
    public static func path(of url: String) -> Substring {
        guard let scheme = url.range(of: "://") else { return Substring(url) }
        let rest = url[scheme.upperBound...]
        return rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
    }

    /// The normalised origin of an absolute URL, as `RequestTarget.origin` computes it.
    public static func origin(of url: String) -> String? {
        guard let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        return RequestTarget(scheme: String(url[..<scheme.lowerBound]), authority: String(authority), pathAndQuery: "/").origin
    }
}

/// What a purge does to the variants it selects.
public enum PurgeAction: Sendable, Hashable {
    case remove
    /// Soft purge: keep the variant, stale from this instant.
    case markStale(at: Timestamp)
    /// Dry run: change nothing.
    case count
}

/// One variant a purge selected.
public struct PurgedVariant: Sendable, Hashable {
    public var key: String
    public var variantKey: String
    public var bodyLength: Int

    public init(key: String, variantKey: String, bodyLength: Int) {
        self.key = key
        self.variantKey = variantKey
        self.bodyLength = bodyLength
    }
}
