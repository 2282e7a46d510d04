// Reuse: may a stored response answer this request now, and how (RFC 9111 §4, §4.2.4, §5.2;
// RFC 5861). The store has already matched the primary key and the Vary'd fields (§4.1); this
// decides freshness and the request's and response's directives.
//
// Invariants:
// - A stale response is served only with permission (§4.2.4: "A cache MUST NOT generate a stale
//   response if it is prohibited by an explicit in-protocol directive (e.g., by a no-cache
//   response directive, a must-revalidate response directive, or an applicable s-maxage or
//   proxy-revalidate response directive)"): request max-stale, stale-while-revalidate, or the
//   operator grace ("configuration in accordance with an out-of-band contract").
// - Decision: grace applies only to responses that had a positive freshness lifetime — it
//   extends cacheable responses, it never makes an uncacheable one servable.
// - Decision: `Pragma: no-cache` in a request without Cache-Control counts as `no-cache`
//   (§5.4 deprecates Pragma; HTTP/1.0 clients still send it to force a reload). Pragma in a
//   response is ignored.
// - A soft purge makes the response stale from the purge time on; stale windows still apply.

/// A stored response as the policy sees it.
public struct CachedResponse<Fields: HTTPFieldReading> {
    public var status: Int
    public var fields: Fields
    /// When the request that produced it was sent (§4.2.3 request_time).
    public var requestTime: Timestamp
    /// When it was received (§4.2.3 response_time).
    public var responseTime: Timestamp
    /// When an operator soft-purged it, if ever.
    public var softPurgedAt: Timestamp?

    public init(status: Int, fields: Fields, requestTime: Timestamp, responseTime: Timestamp,
                softPurgedAt: Timestamp? = nil) {
        self.status = status
        self.fields = fields
        self.requestTime = requestTime
        self.responseTime = responseTime
        self.softPurgedAt = softPurgedAt
    }

    /// The age calculation for this response (§4.2.3).
    public var age: ResponseAge {
        ResponseAge(response: fields, requestTime: requestTime, responseTime: responseTime)
    }
}

extension CachedResponse: Sendable where Fields: Sendable {}
extension CachedResponse: Equatable where Fields: Equatable {}

/// What allowed a stale response to be served.
public enum StalePermission: String, Hashable, Sendable {
    /// The request's max-stale (§5.2.1.2).
    case requestMaxStale
    /// The response's stale-while-revalidate (RFC 5861 §3).
    case staleWhileRevalidate
    /// The operator's grace setting.
    case grace
}

/// How a stored response may be used for a request.
public enum ReuseVerdict: Hashable, Sendable {
    /// Fresh: serve it. `timeToLive` is the remaining freshness (Cache-Status `ttl`).
    case fresh(currentAge: Double, timeToLive: Double)
    /// Stale but servable now; start one background revalidation for the key.
    case staleWhileRevalidate(currentAge: Double, staleness: Double, permission: StalePermission)
    /// It may not be served before a successful validation (§4.3).
    case mustRevalidate(NotCachedReason)

    /// Whether the stored response may be sent without contacting the origin first
    /// (also what `only-if-cached` needs; otherwise answer 504, §5.2.1.7).
    public var servesStoredResponse: Bool {
        if case .mustRevalidate = self { return false }
        return true
    }
}

/// Whether a stale response may be served because the origin failed.
public enum StaleIfErrorVerdict: Hashable, Sendable {
    case allowed(staleness: Double)
    case forbidden(NotCachedReason)
}

/// What a stored response says about its own reuse, derived once when it is stored or updated
/// rather than on every request: what its effective directives (§5.2.2, RFC 9213) say about
/// reuse, its freshness lifetime under the rules (§4.2.1), and its age inputs (§4.2.3). Valid for
/// as long as the stored fields and the rule settings it was derived with stay the same.
/// Plain values only, kept with every stored response: no parsed directive list (which cost each
/// object about 150 bytes of heap) and no string comparison on a hit.
public struct ReuseFacts: Hashable, Sendable {
    /// §5.2.2.4: `no-cache` without field names.
    public var noCacheUnqualified: Bool
    /// §4.2.4: must-revalidate, proxy-revalidate or s-maxage (`forbidsStaleForSharedCache`).
    public var forbidsStale: Bool
    /// RFC 5861 §3: `stale-while-revalidate`'s seconds, when given with a valid value.
    public var staleWhileRevalidate: Int?
    public var lifetime: Double
    public var age: ResponseAge

    /// The facts as derived before (a store that kept them in a form of its own).
    public init(noCacheUnqualified: Bool, forbidsStale: Bool, staleWhileRevalidate: Int?, lifetime: Double, age: ResponseAge) {
        self.noCacheUnqualified = noCacheUnqualified
        self.forbidsStale = forbidsStale
        self.staleWhileRevalidate = staleWhileRevalidate
        self.lifetime = lifetime
        self.age = age
    }

    public init<Fields: HTTPFieldReading>(cached: CachedResponse<Fields>, settings: RuleSettings) {
        let directives = ResponseDirectives(cached.fields, targeting: settings.targeting)
        self.init(directives: directives,
                  lifetime: Freshness.lifetime(status: cached.status, response: cached.fields, directives: directives,
                                               responseTime: cached.responseTime, settings: settings).seconds,
                  age: cached.age)
    }

    /// The facts from directives and a lifetime already derived from the same fields.
    init(directives: ResponseDirectives, lifetime: Double, age: ResponseAge) {
        noCacheUnqualified = directives.control.noCache == .unqualified
        forbidsStale = directives.control.forbidsStaleForSharedCache
        if case .seconds(let window)? = directives.control.staleWhileRevalidate {
            staleWhileRevalidate = window
        } else {
            staleWhileRevalidate = nil
        }
        self.lifetime = lifetime
        self.age = age
    }
}

/// Reuse decisions.
public enum Reuse {
    /// The verdict for serving `cached` to a request with these fields at `now`.
    public static func verdict<Fields: HTTPFieldReading>(cached: CachedResponse<Fields>, request: some HTTPFieldReading,
                                                         settings: RuleSettings, now: Timestamp) -> ReuseVerdict {
        verdict(cached: cached, facts: ReuseFacts(cached: cached, settings: settings), request: request, settings: settings, now: now)
    }

    /// The same, with the stored response's facts derived beforehand (the hit path).
    public static func verdict<Fields: HTTPFieldReading>(cached: CachedResponse<Fields>, facts: ReuseFacts,
                                                         request: some HTTPFieldReading,
                                                         settings: RuleSettings, now: Timestamp) -> ReuseVerdict {
        let requestControl = CacheControl(request)
        // §5.2.1.4: "The no-cache request directive indicates that the client prefers a stored
        // response not be used to satisfy the request without successful validation".
        if requestControl.contains("no-cache")
            || (!request.contains("Cache-Control") && request.listMembers("Pragma").contains { FieldSyntax.namesEqual($0, "no-cache") }) {
            return .mustRevalidate(.requestNoCache)
        }
        // §5.2.2.4: unqualified no-cache — "MUST NOT be used to satisfy any other request without
        // forwarding it for validation and receiving a successful response".
        if facts.noCacheUnqualified { return .mustRevalidate(.responseNoCache) }

        let lifetime = facts.lifetime
        let currentAge = facts.age.currentAge(now: now)
        let staleness = self.staleness(lifetime: lifetime, currentAge: currentAge, softPurgedAt: cached.softPurgedAt, now: now)

        // §5.2.1.1: "the client prefers a response whose age is less than or equal to the
        // specified number of seconds" (an invalid value counts as 0).
        if let maxAge = requestControl.maxAge, currentAge > Double(maxAge.secondsOrZero) {
            return .mustRevalidate(.requestMaxAge)
        }
        if staleness < 0 {
            let timeToLive = -staleness
            // §5.2.1.3: "the client prefers a response whose freshness lifetime is no less than
            // its current age plus the specified time in seconds".
            if case .seconds(let minFresh)? = requestControl.minFresh, timeToLive < Double(minFresh) {
                return .mustRevalidate(.requestMinFresh)
            }
            return .fresh(currentAge: currentAge, timeToLive: timeToLive)
        }
        // Stale from here on.
        if facts.forbidsStale { return .mustRevalidate(.mustRevalidate) }
        // §5.2.1.2: max-stale "indicates that the client will accept a response that has exceeded
        // its freshness lifetime"; without a value, of any staleness.
        switch requestControl.maxStale {
        case .any?:
            return .staleWhileRevalidate(currentAge: currentAge, staleness: staleness, permission: .requestMaxStale)
        case .seconds(let limit)? where staleness <= Double(limit):
            return .staleWhileRevalidate(currentAge: currentAge, staleness: staleness, permission: .requestMaxStale)
        default:
            break
        }
        // RFC 5861 §3: "a cache MAY serve the response in which it appears after it becomes stale,
        // up to the indicated number of seconds", revalidating in the background.
        if let window = facts.staleWhileRevalidate, window > 0, staleness <= Double(window) {
            return .staleWhileRevalidate(currentAge: currentAge, staleness: staleness, permission: .staleWhileRevalidate)
        }
        if lifetime > 0, settings.grace > 0, staleness <= settings.grace {
            return .staleWhileRevalidate(currentAge: currentAge, staleness: staleness, permission: .grace)
        }
        if let purged = cached.softPurgedAt, purged <= now, currentAge < lifetime {
            return .mustRevalidate(.softPurged)
        }
        return .mustRevalidate(.stale)
    }

    /// Whether `cached` may be served because the origin failed (error status, timeout,
    /// unreachable): RFC 5861 §4 stale-if-error on the response or the request, request
    /// max-stale, or grace — never when must-revalidate, proxy-revalidate, s-maxage or
    /// unqualified no-cache forbid serving stale (§4.2.4). A response that is still fresh (the
    /// validation was forced by the request) may always be served.
    public static func staleIfError<Fields: HTTPFieldReading>(cached: CachedResponse<Fields>, request: some HTTPFieldReading,
                                                              settings: RuleSettings, now: Timestamp) -> StaleIfErrorVerdict {
        let requestControl = CacheControl(request)
        let directives = ResponseDirectives(cached.fields, targeting: settings.targeting)
        if directives.control.noCache == .unqualified { return .forbidden(.responseNoCache) }
        let lifetime = Freshness.lifetime(status: cached.status, response: cached.fields, directives: directives,
                                          responseTime: cached.responseTime, settings: settings).seconds
        let currentAge = cached.age.currentAge(now: now)
        let staleness = self.staleness(lifetime: lifetime, currentAge: currentAge, softPurgedAt: cached.softPurgedAt, now: now)
        if staleness < 0 { return .allowed(staleness: 0) }
        if directives.control.forbidsStaleForSharedCache { return .forbidden(.mustRevalidate) }
        var window = 0.0
        if case .seconds(let value)? = directives.control.staleIfError { window = max(window, Double(value)) }
        // RFC 5861 §4: in a request, stale-if-error "indicates that the client is willing to
        // accept a stale response if the check for a fresh one fails".
        if case .seconds(let value)? = requestControl.staleIfError { window = max(window, Double(value)) }
        switch requestControl.maxStale {
        case .any?: window = .infinity
        case .seconds(let value)?: window = max(window, Double(value))
        default: break
        }
        if lifetime > 0 { window = max(window, settings.grace) }
        return window > 0 && staleness <= window ? .allowed(staleness: staleness) : .forbidden(.stale)
    }

    /// RFC 5861 §4: "An error is any situation that would result in a 500, 502, 503, or 504 HTTP
    /// response status code being returned."
    public static func isOriginError(status: Int) -> Bool {
        [500, 502, 503, 504].contains(status)
    }

    /// Whether the request asks for a stored response only (§5.2.1.7); when the verdict does not
    /// serve a stored response, answer 504 with reason `onlyIfCachedMiss`.
    public static func requiresOnlyIfCached(_ request: some HTTPFieldReading) -> Bool {
        CacheControl(request).onlyIfCached
    }

    /// When the stored response stops being fresh, and until when a stale window (stale-while-
    /// revalidate, stale-if-error, grace) may still use it without the origin. The store may keep
    /// it longer only for revalidation.
    public static func expiry<Fields: HTTPFieldReading>(cached: CachedResponse<Fields>,
                                                        settings: RuleSettings) -> (freshUntil: Timestamp, staleUsableUntil: Timestamp) {
        let directives = ResponseDirectives(cached.fields, targeting: settings.targeting)
        let lifetime = Freshness.lifetime(status: cached.status, response: cached.fields, directives: directives,
                                          responseTime: cached.responseTime, settings: settings).seconds
        var freshUntil = cached.responseTime + (lifetime - cached.age.correctedInitialAge)
        if let purged = cached.softPurgedAt { freshUntil = min(freshUntil, purged) }
        guard !directives.control.forbidsStaleForSharedCache, directives.control.noCache != .unqualified else {
            return (freshUntil, freshUntil)
        }
        var window = 0.0
        if case .seconds(let value)? = directives.control.staleWhileRevalidate { window = max(window, Double(value)) }
        if case .seconds(let value)? = directives.control.staleIfError { window = max(window, Double(value)) }
        if lifetime > 0 { window = max(window, settings.grace) }
        return (freshUntil, freshUntil + window)
    }

    /// Seconds past the end of freshness (negative while fresh), counting a soft purge as the end.
    static func staleness(lifetime: Double, currentAge: Double, softPurgedAt: Timestamp?, now: Timestamp) -> Double {
        // §4.2: "response_is_fresh = (freshness_lifetime > current_age)".
        var staleness = currentAge - lifetime
        if let purged = softPurgedAt, purged <= now {
            staleness = max(staleness, now - purged)
        }
        return staleness
    }
}
