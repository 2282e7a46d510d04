// GET /metrics: the engine's counters, the tiers' figures, the response and origin histograms and
// the process's figures in the Prometheus text format (version 0.0.4). Counters and gauges go
// through a swift-prometheus registry of the node's own (not the process-wide one, so several
// nodes in one process do not mix); histograms are rendered here from the fixed-bucket atomics of
// EdgeCache/ResponseMetrics.swift. Every family is declared once, with its help text, in
// MetricFamilies.swift; docs/ADMIN.md ("Metrics") lists them.
//
// The counters live in `Stats` (atomics on the request path); a scrape brings the exported
// counters up to them by the difference since the previous scrape, so the request path pays
// nothing for metrics.
//
// Invariant: an exported counter never decreases (each is only incremented by a non-negative
// difference of monotonic counters).
import AdminProtocol
import CachePolicy
import EdgeCache
import NIOConcurrencyHelpers
import OriginClient
import Prometheus

public final class MetricsExposition: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let state = NIOLockedValueBox(State())

    struct State {
        /// What each counter has been brought up to, by name and labels.
        var exported: [String: Double] = [:]
        var counters: [String: Prometheus.Counter] = [:]
        var gauges: [String: Prometheus.Gauge] = [:]
    }

    public init() {}

    func exposition(stats: StatsSnapshot, memory: StatsReport.TierFigures, disk: StatsReport.TierFigures?,
                    origins: [OriginHealthReport], live: Stats) -> String {
        let process = ProcessFigures.read()
        state.withLockedValue { state in
            func count(_ name: String, _ value: Int, _ labels: [(String, String)] = []) {
                countDouble(name, Double(value), labels)
            }
            func countDouble(_ name: String, _ value: Double, _ labels: [(String, String)] = []) {
                let id = name + labels.map { "\u{0}\($0.0)=\($0.1)" }.joined()
                let counter = state.counters[id] ?? registry.makeCounter(name: name, labels: labels, help: MetricFamilies.help(name))
                state.counters[id] = counter
                let difference = value - state.exported[id, default: 0]
                if difference > 0 {
                    counter.increment(by: difference)
                    state.exported[id] = value
                }
            }
            func gauge(_ name: String, _ value: Double, _ labels: [(String, String)] = []) {
                let id = name + labels.map { "\u{0}\($0.0)=\($0.1)" }.joined()
                let gauge = state.gauges[id] ?? registry.makeGauge(name: name, labels: labels, help: MetricFamilies.help(name))
                state.gauges[id] = gauge
                gauge.set(to: value)
            }
            // The engine's counters, each under the family and labels its table entry names.
            for counter in EngineCounter.allCases {
                let (family, labels) = counter.metric
                count(family, stats[counter], labels)
            }
            for reason in NotCachedReason.allCases {
                if let value = stats.missesByReason[reason] { count("outpost_misses_total", value, [("reason", reason.detail)]) }
                if let value = stats.bypassesByReason[reason] { count("outpost_bypasses_total", value, [("reason", reason.detail)]) }
                if let value = stats.notStoredByReason[reason] { count("outpost_not_stored_total", value, [("reason", reason.detail)]) }
            }
            let forward = live.forward
            count("outpost_forward_allowed_total", forward.allowed.load(ordering: .relaxed))
            for (rule, value) in forward.deniedCounts.sorted(by: { $0.key < $1.key }) {
                count("outpost_forward_denied_total", value, [("rule", rule)])
            }
            count("outpost_forward_authentication_required_total", forward.authenticationRequired.load(ordering: .relaxed))
            count("outpost_tunnels_total", forward.tunnelsOpened.load(ordering: .relaxed))
            gauge("outpost_open_tunnels", Double(forward.tunnelsOpen.load(ordering: .relaxed)))
            count("outpost_tunnels_refused_total", forward.tunnelsRefused.load(ordering: .relaxed))
            for (tier, figures) in [("memory", memory), ("disk", disk)] {
                guard let figures else { continue }
                gauge("outpost_stored_objects", Double(figures.objects), [("tier", tier)])
                gauge("outpost_stored_bytes", Double(figures.bytes), [("tier", tier)])
                gauge("outpost_capacity_bytes", Double(figures.capacityBytes), [("tier", tier)])
                count("outpost_evictions_total", figures.evictions, [("tier", tier)])
                for (reason, value) in (figures.evictionsByReason ?? [:]).sorted(by: { $0.key < $1.key }) {
                    count("outpost_evictions_by_reason_total", value, [("tier", tier), ("reason", reason)])
                }
                if let value = figures.admissionRejections { count("outpost_admission_rejections_total", value, [("tier", tier)]) }
                if let value = figures.ghostHits { count("outpost_ghost_hits_total", value, [("tier", tier)]) }
                if let value = figures.promotions { count("outpost_probation_promotions_total", value, [("tier", tier)]) }
            }
            if let disk {
                count("outpost_disk_write_failures_total", disk.writeFailures ?? 0)
                count("outpost_disk_corrupt_bodies_total", disk.corruptBodies ?? 0)
                gauge("outpost_disk_storing_paused", disk.storingPaused == true ? 1 : 0)
                count("outpost_disk_stores_dropped_total", disk.storesDropped ?? 0)
            }
            for (label, value) in live.responses.responsesByStatusClass {
                count("outpost_responses_total", value, [("status_class", label)])
            }
            gauge("outpost_open_connections", Double(live.responses.openPublicConnections.load), [("listener", "public")])
            gauge("outpost_open_connections", Double(live.responses.openAdminConnections.load), [("listener", "admin")])
            for origin in origins {
                gauge("outpost_origin_up", origin.healthy ? 1 : 0, [("origin", origin.origin.description)])
            }
            for meter in live.origins.meters {
                count("outpost_origin_requests_total", meter.requests.load, [("origin", meter.origin)])
                count("outpost_origin_errors_total", meter.failures.load, [("origin", meter.origin)])
            }
            gauge("outpost_build_info", 1, [("version", BuildInfo.version), ("swift", BuildInfo.swiftVersion)])
            if let value = process.startTimeSeconds { gauge("process_start_time_seconds", value) }
            if let value = process.residentBytes { gauge("process_resident_memory_bytes", value) }
            if let value = process.virtualBytes { gauge("process_virtual_memory_bytes", value) }
            if let value = process.openDescriptors { gauge("process_open_fds", value) }
            if let value = process.maximumDescriptors { gauge("process_max_fds", value) }
            if let value = process.cpuSeconds { countDouble("process_cpu_seconds_total", value) }
        }
        var text = registry.emitToString()
        Self.appendHistogram(&text, name: "outpost_request_duration_seconds",
                             series: CacheOutcome.allCases.map { ([("outcome", $0.label)], live.responses.duration($0)) })
        Self.appendHistogram(&text, name: "outpost_origin_fetch_duration_seconds",
                             series: live.origins.meters.map { ([("origin", $0.origin)], $0.durations.snapshot) })
        return text
    }

    /// One histogram family: HELP, TYPE, then per series the cumulative buckets, sum and count.
    static func appendHistogram(_ text: inout String, name: String, series: [([(String, String)], HistogramSnapshot)]) {
        guard !series.isEmpty else { return }
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += "# HELP \(name) \(MetricFamilies.help(name))\n# TYPE \(name) histogram\n"
        for (labels, snapshot) in series {
            let prefix = labels.map { "\($0.0)=\"\(escapedLabelValue($0.1))\"" }.joined(separator: ",")
            for (index, bound) in snapshot.bounds.enumerated() {
                text += "\(name)_bucket{\(prefix),le=\"\(bound)\"} \(snapshot.cumulativeCounts[index])\n"
            }
            text += "\(name)_bucket{\(prefix),le=\"+Inf\"} \(snapshot.count)\n"
            text += "\(name)_sum{\(prefix)} \(snapshot.sumSeconds)\n"
            text += "\(name)_count{\(prefix)} \(snapshot.count)\n"
        }
    }

    /// Label values escape backslash, double quote and line feed (the text format's rules).
    static func escapedLabelValue(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
