// The request-path figures behind /metrics that are not plain counters: response durations by
// cache outcome, responses by status class, open connections per listener, and per-origin
// requests, failures and fetch durations. Everything here is recorded from event loops without a
// lock or an allocation: each cell is an atomic allocated once, and histograms have fixed buckets
// (`LatencyHistogram.bounds`). The metric names and help texts live in AdminHTTP's MetricFamilies.
//
// Invariant: every value only grows, except the open-connection gauges, which go up when a
// connection is accepted and down exactly once when it closes.
import CachePolicy
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import OriginClient
import Synchronization

/// One atomic integer on its own, so that fixed sets of them can sit in an array.
public final class AtomicCell: Sendable {
    public let value = Synchronization.Atomic<Int>(0)
    public init() {}
    @inline(__always) public func add(_ amount: Int) { value.add(amount, ordering: .relaxed) }
    public var load: Int { value.load(ordering: .relaxed) }
}

/// A histogram of durations with fixed buckets: one atomic per bucket plus the sum in nanoseconds.
public final class LatencyHistogram: Sendable {
    /// Upper bounds in seconds, from half a millisecond (a memory hit) to half a minute (a slow origin).
    public static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    private static let boundNanoseconds: [Int64] = bounds.map { Int64($0 * 1e9) }
    /// `bounds.count + 1` cells; the last counts what no bound holds (+Inf).
    private let buckets: [AtomicCell] = (0...LatencyHistogram.bounds.count).map { _ in AtomicCell() }
    private let sumNanoseconds = AtomicCell()

    public init() {}

    public func observe(_ elapsed: TimeAmount) {
        let nanoseconds = max(0, elapsed.nanoseconds)
        var index = 0
        let limits = Self.boundNanoseconds
        while index < limits.count && nanoseconds > limits[index] { index += 1 }
        buckets[index].add(1)
        sumNanoseconds.add(Int(nanoseconds))
    }

    public var snapshot: HistogramSnapshot {
        var cumulative: [Int] = []
        cumulative.reserveCapacity(buckets.count)
        var running = 0
        for bucket in buckets {
            running += bucket.load
            cumulative.append(running)
        }
        return HistogramSnapshot(bounds: Self.bounds, cumulativeCounts: cumulative, sumSeconds: Double(sumNanoseconds.load) / 1e9)
    }
}

/// A histogram read out: `cumulativeCounts[i]` observations at most `bounds[i]`; the last entry
/// (one past the bounds) is the total count.
public struct HistogramSnapshot: Sendable, Hashable {
    public var bounds: [Double]
    public var cumulativeCounts: [Int]
    public var sumSeconds: Double
    public var count: Int { cumulativeCounts.last ?? 0 }
}

/// What the cache did for a response, as a metric label: the Cache-Status reduced to a few values.
public enum CacheOutcome: Int, Sendable, CaseIterable {
    /// Served fresh from the store.
    case hit
    /// Served stale from the store (stale-while-revalidate, max-stale, grace, stale-if-error).
    case stale
    /// The stored response was confirmed by the origin with 304 and served.
    case revalidated
    /// Went to the origin through a fill (a miss, or a stored response that could not be used).
    case miss
    /// Passed to the origin without the cache (a method, a rule, a remembered uncacheable key).
    case pass
    /// The node answered itself before any cache decision (a refused or malformed request).
    case none

    public var label: String {
        switch self {
        case .hit: "hit"
        case .stale: "stale"
        case .revalidated: "revalidated"
        case .miss: "miss"
        case .pass: "pass"
        case .none: "none"
        }
    }

    public init(_ status: CacheStatus?) {
        guard let status else { self = .none; return }
        if status.hit {
            self = (status.timeToLive ?? 0) < 0 ? .stale : .hit
            return
        }
        switch status.forward {
        case nil: self = .none
        case .bypass?, .method?: self = .pass
        case .stale?:
            if status.detail == "stale-if-error" { self = .stale } else { self = status.forwardStatus == 304 ? .revalidated : .miss }
        default: self = .miss
        }
    }
}

/// Response durations and status classes, recorded once per finished exchange (the access log's
/// moment), and open connections per listener.
public final class ResponseMetrics: Sendable {
    /// Durations from the request head to the response's end, by cache outcome.
    private let durations: [LatencyHistogram] = CacheOutcome.allCases.map { _ in LatencyHistogram() }
    /// Responses by status class: index 0 is 1xx … 4 is 5xx; 5 counts requests that got no response.
    private let statusClasses: [AtomicCell] = (0...5).map { _ in AtomicCell() }
    /// Open client connections on the public listener.
    public let openPublicConnections = AtomicCell()
    /// Open connections on the admin listener.
    public let openAdminConnections = AtomicCell()

    public init() {}

    public func record(outcome: CacheOutcome, status: UInt?, elapsed: TimeAmount) {
        durations[outcome.rawValue].observe(elapsed)
        let index = status.map { (1...5).contains($0 / 100) ? Int($0 / 100) - 1 : 5 } ?? 5
        statusClasses[index].add(1)
    }

    public func duration(_ outcome: CacheOutcome) -> HistogramSnapshot { durations[outcome.rawValue].snapshot }

    /// Responses by class label ("1xx" … "5xx", and "none" for a request that got no response).
    public var responsesByStatusClass: [(label: String, count: Int)] {
        ["1xx", "2xx", "3xx", "4xx", "5xx", "none"].enumerated().map { ($1, statusClasses[$0].load) }
    }
}

/// Per-origin requests, failures and fetch durations, for the origins configured at start-up.
public final class OriginMetrics: Sendable {
    public final class Meter: Sendable {
        public let origin: String
        /// Calls that reached this origin and ended, with a response or a failure.
        public let requests = AtomicCell()
        /// Calls to this origin that failed (connect, timeout, broken response).
        public let failures = AtomicCell()
        /// From the call's start to its last body byte (or its failure).
        public let durations = LatencyHistogram()
        init(origin: String) { self.origin = origin }
    }

    private let all: NIOLockedValueBox<[Meter]>

    /// One meter per origin ever configured, in the order first seen (a reload that adds
    /// origins adds meters; the series of removed ones stay, as counters must).
    public var meters: [Meter] { all.withLockedValue { $0 } }

    public init(origins: [String]) { all = NIOLockedValueBox(origins.map(Meter.init)) }

    func meter(_ origin: OriginServer) -> Meter? {
        let name = origin.description
        return all.withLockedValue { meters in
            if let meter = meters.first(where: { $0.origin == name }) { return meter }
            let meter = Meter(origin: name)
            meters.append(meter)
            return meter
        }
    }

    /// Wraps a handler of an origin call so the call is counted and timed when it ends.
    public func metered(_ handler: any OriginResponseHandling) -> any OriginResponseHandling {
        MeteredOriginCall(inner: handler, metrics: self)
    }
}

/// Forwards every event of an origin call to `inner`, and records the call when it ends.
/// Confined to the call's event loop, like the handler it wraps.
final class MeteredOriginCall: OriginResponseHandling, @unchecked Sendable {
    private let inner: any OriginResponseHandling
    private let metrics: OriginMetrics
    private let started = NIODeadline.now()
    private var meter: OriginMetrics.Meter?

    init(inner: any OriginResponseHandling, metrics: OriginMetrics) {
        self.inner = inner
        self.metrics = metrics
    }

    func originInformationalReceived(_ head: HTTPResponseHead) { inner.originInformationalReceived(head) }

    func originResponseHeadReceived(_ head: HTTPResponseHead, from origin: OriginServer) -> EventLoopFuture<Void> {
        meter = metrics.meter(origin)
        return inner.originResponseHeadReceived(head, from: origin)
    }

    func originBodyPartReceived(_ part: ByteBuffer) -> EventLoopFuture<Void> { inner.originBodyPartReceived(part) }

    func originResponseCompleted() {
        if let meter {
            meter.requests.add(1)
            meter.durations.observe(.now() - started)
        }
        inner.originResponseCompleted()
    }

    func originFailed(_ failure: OriginFailure, origin: OriginServer, headDelivered: Bool) {
        if let meter = meter ?? metrics.meter(origin) {
            meter.requests.add(1)
            meter.failures.add(1)
            meter.durations.observe(.now() - started)
        }
        inner.originFailed(failure, origin: origin, headDelivered: headDelivered)
    }
}
