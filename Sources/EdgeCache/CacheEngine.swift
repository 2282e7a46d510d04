// The cache engine: for each request, the first phase of its cache transaction — key, lookup,
// verdict — returned as a decision the front carries out. Every non-hit names its reason, which
// shows in Cache-Status, the access log and the counters. Lookups touch only the storage's
// in-memory side; nothing here blocks.
import CachePolicy
import CacheStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import OriginClient

public struct CacheConfiguration: Sendable {
    /// The operator rules (cache-policy/default.yaml unless --policy names another file).
    public var rules = PolicyRules()
    /// The cache's name in Cache-Status (RFC 9211 §2).
    public var cacheName = "Outpost"
    /// How long a request waits on another request's fill for the response head before it
    /// fetches on its own.
    public var collapseTimeout: TimeAmount = .seconds(10)
    /// The most requests that wait on one fill; more fetch on their own.
    public var maximumWaitersPerKey = 4_096
    /// How long a key whose response was not storable is remembered as such.
    public var uncacheableMemorySeconds = 30.0
    /// The engine's clock; tests move a ManualClock instead of sleeping past a TTL.
    public var clock: any CacheClock = WallClock()

    public init() {}
}

/// The facts of a request the engine decides on.
public struct CacheRequest: Sendable {
    public var method: HTTPMethod
    public var target: String
    public var headers: HTTPHeaders
    public var hasBody: Bool
    public var scheme: String
    /// A forward listener's request: fetched from `destination` (the host its URL names, not the
    /// node's origins) and keyed apart (`PrimaryKey.forward`), so reverse and forward traffic for
    /// the same URL never share an entry.
    public var destination: (any OriginFetching)?

    public init(method: HTTPMethod, target: String, headers: HTTPHeaders, hasBody: Bool, scheme: String = "http",
                destination: (any OriginFetching)? = nil) {
        self.method = method
        self.target = target
        self.headers = headers
        self.hasBody = hasBody
        self.scheme = scheme
        self.destination = destination
    }

    func primaryKey(settings: RuleSettings) -> String {
        let key = PrimaryKey.make(methodClass: .retrieval, scheme: scheme, host: host, pathAndQuery: target, settings: settings)
        return destination == nil ? key : PrimaryKey.forward(key)
    }

    var host: String { headers.first(name: "host") ?? "" }
    var path: Substring {
        guard let query = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return target[...] }
        return target[..<query]
    }
    var isHead: Bool { method == .HEAD }
}

/// What to do with a request.
public enum CacheDecision: Sendable {
    /// Answer from the store without contacting the origin.
    case serveStored(StoredAnswer)
    /// Answer 304 Not Modified from the store: the client's validators match (RFC 9111 §4.3.2).
    case notModified(StoredAnswer)
    /// `only-if-cached` and nothing servable (RFC 9111 §5.2.1.7): 504.
    case onlyIfCachedMiss
    /// Go to the origin through the fill of this key (a miss or a revalidation).
    case fill(FillPlan)
    /// Forward without the cache; `invalidates` for unsafe methods (RFC 9111 §4.4).
    case pass(NotCachedReason, invalidates: Bool, remembered: NotCachedReason?)
    /// Nothing usable in memory: read the key's variants from the disk tier (off the event
    /// loop), `promote` them, and decide again with `diskConsulted: true`.
    case consultDisk(key: String)
}

/// A stored response chosen to answer a request.
public struct StoredAnswer: Sendable {
    public var entry: StoredEntry
    public var currentAge: Double
    public var cacheStatus: CacheStatus
    /// Set when the answer was stale: revalidate in the background (once per key).
    public var backgroundRevalidation: FillPlan?
}

/// Everything a fill needs: the key, the requester's view of it, and the stored response to
/// validate, if any.
public struct FillPlan: Sendable {
    public var key: String
    public var url: String
    public var host: String
    public var settings: RuleSettings
    /// Why the request was forwarded (Cache-Status fwd and detail, the miss counter).
    public var reason: NotCachedReason
    /// The stored response a conditional request validates (RFC 9111 §4.3.1), if any.
    public var validating: StoredEntry?
    /// The requester's fields, for storability (§3) and its variant (§4.1).
    public var requestHeaders: HTTPHeaders
    public var isHead: Bool
    /// Where a forward listener's fill goes (nil: the node's origins).
    public var destination: (any OriginFetching)?

    /// The headers for the origin: the forwarded ones, without the client's own validators and
    /// ranges (the cache wants a full response it can store), with the cache's validators, and
    /// Accept-Encoding normalised when the key is.
    public func originHeaders(from forwarded: HTTPHeaders) -> HTTPHeaders {
        var headers = forwarded
        // One pass finds which of the client's own fields are there (on most misses none is);
        // only those are then removed, each removal a pass of its own.
        var present: [String] = []
        var acceptsEncodings = false
        for (name, _) in forwarded {
            if let member = Self.clientOnlyFields.member(name), !present.contains(member) { present.append(member) }
            if FieldSyntax.namesEqual(name, "accept-encoding") { acceptsEncodings = true }
        }
        for name in present { headers.remove(name: name) }
        if let validating {
            for field in Validation.conditionalFields(stored: [validating.response.fields]).fields {
                headers.replaceOrAdd(name: field.name, value: field.value)
            }
        }
        if settings.key.normaliseAcceptEncoding, acceptsEncodings {
            headers.replaceOrAdd(name: "accept-encoding", value: Variants.preferredEncoding(acceptEncoding: headers["accept-encoding"]))
        }
        return headers
    }

    /// The client's validators and ranges, never sent on a fill (RFC 9111 §4.3.1: the cache
    /// sends its own validators; a range would leave it a part it cannot store whole).
    private static let clientOnlyFields = FieldNameSet(
        ["if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range", "range"])
}

public final class CacheEngine: Sendable {
    public let configuration: CacheConfiguration
    public let storage: any CacheStorage
    public let stats: Stats
    /// Requests, hits and bytes per host.
    public let hosts = HostTraffic()
    public let uncacheable: UncacheableMemory
    public let fills: FillCoordinator
    /// The disk tier behind the memory tier, if the node has one.
    public let disk: DiskAccess?
    let logger: Logger
    /// Held by reference, so reading the rules on the request path costs a lock and a retain,
    /// not a copy of every rule.
    public final class CurrentRules: Sendable {
        public let rules: PolicyRules
        init(_ rules: PolicyRules) { self.rules = rules }
    }

    private let liveRules: NIOLockedValueBox<CurrentRules>

    /// The operator rules in force: `configuration.rules` until a reload replaces them. Read
    /// it once per request (`current.rules.…`): a reload then never shows one request two versions.
    public var currentRules: CurrentRules { liveRules.withLockedValue { $0 } }

    /// The rules in force, as a value (see `currentRules` on the request path).
    public var rules: PolicyRules { currentRules.rules }

    /// Applies new rules to every request decided from now on (SIGHUP, `outpostctl reload`).
    /// Stored responses keep their stored facts; their freshness is judged by the new rules.
    public func replaceRules(_ rules: PolicyRules) {
        let replacement = CurrentRules(rules)
        liveRules.withLockedValue { $0 = replacement }
    }

    public init(configuration: CacheConfiguration, storage: any CacheStorage, disk: DiskAccess? = nil, origin: any OriginFetching,
                logger: Logger) {
        self.configuration = configuration
        self.liveRules = NIOLockedValueBox(CurrentRules(configuration.rules))
        self.storage = storage
        self.disk = disk
        self.logger = logger
        let stats = Stats(origins: origin.originNames)
        self.stats = stats
        let uncacheable = UncacheableMemory(duration: configuration.uncacheableMemorySeconds)
        self.uncacheable = uncacheable
        self.fills = FillCoordinator(origin: origin, storage: storage, disk: disk, stats: stats, uncacheable: uncacheable,
                                     clock: configuration.clock, maximumWaiters: configuration.maximumWaitersPerKey,
                                     collapseTimeout: configuration.collapseTimeout, logger: logger)
    }

    /// The first phase of a request's cache transaction.
    /// `diskEntries`: after `consultDisk`, the variants it read that memory cannot hold; they
    /// are looked up beside memory's, and served from the buffer they were read into or
    /// streamed from their files.
    public func decide(_ request: CacheRequest, now: Timestamp, diskConsulted: Bool = false,
                       diskEntries: [StoredEntry] = []) -> CacheDecision {
        if !diskConsulted { stats.count(.requests) }
        let method = request.method.rawValue
        let current = currentRules
        let settings = current.rules.settings(host: PrimaryKey.hostWithoutPort(request.host), path: String(request.path))
        guard MethodClass(method: method) != nil, !request.hasBody else {
            stats.countBypass(.methodNotCacheable)
            return .pass(.methodNotCacheable, invalidates: !Invalidation.isSafe(method: method), remembered: nil)
        }
        if let reason = Storability.requestMayUseCache(method: method, settings: settings) {
            stats.countBypass(reason)
            if reason == .ruleBypass {
                // For `GET /entry?url=`: this URL is never stored, and the rule is why.
                uncacheable.declined(request.primaryKey(settings: settings), reason: reason, now: now)
            }
            return .pass(reason, invalidates: false, remembered: nil)
        }
        let key = request.primaryKey(settings: settings)
        var variants = storage.variants(for: key)
        if !diskEntries.isEmpty { variants += diskEntries.filter { $0.response.key == key } }
        let matching = variants.first { entry in
            Variants.secondaryKey(vary: entry.response.varyFieldNames, request: request.headers,
                                  normaliseAcceptEncoding: settings.key.normaliseAcceptEncoding) == entry.response.variantKey
        }
        // Built only off the fresh-hit path: a hit needs no plan, and its URL costs an allocation.
        func makePlan() -> FillPlan {
            FillPlan(key: key, url: "\(request.scheme)://\(request.host)\(request.target)", host: request.host,
                     settings: settings, reason: variants.isEmpty ? .noStoredResponse : .varyMismatch,
                     validating: nil, requestHeaders: request.headers, isHead: request.isHead, destination: request.destination)
        }
        let onlyIfCached = Reuse.requiresOnlyIfCached(request.headers)
        guard let entry = matching else {
            if let remembered = uncacheable.reason(for: key, now: now) {
                // Known not to be storable: not a lookup, a bypass (docs/CACHING.md).
                stats.countBypass(.uncacheableRemembered)
                return .pass(.uncacheableRemembered, invalidates: false, remembered: remembered)
            }
            if let disk, !diskConsulted, disk.mayHold(key: key) { return .consultDisk(key: key) }
            stats.count(.lookups)
            if onlyIfCached {
                stats.countMiss(.onlyIfCachedMiss)
                return .onlyIfCachedMiss
            }
            let plan = makePlan()
            stats.countMiss(plan.reason)
            return .fill(plan)
        }
        stats.count(.lookups)
        let cached = entry.response.cached
        let facts = entry.response.reuseFacts ?? ReuseFacts(cached: cached, settings: settings)
        switch Reuse.verdict(cached: cached, facts: facts, request: request.headers, settings: settings, now: now) {
        case .fresh(let currentAge, let timeToLive):
            stats.count(.hitsFresh)
            let answer = StoredAnswer(entry: entry, currentAge: currentAge,
                                      cacheStatus: .hit(cacheName: configuration.cacheName, timeToLive: timeToLive))
            return conditional(answer, request: request)
        case .staleWhileRevalidate(let currentAge, let staleness, let permission):
            stats.count(.hitsStale)
            var plan = makePlan()
            plan.reason = .stale
            plan.validating = Self.validatable(entry)
            let detail = permission == .staleWhileRevalidate ? "stale-while-revalidate" : permission == .grace ? "grace" : "max-stale"
            let answer = StoredAnswer(entry: entry, currentAge: currentAge,
                                      cacheStatus: .hit(cacheName: configuration.cacheName, timeToLive: -staleness, detail: detail),
                                      backgroundRevalidation: plan)
            return conditional(answer, request: request)
        case .mustRevalidate(let reason):
            if onlyIfCached {
                stats.countMiss(.onlyIfCachedMiss)
                return .onlyIfCachedMiss
            }
            var plan = makePlan()
            plan.reason = reason
            plan.validating = Self.validatable(entry)
            stats.countMiss(reason)
            return .fill(plan)
        }
    }

    /// The stored response a fill may validate (RFC 9111 §4.3.1): not one whose body was left in
    /// its file. A fill hands a 304's or stale-if-error's stored body to its subscribers whole,
    /// and such a body is never held whole; the fill fetches the response unconditionally instead
    /// (documented in docs/CACHING.md).
    private static func validatable(_ entry: StoredEntry) -> StoredEntry? {
        entry.bodyFile == nil ? entry : nil
    }

    /// RFC 9111 §4.3.2: a client's own conditional request is answered from the stored response.
    private func conditional(_ answer: StoredAnswer, request: CacheRequest) -> CacheDecision {
        let outcome = ConditionalRequest.evaluate(
            method: request.method.rawValue, request: request.headers, storedStatus: answer.entry.response.status,
            stored: answer.entry.response.fields, storedResponseTime: answer.entry.response.responseTime)
        return outcome == .notModified ? .notModified(answer) : .serveStored(answer)
    }

    /// RFC 9111 §4.4: after a non-error response to an unsafe request, the stored responses for
    /// its target — and for Location / Content-Location on the same origin — are invalid.
    public func invalidate(after request: CacheRequest, status: Int, response: HTTPHeaders) {
        let target = RequestTarget(scheme: request.scheme, authority: request.host, pathAndQuery: request.target)
        let effect = Invalidation.effect(method: request.method.rawValue, status: status, target: target, response: response)
        for invalid in effect.targets {
            let settings = rules.settings(host: PrimaryKey.hostWithoutPort(invalid.authority),
                                                        path: String(invalid.pathAndQuery.prefix { $0 != "?" }))
            let key = PrimaryKey.make(methodClass: .retrieval, scheme: invalid.scheme, host: invalid.authority,
                                      pathAndQuery: invalid.pathAndQuery, settings: settings)
            disk?.remove(key: key)
            let removed = storage.remove(key: key)
            if removed > 0 {
                stats.count(.invalidations, by: removed)
                logger.debug("invalidated", metadata: ["key": "\(key)", "by": "\(request.method.rawValue) \(request.target)"])
            }
        }
        // RFC 9875 §3: the groups, within the target's origin only.
        for group in effect.groups {
            let selection = PurgeSelection.group(group, origin: target.origin)
            disk?.purgeLater(selection)
            let removed = storage.purge(selection, action: .remove).count
            if removed > 0 {
                stats.count(.invalidations, by: removed)
                logger.debug("invalidated group", metadata: ["group": "\(group)", "by": "\(request.method.rawValue) \(request.target)"])
            }
        }
    }

    /// The primary key of an absolute http(s) URL under this node's rules; nil when `url` is not one.
    public func key(forURL url: String) -> String? {
        guard let target = Invalidation.resolve(url, against: RequestTarget(scheme: "http", authority: "invalid", pathAndQuery: "/")),
              url.lowercased().hasPrefix(target.scheme + "://")
        else { return nil }
        let settings = rules.settings(host: PrimaryKey.hostWithoutPort(target.authority),
                                                    path: String(target.pathAndQuery.prefix { $0 != "?" }))
        return PrimaryKey.make(methodClass: .retrieval, scheme: target.scheme, host: target.authority,
                               pathAndQuery: target.pathAndQuery, settings: settings)
    }

    /// The rules' settings for a stored URL (for listing its freshness under this node's rules).
    public func settings(forURL url: String) -> RuleSettings {
        let path = PurgeSelection.path(of: url).prefix { $0 != "?" }
        let host = url.range(of: "://").map { url[$0.upperBound...].prefix { $0 != "/" && $0 != "?" } } ?? ""
        return rules.settings(host: PrimaryKey.hostWithoutPort(String(host)), path: String(path))
    }

    /// Reads `key`'s variants from the disk tier off the event loop and promotes them into
    /// memory; the returned future completes when memory holds what the disk had, and the
    /// request can be decided again with `diskConsulted: true` and, as `diskEntries`, the
    /// variants the future brings: those too large for memory, read whole or (over the disk
    /// access's `wholeBodyLimit`) left in their files, to be served once.
    /// Requests for one key while its read is under way share that read and its promotion.
    public func consultDisk(key: String, on eventLoop: any EventLoop) -> EventLoopFuture<[StoredEntry]> {
        guard let disk else { return eventLoop.makeSucceededFuture([]) }
        let generation = fills.purgeFence.current
        return disk.consult(key: key, on: eventLoop) { [self] entries in promote(entries, readSince: generation).tooLarge }
    }

    /// Puts variants read from disk into the memory tier, so this request and the next are
    /// answered from memory. A variant that a purge since `generation` (the purge fence's, taken
    /// before the read) selects is left out: the purge may have passed memory and disk while
    /// it was being read, and promoting it would bring it back. Nor does a promotion replace a
    /// variant memory holds from the same response or a later one (a fill that committed while
    /// the disk was read, or an earlier promotion).
    /// Returns how many variants it promoted, and those memory cannot hold.
    @discardableResult
    func promote(_ entries: [StoredEntry], readSince generation: Int) -> (promoted: Int, tooLarge: [StoredEntry]) {
        guard let key = entries.first?.response.key else { return (0, []) }
        var promoted = 0
        var tooLarge: [StoredEntry] = []
        let held = storage.variants(for: key)
        for var entry in entries where !fills.purgeFence.supersedes(entry.response, startedAt: generation) {
            let response = entry.response
            if entry.bodyFile != nil {
                // Left in its file as too large to read whole: streamed, never promoted.
                tooLarge.append(entry)
                continue
            }
            if held.contains(where: { $0.response.variantKey == response.variantKey && $0.response.responseTime >= response.responseTime }) {
                continue
            }
            if entry.response.reuseFacts == nil {
                // Derived facts are not persisted: derive them again under this node's rules.
                entry.response.reuseFacts = ReuseFacts(cached: entry.response.cached, settings: settings(forURL: entry.response.url))
            }
            let fill = storage.beginFill(entry.response)
            if fill.append(entry.body), fill.commit() {
                stats.count(.diskPromotions)
                promoted += 1
            } else {
                fill.abandon()
                tooLarge.append(entry)
            }
        }
        return (promoted, tooLarge)
    }
}
