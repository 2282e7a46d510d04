// Every counter of the cache engine, declared once, each with one line of doc. The admin API, the
// metrics exporter, the demo and the tests all read these names.
//
// Definitions (docs/CACHING.md):
// - served from cache = hits.fresh + hits.stale + hits.staleIfError + hits.revalidated
//   (every response whose body came from the store, including those revalidated with a 304);
// - request hit ratio = served from cache ÷ lookups (requests that looked the cache up);
// - request hit ratio over all requests = served from cache ÷ requests;
// - byte hit ratio = bytes.fromCache ÷ (bytes.fromCache + bytes.fromOrigin), body bytes sent to clients.
// The storage tiers' own counters (evictions by reason, admission rejections, ghost hits,
// promotions) are declared once in CacheStore's `StorageUsage` and read from the tiers.
import CachePolicy
import NIOConcurrencyHelpers
import Synchronization

public final class Stats: Sendable {
    /// Requests that reached the cache engine, cacheable or not.
    public let requests = Synchronization.Atomic<Int>(0)
    /// Requests that looked the cache up (a cacheable method, not bypassed by a rule or memory).
    public let lookups = Synchronization.Atomic<Int>(0)
    /// Answered from a fresh stored response.
    public let hitsFresh = Synchronization.Atomic<Int>(0)
    /// Answered from a stale stored response that was allowed (stale-while-revalidate, max-stale, grace).
    public let hitsStale = Synchronization.Atomic<Int>(0)
    /// Answered from a stale stored response because the origin failed (stale-if-error, grace).
    public let hitsStaleIfError = Synchronization.Atomic<Int>(0)
    /// Answered from a stored body after the origin confirmed it with 304 Not Modified.
    public let hitsRevalidated = Synchronization.Atomic<Int>(0)
    /// Forwarded because nothing usable was stored, by reason.
    private let missesByReason = ReasonCounters()
    /// Passed to the origin without looking the cache up, by reason.
    private let bypassesByReason = ReasonCounters()
    /// Responses from the origin that were not stored, by reason.
    private let notStoredByReason = ReasonCounters()
    /// Responses stored (new variants and replacements).
    public let stored = Synchronization.Atomic<Int>(0)
    /// Requests that waited on another request's fill instead of going to the origin.
    public let collapsedWaits = Synchronization.Atomic<Int>(0)
    /// Requests that waited on a fill and then had to fetch on their own (lock timeout, Vary, uncacheable).
    public let collapseAbandoned = Synchronization.Atomic<Int>(0)
    /// Requests sent to an origin (fills, revalidations, background revalidations, passes).
    public let originFetches = Synchronization.Atomic<Int>(0)
    /// Background revalidations started for stale-while-revalidate.
    public let backgroundRevalidations = Synchronization.Atomic<Int>(0)
    /// Stored responses read from the disk tier into memory on a memory miss.
    public let diskPromotions = Synchronization.Atomic<Int>(0)
    /// Stored responses removed because an unsafe request invalidated them (RFC 9111 §4.4).
    public let invalidations = Synchronization.Atomic<Int>(0)
    /// Purges an operator asked for (dry runs excluded).
    public let purges = Synchronization.Atomic<Int>(0)
    /// Stored variants removed or marked stale by purges and group invalidations.
    public let purgedVariants = Synchronization.Atomic<Int>(0)
    /// Requests answered 429 because their client was over a rule's request rate.
    public let rateLimited = Synchronization.Atomic<Int>(0)
    /// Connections refused with 429 because their client already held the most allowed.
    public let clientConnectionsRefused = Synchronization.Atomic<Int>(0)
    /// Body bytes sent to clients from the store.
    public let bytesFromCache = Synchronization.Atomic<Int>(0)
    /// Body bytes sent to clients as they came from an origin.
    public let bytesFromOrigin = Synchronization.Atomic<Int>(0)
    /// Response durations by cache outcome, responses by status class, open connections (ResponseMetrics.swift).
    public let responses = ResponseMetrics()
    /// Per-origin requests, failures and fetch durations, for the origins named at start-up.
    public let origins: OriginMetrics
    /// Forward listeners: access decisions and tunnels.
    public let forward = ForwardFigures()

    public init(origins: [String] = []) { self.origins = OriginMetrics(origins: origins) }

    public func countMiss(_ reason: NotCachedReason) { missesByReason.add(reason) }
    public func countBypass(_ reason: NotCachedReason) { bypassesByReason.add(reason) }
    public func countNotStored(_ reason: NotCachedReason) { notStoredByReason.add(reason) }

    /// A consistent-enough copy of every counter (each read is atomic; the set is not a snapshot
    /// of one instant).
    public var snapshot: StatsSnapshot {
        func load(_ atomic: borrowing Synchronization.Atomic<Int>) -> Int { atomic.load(ordering: .relaxed) }
        return StatsSnapshot(
            requests: load(requests), lookups: load(lookups), hitsFresh: load(hitsFresh), hitsStale: load(hitsStale),
            hitsStaleIfError: load(hitsStaleIfError), hitsRevalidated: load(hitsRevalidated),
            missesByReason: missesByReason.values, bypassesByReason: bypassesByReason.values,
            notStoredByReason: notStoredByReason.values, stored: load(stored), collapsedWaits: load(collapsedWaits),
            collapseAbandoned: load(collapseAbandoned), originFetches: load(originFetches),
            backgroundRevalidations: load(backgroundRevalidations), diskPromotions: load(diskPromotions),
            invalidations: load(invalidations), purges: load(purges), purgedVariants: load(purgedVariants),
            rateLimited: load(rateLimited), clientConnectionsRefused: load(clientConnectionsRefused),
            bytesFromCache: load(bytesFromCache), bytesFromOrigin: load(bytesFromOrigin))
    }
}

public struct StatsSnapshot: Sendable, Hashable {
    public var requests, lookups, hitsFresh, hitsStale, hitsStaleIfError, hitsRevalidated: Int
    public var missesByReason, bypassesByReason, notStoredByReason: [NotCachedReason: Int]
    public var stored, collapsedWaits, collapseAbandoned, originFetches, backgroundRevalidations, diskPromotions, invalidations: Int
    public var purges, purgedVariants: Int
    public var rateLimited, clientConnectionsRefused: Int
    public var bytesFromCache, bytesFromOrigin: Int

    public var servedFromCache: Int { hitsFresh + hitsStale + hitsStaleIfError + hitsRevalidated }
    public var misses: Int { missesByReason.values.reduce(0, +) }
    public var bypasses: Int { bypassesByReason.values.reduce(0, +) }
    /// Served from cache ÷ lookups; nil before the first lookup.
    public var requestHitRatio: Double? { lookups > 0 ? Double(servedFromCache) / Double(lookups) : nil }
    /// Served from cache ÷ all requests; nil before the first request.
    public var requestHitRatioOverAll: Double? { requests > 0 ? Double(servedFromCache) / Double(requests) : nil }
    /// Body bytes from the store ÷ all body bytes sent; nil before the first byte.
    public var byteHitRatio: Double? {
        let total = bytesFromCache + bytesFromOrigin
        return total > 0 ? Double(bytesFromCache) / Double(total) : nil
    }
}

/// Counters keyed by reason; one short lock per increment.
final class ReasonCounters: Sendable {
    private let counts = NIOLockedValueBox<[NotCachedReason: Int]>([:])
    func add(_ reason: NotCachedReason) { counts.withLockedValue { $0[reason, default: 0] += 1 } }
    var values: [NotCachedReason: Int] { counts.withLockedValue { $0 } }
}

/// What the forward listeners decided and carried.
public final class ForwardFigures: Sendable {
    /// Requests an access rule allowed.
    public let allowed = Synchronization.Atomic<Int>(0)
    /// Requests answered 407: their rule needs credentials they did not carry.
    public let authenticationRequired = Synchronization.Atomic<Int>(0)
    /// CONNECT tunnels opened, open now, and refused for the per-client cap.
    public let tunnelsOpened = Synchronization.Atomic<Int>(0)
    public let tunnelsOpen = Synchronization.Atomic<Int>(0)
    public let tunnelsRefused = Synchronization.Atomic<Int>(0)
    private let deniedByRule = NIOLockedValueBox<[String: Int]>([:])

    public init() {}

    /// A request answered 403 by `rule`.
    public func denied(_ rule: String) { deniedByRule.withLockedValue { $0[rule, default: 0] += 1 } }

    /// Requests answered 403, by the name of the rule that denied them.
    public var deniedCounts: [String: Int] { deniedByRule.withLockedValue { $0 } }
}
