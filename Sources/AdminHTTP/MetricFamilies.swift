// Every metric family /metrics exposes, declared once with its type and one line of help (the
// `# HELP` text). Metric names are API: dashboards (tools/grafana/outpost.json) and alerts key on
// them; docs/ADMIN.md lists the same table. Names follow Prometheus conventions (promtool check
// metrics): snake_case, base units (seconds, bytes), counters end in `_total`.
//
// Invariant: MetricsExposition exposes no family that is not listed here (OperationsTests checks
// that no family of a scrape falls back to the "Undocumented" help, and promtool checks the rest).
import AdminProtocol
import EdgeCache

struct MetricFamily: Sendable {
    enum Kind: String, Sendable { case counter, gauge, histogram }
    var name: String
    var kind: Kind
    var help: String
}

enum MetricFamilies {
    static let all: [MetricFamily] = engineFamilies + [
        // The engine's counts by reason (EdgeCache/Stats.swift).
        .init(name: "outpost_misses_total", kind: .counter, help: "Lookups that went to the origin, by reason (the Cache-Status detail token)."),
        .init(name: "outpost_bypasses_total", kind: .counter, help: "Requests passed to the origin without a lookup, by reason."),
        .init(name: "outpost_not_stored_total", kind: .counter, help: "Origin responses that were not stored, by reason."),
        // Forward listeners.
        .init(name: "outpost_forward_allowed_total", kind: .counter, help: "Forward-proxy requests an access rule allowed."),
        .init(name: "outpost_forward_denied_total", kind: .counter, help: "Forward-proxy requests answered 403, by the access rule that denied them."),
        .init(name: "outpost_forward_authentication_required_total", kind: .counter, help: "Forward-proxy requests answered 407: their rule needs credentials."),
        .init(name: "outpost_tunnels_total", kind: .counter, help: "CONNECT tunnels opened."),
        .init(name: "outpost_open_tunnels", kind: .gauge, help: "CONNECT tunnels open now."),
        .init(name: "outpost_tunnels_refused_total", kind: .counter, help: "CONNECTs answered 429: the client held the most tunnels allowed."),
        // The storage tiers.
        .init(name: "outpost_stored_objects", kind: .gauge, help: "Stored responses, by tier."),
        .init(name: "outpost_stored_bytes", kind: .gauge, help: "Bytes held, by tier."),
        .init(name: "outpost_capacity_bytes", kind: .gauge, help: "Configured capacity in bytes, by tier."),
        .init(name: "outpost_evictions_total", kind: .counter, help: "Stored responses evicted to make room, by tier."),
        .init(name: "outpost_evictions_by_reason_total", kind: .counter, help: "Evictions by tier and reason (probation, main: S3-FIFO; lru)."),
        .init(name: "outpost_admission_rejections_total", kind: .counter, help: "Responses the tier refused to store as larger than one shard, by tier."),
        .init(name: "outpost_ghost_hits_total", kind: .counter, help: "Responses stored straight into the main queue because their key was recently evicted (S3-FIFO ghost), by tier."),
        .init(name: "outpost_probation_promotions_total", kind: .counter, help: "Responses moved from the probation queue to the main queue because they were used there (S3-FIFO), by tier."),
        .init(name: "outpost_disk_write_failures_total", kind: .counter, help: "Disk tier writes that failed."),
        .init(name: "outpost_disk_corrupt_bodies_total", kind: .counter, help: "Stored bodies found corrupt on read and removed."),
        .init(name: "outpost_disk_storing_paused", kind: .gauge, help: "1 while the disk tier has paused storing after write failures, else 0."),
        .init(name: "outpost_disk_stores_dropped_total", kind: .counter, help: "Stores the disk tier dropped (writer queue full or storing paused)."),
        // Responses and connections (EdgeCache/ResponseMetrics.swift).
        .init(name: "outpost_request_duration_seconds", kind: .histogram, help: "Time from a request's head to the end of its response, by cache outcome."),
        .init(name: "outpost_responses_total", kind: .counter, help: "Responses sent to clients, by status class (1xx to 5xx; none when the client left first)."),
        .init(name: "outpost_open_connections", kind: .gauge, help: "Open client connections, by listener (public or admin)."),
        // Origins.
        .init(name: "outpost_origin_up", kind: .gauge, help: "1 while the origin is taken to be up (passive health), else 0."),
        .init(name: "outpost_origin_requests_total", kind: .counter, help: "Calls to the origin that ended, with a response or a failure."),
        .init(name: "outpost_origin_errors_total", kind: .counter, help: "Calls to the origin that failed (connect, timeout, broken response)."),
        .init(name: "outpost_origin_fetch_duration_seconds", kind: .histogram, help: "Time from starting a call to the origin to its last body byte or its failure."),
        // The build and the process.
        .init(name: "outpost_build_info", kind: .gauge, help: "Always 1; the labels name the version and the Swift compiler it was built with."),
        .init(name: "process_start_time_seconds", kind: .gauge, help: "Start time of the process since the Unix epoch, in seconds."),
        .init(name: "process_resident_memory_bytes", kind: .gauge, help: "Resident memory size in bytes."),
        .init(name: "process_virtual_memory_bytes", kind: .gauge, help: "Virtual memory size in bytes."),
        .init(name: "process_open_fds", kind: .gauge, help: "Open file descriptors."),
        .init(name: "process_max_fds", kind: .gauge, help: "The most file descriptors the process may open (RLIMIT_NOFILE)."),
        .init(name: "process_cpu_seconds_total", kind: .counter, help: "User and system CPU time spent, in seconds."),
    ]

    /// The engine's counters' families, from their one table (EdgeCache's EngineCounter), in its order.
    static let engineFamilies: [MetricFamily] = EngineCounter.allCases.reduce(into: []) { families, counter in
        let family = counter.metric.family
        if !families.contains(where: { $0.name == family }) {
            families.append(MetricFamily(name: family, kind: .counter, help: counter.familyHelp))
        }
    }

    private static let byName: [String: MetricFamily] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    static func family(_ name: String) -> MetricFamily? { byName[name] }

    /// The help text of `name`; a family missing from the table still gets a HELP line.
    static func help(_ name: String) -> String { byName[name]?.help ?? "Undocumented: add \(name) to MetricFamilies.all." }
}

/// What `outpost_build_info` says.
public enum BuildInfo {
    /// The release this build belongs to (AdminProtocol's OutpostRelease, as `--version` prints).
    public static let version = OutpostRelease.version
    /// The Swift compiler's major.minor, from the compiler conditions.
    public static let swiftVersion: String = {
        #if compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }()
}
