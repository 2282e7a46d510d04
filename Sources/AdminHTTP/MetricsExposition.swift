// GET /metrics: the engine's counters and the tiers' figures in the Prometheus text format, through
// swift-metrics (Counter, Meter) backed by a swift-prometheus registry of the node's own (not the
// process-wide one, so several nodes in one process do not mix).
//
// The counters live in `Stats` (atomics on the request path); a scrape brings the swift-metrics
// counters up to them by the difference since the previous scrape, so the request path pays
// nothing for metrics. Names and labels: docs/ADMIN.md ("Metrics").
//
// Invariant: an exported counter never decreases (each is only incremented by a non-negative
// difference of monotonic counters).
import CachePolicy
import CoreMetrics
import EdgeCache
import NIOConcurrencyHelpers
import OriginClient
import Prometheus
import AdminProtocol

public final class MetricsExposition: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let state = NIOLockedValueBox(State())

    struct State {
        /// What each counter has been brought up to, by name and labels.
        var exported: [String: Int] = [:]
        var counters: [String: CoreMetrics.Counter] = [:]
        var meters: [String: CoreMetrics.Meter] = [:]
    }

    public init() {}

    func exposition(stats: StatsSnapshot, memory: StatsReport.TierFigures, disk: StatsReport.TierFigures?,
                    origins: [OriginHealthReport], uptime: Double) -> String {
        let factory = PrometheusMetricsFactory(registry: registry)
        state.withLockedValue { state in
            func count(_ name: String, _ value: Int, _ labels: [(String, String)] = []) {
                let id = name + labels.map { "\u{0}\($0.0)=\($0.1)" }.joined()
                let counter = state.counters[id] ?? CoreMetrics.Counter(label: name, dimensions: labels, factory: factory)
                state.counters[id] = counter
                let difference = value - state.exported[id, default: 0]
                if difference > 0 {
                    counter.increment(by: difference)
                    state.exported[id] = value
                }
            }
            func gauge(_ name: String, _ value: Double, _ labels: [(String, String)] = []) {
                let id = name + labels.map { "\u{0}\($0.0)=\($0.1)" }.joined()
                let meter = state.meters[id] ?? CoreMetrics.Meter(label: name, dimensions: labels, factory: factory)
                state.meters[id] = meter
                meter.set(value)
            }
            count("outpost_requests_total", stats.requests)
            count("outpost_lookups_total", stats.lookups)
            count("outpost_hits_total", stats.hitsFresh, [("kind", "fresh")])
            count("outpost_hits_total", stats.hitsStale, [("kind", "stale")])
            count("outpost_hits_total", stats.hitsStaleIfError, [("kind", "stale_if_error")])
            count("outpost_hits_total", stats.hitsRevalidated, [("kind", "revalidated")])
            count("outpost_misses_total", stats.misses)
            for reason in NotCachedReason.allCases {
                if let value = stats.missesByReason[reason] { count("outpost_misses_by_reason_total", value, [("reason", reason.detail)]) }
                if let value = stats.bypassesByReason[reason] { count("outpost_bypasses_total", value, [("reason", reason.detail)]) }
                if let value = stats.notStoredByReason[reason] { count("outpost_not_stored_total", value, [("reason", reason.detail)]) }
            }
            count("outpost_stored_total", stats.stored)
            count("outpost_collapsed_waits_total", stats.collapsedWaits)
            count("outpost_collapse_abandoned_total", stats.collapseAbandoned)
            count("outpost_origin_fetches_total", stats.originFetches)
            count("outpost_background_revalidations_total", stats.backgroundRevalidations)
            count("outpost_disk_promotions_total", stats.diskPromotions)
            count("outpost_invalidations_total", stats.invalidations)
            count("outpost_purges_total", stats.purges)
            count("outpost_purged_variants_total", stats.purgedVariants)
            count("outpost_rate_limited_total", stats.rateLimited)
            count("outpost_client_connections_refused_total", stats.clientConnectionsRefused)
            count("outpost_body_bytes_sent_total", stats.bytesFromCache, [("source", "cache")])
            count("outpost_body_bytes_sent_total", stats.bytesFromOrigin, [("source", "origin")])
            for (tier, figures) in [("memory", memory), ("disk", disk)] {
                guard let figures else { continue }
                gauge("outpost_stored_objects", Double(figures.objects), [("tier", tier)])
                gauge("outpost_stored_bytes", Double(figures.bytes), [("tier", tier)])
                gauge("outpost_capacity_bytes", Double(figures.capacityBytes), [("tier", tier)])
                count("outpost_evictions_total", figures.evictions, [("tier", tier)])
            }
            if let disk {
                count("outpost_disk_write_failures_total", disk.writeFailures ?? 0)
                count("outpost_disk_corrupt_bodies_total", disk.corruptBodies ?? 0)
                gauge("outpost_disk_storing_paused", disk.storingPaused == true ? 1 : 0)
                count("outpost_disk_stores_dropped_total", disk.storesDropped ?? 0)
            }
            for origin in origins {
                gauge("outpost_origin_up", origin.healthy ? 1 : 0, [("origin", origin.origin.description)])
            }
            gauge("outpost_uptime_seconds", uptime)
        }
        return registry.emitToString()
    }
}
