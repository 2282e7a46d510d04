// Every counter of the cache engine, declared once: its name (the key of /stats' `counters`), one
// line of help, and the Prometheus family and labels /metrics exposes it under. `Stats` keeps one
// atomic per case; `StatsSnapshot`, /metrics and the metric families' help are read from this
// table, and a test holds /stats' `counters` to it name by name.
//
// Invariants: names and families are API (dashboards, alerts, outpostctl key on them); a family
// shared by several counters (hits by kind, bytes by source) has one help text.
public enum EngineCounter: Int, CaseIterable, Sendable {
    case requests, lookups
    case hitsFresh, hitsStale, hitsStaleIfError, hitsRevalidated
    case stored, collapsedWaits, collapseAbandoned, originFetches, backgroundRevalidations, diskPromotions, diskStreams
    case invalidations, purges, purgedVariants, rateLimited, clientConnectionsRefused
    case bytesFromCache, bytesFromOrigin

    /// The name /stats reports it under.
    public var name: String { String(describing: self) }

    public var help: String {
        switch self {
        case .requests: "Requests that reached the cache engine, cacheable or not."
        case .lookups: "Requests that looked the cache up (a cacheable method, not bypassed by a rule or memory)."
        case .hitsFresh: "Answered from a fresh stored response."
        case .hitsStale: "Answered from a stale stored response that was allowed (stale-while-revalidate, max-stale, grace)."
        case .hitsStaleIfError: "Answered from a stale stored response because the origin failed (stale-if-error, grace)."
        case .hitsRevalidated: "Answered from a stored body after the origin confirmed it with 304 Not Modified."
        case .stored: "Responses stored (new variants and replacements)."
        case .collapsedWaits: "Requests that waited on another request's fetch instead of going to the origin."
        case .collapseAbandoned: "Requests that waited on a fetch and then fetched on their own (timeout, Vary, uncacheable)."
        case .originFetches: "Requests sent to an origin (fills, revalidations, background revalidations, passes)."
        case .backgroundRevalidations: "Background revalidations started for stale-while-revalidate."
        case .diskPromotions: "Stored responses read from the disk tier into memory on a memory miss."
        case .diskStreams: "Responses whose stored body was streamed from its disk-tier file in parts (too large to read whole)."
        case .invalidations: "Stored responses removed because an unsafe request invalidated them (RFC 9111 §4.4)."
        case .purges: "Purges an operator asked for (dry runs excluded)."
        case .purgedVariants: "Stored variants removed or marked stale by purges and group invalidations."
        case .rateLimited: "Requests answered 429 because their client was over a rule's request rate."
        case .clientConnectionsRefused: "Connections refused with 429 because their client held the most allowed."
        case .bytesFromCache: "Body bytes sent to clients from the store."
        case .bytesFromOrigin: "Body bytes sent to clients as they came from an origin."
        }
    }

    /// The Prometheus family (a counter) and labels this counter is exposed with.
    public var metric: (family: String, labels: [(String, String)]) {
        switch self {
        case .hitsFresh: ("outpost_hits_total", [("kind", "fresh")])
        case .hitsStale: ("outpost_hits_total", [("kind", "stale")])
        case .hitsStaleIfError: ("outpost_hits_total", [("kind", "stale_if_error")])
        case .hitsRevalidated: ("outpost_hits_total", [("kind", "revalidated")])
        case .bytesFromCache: ("outpost_body_bytes_sent_total", [("source", "cache")])
        case .bytesFromOrigin: ("outpost_body_bytes_sent_total", [("source", "origin")])
        default: ("outpost_" + Self.snakeCase(name) + "_total", [])
        }
    }

    /// The help of the counter's family: its own, or for a labelled family the family's.
    public var familyHelp: String {
        switch self {
        case .hitsFresh, .hitsStale, .hitsStaleIfError, .hitsRevalidated:
            "Responses served from a stored response, by kind (fresh, stale, stale_if_error, revalidated)."
        case .bytesFromCache, .bytesFromOrigin:
            "Body bytes sent to clients, by source (cache or origin)."
        default:
            help
        }
    }

    /// "collapsedWaits" → "collapsed_waits".
    static func snakeCase(_ name: String) -> String {
        name.reduce(into: "") { text, character in
            if character.isUppercase { text += "_" + character.lowercased() } else { text.append(character) }
        }
    }
}
