// The cache engine's counters (declared once, in EngineCounter), its counts by reason, and the
// response, origin and forward figures. The admin API, the metrics exporter, the demo and the
// tests all read them from here.
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
    /// One atomic per EngineCounter (the table of names, help and metric families).
    private let counters = CounterStorage(count: EngineCounter.allCases.count)
    /// Forwarded because nothing usable was stored, by reason.
    private let missesByReason = ReasonCounters()
    /// Passed to the origin without looking the cache up, by reason.
    private let bypassesByReason = ReasonCounters()
    /// Responses from the origin that were not stored, by reason.
    private let notStoredByReason = ReasonCounters()
    /// Response durations by cache outcome, responses by status class, open connections (ResponseMetrics.swift).
    public let responses = ResponseMetrics()
    /// Per-origin requests, failures and fetch durations, for the origins named at start-up.
    public let origins: OriginMetrics
    /// Forward listeners: access decisions and tunnels.
    public let forward = ForwardFigures()

    public init(origins: [String] = []) { self.origins = OriginMetrics(origins: origins) }

    /// Adds `amount` (one by default) to `counter`. Lock-free; on the request path.
    @inline(__always)
    public func count(_ counter: EngineCounter, by amount: Int = 1) { counters.add(counter.rawValue, amount) }

    public subscript(_ counter: EngineCounter) -> Int { counters.load(counter.rawValue) }

    public func countMiss(_ reason: NotCachedReason) { missesByReason.add(reason) }
    public func countBypass(_ reason: NotCachedReason) { bypassesByReason.add(reason) }
    public func countNotStored(_ reason: NotCachedReason) { notStoredByReason.add(reason) }

    /// A consistent-enough copy of every counter (each read is atomic; the set is not a snapshot
    /// of one instant).
    public var snapshot: StatsSnapshot {
        StatsSnapshot(values: EngineCounter.allCases.map { counters.load($0.rawValue) }, missesByReason: missesByReason.values,
                      bypassesByReason: bypassesByReason.values, notStoredByReason: notStoredByReason.values)
    }
}

public struct StatsSnapshot: Sendable, Hashable {
    /// By EngineCounter's raw value.
    private var values: [Int]
    public var missesByReason, bypassesByReason, notStoredByReason: [NotCachedReason: Int]

    public init(values: [Int] = Array(repeating: 0, count: EngineCounter.allCases.count), missesByReason: [NotCachedReason: Int] = [:],
                bypassesByReason: [NotCachedReason: Int] = [:], notStoredByReason: [NotCachedReason: Int] = [:]) {
        self.values = values
        self.missesByReason = missesByReason
        self.bypassesByReason = bypassesByReason
        self.notStoredByReason = notStoredByReason
    }

    public subscript(_ counter: EngineCounter) -> Int {
        get { values[counter.rawValue] }
        set { values[counter.rawValue] = newValue }
    }

    public var servedFromCache: Int { self[.hitsFresh] + self[.hitsStale] + self[.hitsStaleIfError] + self[.hitsRevalidated] }
    public var misses: Int { missesByReason.values.reduce(0, +) }
    public var bypasses: Int { bypassesByReason.values.reduce(0, +) }
    /// Served from cache ÷ lookups; nil before the first lookup.
    public var requestHitRatio: Double? { self[.lookups] > 0 ? Double(servedFromCache) / Double(self[.lookups]) : nil }
    /// Served from cache ÷ all requests; nil before the first request.
    public var requestHitRatioOverAll: Double? { self[.requests] > 0 ? Double(servedFromCache) / Double(self[.requests]) : nil }
    /// Body bytes from the store ÷ all body bytes sent; nil before the first byte.
    public var byteHitRatio: Double? {
        let total = self[.bytesFromCache] + self[.bytesFromOrigin]
        return total > 0 ? Double(self[.bytesFromCache]) / Double(total) : nil
    }
}

/// Atomic counters in one allocation, addressed by index.
final class CounterStorage: @unchecked Sendable {
    private let base: UnsafeMutablePointer<Synchronization.Atomic<Int>>
    private let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: count)
        for index in 0..<count { (base + index).initialize(to: Synchronization.Atomic(0)) }
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    @inline(__always)
    func add(_ index: Int, _ amount: Int) { base[index].add(amount, ordering: .relaxed) }

    func load(_ index: Int) -> Int { base[index].load(ordering: .relaxed) }
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
