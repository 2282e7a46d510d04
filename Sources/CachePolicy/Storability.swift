// Storability: may this response be stored by a shared cache (RFC 9111 §3, §3.5), and if so,
// under which plan (lifetime, fields to leave out).
//
// Invariants: every refusal names its reason; checks run in a fixed order so the reason is the
// most specific one (rules, then method, then request, then status, then response directives).
// Decision on `Vary: *`: "A stored response with a Vary header field value containing a member
// "*" always fails to match" (§4.1), so such a response is not stored at all (`varyStar`).
// Decision on responses nobody could ever reuse: a response with no freshness lifetime, no
// validator and no stale-while-revalidate / stale-if-error window is not stored
// (`noFreshnessInformation`); with unqualified `no-cache` and no validator, `responseNoCache`.

/// How a storable response is stored.
public struct StoragePlan: Hashable, Sendable {
    /// The response's freshness lifetime under the current rules.
    public var lifetime: FreshnessLifetime
    /// The directives that governed the decision.
    public var directives: ResponseDirectives
    /// Lower-cased names of fields never served from the cache: `private="…"` (§5.2.2.7: "a shared
    /// cache MUST NOT store the specified field names"), `no-cache="…"` (§5.2.2.4: dropping them
    /// means they are never served without validation) and Set-Cookie when the rules say so.
    public var omittedFields: [String]
    /// Unqualified `no-cache`: every reuse needs a successful validation first (§5.2.2.4).
    public var revalidatesEachUse: Bool

    /// The fields to store: without hop-by-hop fields (§3.1) and without `omittedFields`.
    public func storedFields(from response: HeaderFields) -> HeaderFields {
        var fields = HopByHop.removing(from: response)
        fields.remove(names: omittedFields)
        return fields
    }

    /// The fields to store from fields whose hop-by-hop lines are already removed (what the
    /// plan was decided on, see `Storability.decide`): without `omittedFields`.
    public func storedFields(fromEndToEnd fields: HeaderFields) -> HeaderFields {
        guard !omittedFields.isEmpty else { return fields }
        var kept = fields
        kept.remove(names: omittedFields)
        return kept
    }

    /// The reuse facts of `stored`, the response this plan was decided on, stored with
    /// `storedFields(fromEndToEnd:)` and received at the `responseTime` given to `decide`. Taken
    /// from the plan when no field was omitted (the stored fields are then the decided ones, so
    /// directives and lifetime are the same); derived from the stored fields otherwise.
    public func reuseFacts<Fields: HTTPFieldReading>(of stored: CachedResponse<Fields>, settings: RuleSettings) -> ReuseFacts {
        guard omittedFields.isEmpty else { return ReuseFacts(cached: stored, settings: settings) }
        return ReuseFacts(directives: directives, lifetime: lifetime.seconds, age: stored.age)
    }
}

/// The storage decision for one response.
public enum Storability: Hashable, Sendable {
    case storable(StoragePlan)
    case notStorable(NotCachedReason)

    /// Status codes whose caching requirements this cache implements (for `must-understand`,
    /// §5.2.2.3).
    public static let understoodStatuses: Set<Int> = [200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 451, 501]

    /// Whether a request may be answered from the cache at all (before any lookup). Nil when it
    /// may; a request with `no-store` may still be answered from the cache (§5.2.1.5 forbids only
    /// storing).
    public static func requestMayUseCache(method: String, settings: RuleSettings) -> NotCachedReason? {
        if settings.bypass != nil { return .ruleBypass }
        if MethodClass(method: method) == nil { return .methodNotCacheable }
        return nil
    }

    /// Decides whether a response to `method` may be stored (RFC 9111 §3). `response` is
    /// best given without its hop-by-hop lines (RFC 9110 §7.6.1: a proxy removes them, and those
    /// its Connection field names, before it acts on the message; `HopByHop.removing`).
    public static func decide(method: String, request: some HTTPFieldReading, status: Int,
                              response: some HTTPFieldReading, responseTime: Timestamp,
                              settings: RuleSettings) -> Storability {
        if settings.bypass != nil { return .notStorable(.ruleBypass) }
        // §3: "the request method is understood by the cache" — GET only (HEAD responses only
        // update stored GET responses, §4.3.5).
        guard method == "GET" else { return .notStorable(.methodNotCacheable) }
        // §5.2.1.5: no-store in a request: "a cache MUST NOT store any part of either this request
        // or any response to it".
        if CacheControl(request).noStore { return .notStorable(.requestNoStore) }
        // §3: "the response status code is final"; §3.3/3.4: 206 only with range support (none here);
        // a 304 updates a stored response (§4.3.4) and is never stored in its own right.
        if status == 206 { return .notStorable(.partialContent) }
        if status < 200 || status == 304 || status > 999 { return .notStorable(.statusNotCacheable) }

        let directives = ResponseDirectives(response, targeting: settings.targeting)
        let control = directives.control
        // §5.2.2.3: with must-understand, store only if the status code is understood, and then
        // "the cache SHOULD ignore the no-store directive".
        var noStoreApplies = control.noStore
        if control.mustUnderstand {
            guard understoodStatuses.contains(status) else { return .notStorable(.mustUnderstandUnknownStatus) }
            noStoreApplies = false
        }
        if noStoreApplies { return .notStorable(.responseNoStore) }
        // §5.2.2.7: unqualified private — "a shared cache MUST NOT store the response".
        if control.private == .unqualified { return .notStorable(.responsePrivate) }
        // §3.5: "A shared cache MUST NOT use a cached response to a request with an Authorization
        // header field ... unless" public, s-maxage or must-revalidate allows it.
        if request.contains("Authorization"), !(control.public || control.sharedMaxAge != nil || control.mustRevalidate) {
            return .notStorable(.authorizationWithoutPermission)
        }
        if response.listMembers("Vary").contains("*") { return .notStorable(.varyStar) }
        var omitted: [String] = []
        if response.contains("Set-Cookie") {
            switch settings.setCookie {
            case .doNotStore: return .notStorable(.setCookie)
            case .omitField: omitted.append("set-cookie")
            case .store: break
            }
        }
        if let length = response.fieldValues("Content-Length").first.flatMap({ Int(FieldSyntax.trimmed($0)) }),
           length > settings.maxObjectSize {
            return .notStorable(.tooLarge)
        }
        // §3: the response has explicit freshness, public, a heuristically cacheable status, or
        // "a cache extension that allows it to be cached" (here: the rules' forced / status TTL).
        let explicit = control.sharedMaxAge != nil || control.maxAge != nil
            || (directives.usesExpires && response.contains("Expires"))
        let byRule = settings.forceTTL != nil || settings.statusTTLs[status] != nil
        guard explicit || control.public || byRule || Freshness.heuristicallyCacheableStatuses.contains(status) else {
            return .notStorable(.statusNotCacheable)
        }
        let lifetime = Freshness.lifetime(status: status, response: response, directives: directives,
                                          responseTime: responseTime, settings: settings)
        let hasValidator = response.contains("ETag") || response.contains("Last-Modified")
        var revalidatesEachUse = false
        switch control.noCache {
        case .unqualified?:
            // §5.2.2.4: storable, but "MUST NOT be used to satisfy any other request without
            // forwarding it for validation" — useless without a validator.
            guard hasValidator else { return .notStorable(.responseNoCache) }
            revalidatesEachUse = true
        case .fields(let names)?:
            omitted.append(contentsOf: names)
        case nil:
            break
        }
        if case .fields(let names)? = control.private { omitted.append(contentsOf: names) }
        let staleWindow = control.forbidsStaleForSharedCache ? 0
            : max(control.staleWhileRevalidate?.secondsOrZero ?? 0, control.staleIfError?.secondsOrZero ?? 0)
        if lifetime.seconds <= 0, !hasValidator, staleWindow <= 0 {
            return .notStorable(.noFreshnessInformation)
        }
        var unique: [String] = []
        for name in omitted where !unique.contains(name) { unique.append(name) }
        return .storable(StoragePlan(lifetime: lifetime, directives: directives, omittedFields: unique,
                                     revalidatesEachUse: revalidatesEachUse))
    }

    /// Checks a body once it has been received (§3.3: an incomplete response "MUST NOT" be
    /// stored or served as complete). Nil when it may be stored.
    ///
    /// - Parameters:
    ///   - receivedLength: bytes received.
    ///   - contentLength: the declared Content-Length, when the message had one.
    ///   - ended: whether the message ended properly (Content-Length reached, the chunked stream's
    ///     last chunk seen); false when the connection closed early.
    public static func completedBody(receivedLength: Int, contentLength: Int?, ended: Bool,
                                     settings: RuleSettings) -> NotCachedReason? {
        if !ended { return .bodyIncomplete }
        if let contentLength, contentLength != receivedLength { return .bodyIncomplete }
        if receivedLength > settings.maxObjectSize { return .tooLarge }
        return nil
    }
}
