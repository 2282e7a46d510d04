// NotCachedReason: the one list of reasons a response was not stored, or a request was not
// answered from the cache. Every non-hit carries one: it is the `detail` parameter of
// Cache-Status (RFC 9211 §2.8), the label of the "not cached" metrics and a field of the access log.
//
// Invariant: `detail` tokens are stable API (dashboards and alerts key on them), kebab-case, and
// valid sf-tokens so Cache-Status can carry them unquoted.

/// Why a response was not stored or a stored response was not used.
public enum NotCachedReason: String, Sendable, CaseIterable, Hashable, Codable {
    // MARK: The request may not use the cache at all
    /// The request method is not one the cache stores responses for (RFC 9111 §3: GET only).
    case methodNotCacheable
    /// An operator rule says to bypass the cache for this request.
    case ruleBypass
    /// The key was recently seen to be uncacheable, so the request skips the cache and collapsing.
    case uncacheableRemembered

    // MARK: Nothing usable was stored
    /// No stored response exists for the primary key (a plain miss).
    case noStoredResponse
    /// Stored responses exist for the URI, but none matches this request's Vary'd fields (RFC 9111 §4.1).
    case varyMismatch
    /// The request said only-if-cached and nothing servable was stored (RFC 9111 §5.2.1.7: 504).
    case onlyIfCachedMiss

    // MARK: The response may not be stored
    /// The request carried `no-store` (RFC 9111 §5.2.1.5).
    case requestNoStore
    /// The response carried `no-store` (RFC 9111 §5.2.2.5).
    case responseNoStore
    /// The response carried unqualified `private` (RFC 9111 §5.2.2.7).
    case responsePrivate
    /// The request had Authorization and the response did not allow a shared cache to store it (RFC 9111 §3.5).
    case authorizationWithoutPermission
    /// The status code is not final, not understood, or neither heuristically cacheable nor given freshness (RFC 9111 §3).
    case statusNotCacheable
    /// A 206 response; range requests are not implemented, so partial content is never stored (RFC 9111 §3.3).
    case partialContent
    /// `must-understand` with a status code the cache does not understand (RFC 9111 §5.2.2.3).
    case mustUnderstandUnknownStatus
    /// No freshness lifetime and no validator: a stored copy could never be used (RFC 9111 §4.2, §4.3).
    case noFreshnessInformation
    /// `Vary: *` can never match a later request (RFC 9111 §4.1), so it is not stored.
    case varyStar
    /// The response sets a cookie and the rules say such responses are not stored.
    case setCookie
    /// The body did not arrive whole (RFC 9111 §3.3): never stored or served as complete.
    case bodyIncomplete
    /// An operator purge that selects this response arrived while it was being fetched: what was
    /// fetched is as old as what was purged, so it is delivered but not stored.
    case purgedWhileFilling
    /// The body is larger than the rule's maximum object size.
    case tooLarge
    /// Storing this variant would exceed the rule's maximum number of variants per key.
    case tooManyVariants

    // MARK: A stored response exists but must be validated first
    /// The request carried `no-cache` (or `Pragma: no-cache` without Cache-Control; RFC 9111 §5.2.1.4, §5.4).
    case requestNoCache
    /// The stored response carries unqualified `no-cache` (RFC 9111 §5.2.2.4).
    case responseNoCache
    /// The stored response is older than the request's `max-age` allows (RFC 9111 §5.2.1.1).
    case requestMaxAge
    /// The stored response will not stay fresh for the request's `min-fresh` (RFC 9111 §5.2.1.3).
    case requestMinFresh
    /// The stored response is stale and nothing allows serving it stale (RFC 9111 §4.2.4).
    case stale
    /// The stored response is stale and `must-revalidate`, `proxy-revalidate` or `s-maxage` forbids serving it stale (RFC 9111 §5.2.2.2).
    case mustRevalidate
    /// An operator soft purge marked the stored response stale, and no stale window applies.
    case softPurged

    /// The short kebab-case token used in `Cache-Status: ...; detail=<token>` and metric labels.
    public var detail: String {
        switch self {
        case .methodNotCacheable: "method"
        case .ruleBypass: "rule-bypass"
        case .uncacheableRemembered: "uncacheable-remembered"
        case .noStoredResponse: "not-stored"
        case .varyMismatch: "vary-mismatch"
        case .onlyIfCachedMiss: "only-if-cached"
        case .requestNoStore: "request-no-store"
        case .responseNoStore: "no-store"
        case .responsePrivate: "private"
        case .authorizationWithoutPermission: "authorization"
        case .statusNotCacheable: "status"
        case .partialContent: "partial-content"
        case .mustUnderstandUnknownStatus: "must-understand"
        case .noFreshnessInformation: "no-freshness"
        case .varyStar: "vary-star"
        case .setCookie: "set-cookie"
        case .bodyIncomplete: "incomplete-body"
        case .purgedWhileFilling: "purged-while-filling"
        case .tooLarge: "too-large"
        case .tooManyVariants: "too-many-variants"
        case .requestNoCache: "request-no-cache"
        case .responseNoCache: "no-cache"
        case .requestMaxAge: "request-max-age"
        case .requestMinFresh: "request-min-fresh"
        case .stale: "stale"
        case .mustRevalidate: "must-revalidate"
        case .softPurged: "soft-purged"
        }
    }

    /// The Cache-Status `fwd` value (RFC 9211 §2.2) that describes a forward caused by this reason.
    public var forwardReason: CacheStatus.ForwardReason {
        switch self {
        case .methodNotCacheable: .method
        case .ruleBypass, .uncacheableRemembered: .bypass
        case .noStoredResponse, .onlyIfCachedMiss: .uriMiss
        case .varyMismatch: .varyMiss
        case .partialContent: .partial
        case .requestNoCache, .requestMaxAge, .requestMinFresh: .request
        case .responseNoCache, .stale, .mustRevalidate, .softPurged: .stale
        case .requestNoStore, .responseNoStore, .responsePrivate, .authorizationWithoutPermission,
             .statusNotCacheable, .mustUnderstandUnknownStatus, .noFreshnessInformation, .varyStar,
             .setCookie, .bodyIncomplete, .purgedWhileFilling, .tooLarge, .tooManyVariants:
            .miss
        }
    }
}
