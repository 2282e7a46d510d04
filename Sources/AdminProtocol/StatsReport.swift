// `GET /stats`: the node's counters, hit ratios (overall, over sliding windows, per host), the
// hottest keys, what the tiers hold, origin health and uptime. Ratios are nil (null) until there
// is something to divide by. Definitions: docs/CACHING.md ("Counters and ratios").
public struct StatsReport: Codable, Sendable {
    public var uptimeSeconds: Double
    public var counters: Counters
    /// Misses, bypasses and responses not stored, by reason token (NotCachedReason's detail).
    public var missesByReason: [String: Int]
    public var bypassesByReason: [String: Int]
    public var notStoredByReason: [String: Int]
    public var ratios: Ratios
    /// The last minute, five minutes and hour (or since start, when the node is younger).
    public var windows: [Window]
    /// One point per minute over the last hour, oldest first: the status page's chart.
    public var history: [Window]
    /// The busiest hosts, most requests first.
    public var hosts: [HostFigures]
    /// The most hit keys held in memory, most hits first.
    public var topKeys: [KeyFigures]
    public var memory: TierFigures
    /// Nil when the node has no disk tier.
    public var disk: TierFigures?
    public var origins: [OriginFigures]
    /// Requests and connections refused by the per-client limits (nil from nodes that predate them).
    public var clientLimits: ClientLimitFigures?
    /// Forward listeners' access decisions and tunnels (nil from nodes that predate them).
    public var forwardProxy: ForwardProxyFigures?

    public struct ForwardProxyFigures: Codable, Sendable, Equatable {
        /// Requests an access rule allowed.
        public var allowed: Int
        /// Requests answered 403, by the name of the rule that denied them.
        public var deniedByRule: [String: Int]
        /// Requests answered 407 (credentials needed).
        public var authenticationRequired: Int
        public var tunnelsOpened: Int
        public var tunnelsOpen: Int
        /// CONNECTs answered 429: the client held the most tunnels allowed.
        public var tunnelsRefused: Int

        public init(allowed: Int, deniedByRule: [String: Int], authenticationRequired: Int, tunnelsOpened: Int, tunnelsOpen: Int,
                    tunnelsRefused: Int) {
            self.allowed = allowed
            self.deniedByRule = deniedByRule
            self.authenticationRequired = authenticationRequired
            self.tunnelsOpened = tunnelsOpened
            self.tunnelsOpen = tunnelsOpen
            self.tunnelsRefused = tunnelsRefused
        }
    }

    public struct ClientLimitFigures: Codable, Sendable, Equatable {
        /// Requests answered 429: the client was over a rule's request rate.
        public var rateLimited: Int
        /// Connections answered 429 and closed: the client held the most connections allowed.
        public var connectionsRefused: Int

        public init(rateLimited: Int, connectionsRefused: Int) {
            self.rateLimited = rateLimited
            self.connectionsRefused = connectionsRefused
        }
    }

    public init(uptimeSeconds: Double, counters: Counters, missesByReason: [String: Int], bypassesByReason: [String: Int],
                notStoredByReason: [String: Int], ratios: Ratios, windows: [Window], history: [Window], hosts: [HostFigures],
                topKeys: [KeyFigures], memory: TierFigures, disk: TierFigures?, origins: [OriginFigures]) {
        self.uptimeSeconds = uptimeSeconds
        self.counters = counters
        self.missesByReason = missesByReason
        self.bypassesByReason = bypassesByReason
        self.notStoredByReason = notStoredByReason
        self.ratios = ratios
        self.windows = windows
        self.history = history
        self.hosts = hosts
        self.topKeys = topKeys
        self.memory = memory
        self.disk = disk
        self.origins = origins
    }

    public struct Counters: Codable, Sendable, Equatable {
        public var requests, lookups, hitsFresh, hitsStale, hitsStaleIfError, hitsRevalidated, servedFromCache: Int
        public var misses, bypasses, stored, collapsedWaits, collapseAbandoned, originFetches, backgroundRevalidations: Int
        public var diskPromotions, diskStreams, invalidations, purges, purgedVariants, rateLimited, clientConnectionsRefused: Int
        public var bytesFromCache, bytesFromOrigin: Int

        public init(requests: Int, lookups: Int, hitsFresh: Int, hitsStale: Int, hitsStaleIfError: Int, hitsRevalidated: Int,
                    servedFromCache: Int, misses: Int, bypasses: Int, stored: Int, collapsedWaits: Int, collapseAbandoned: Int,
                    originFetches: Int, backgroundRevalidations: Int, diskPromotions: Int, diskStreams: Int = 0, invalidations: Int, purges: Int,
                    purgedVariants: Int, rateLimited: Int, clientConnectionsRefused: Int, bytesFromCache: Int, bytesFromOrigin: Int) {
            self.requests = requests
            self.lookups = lookups
            self.hitsFresh = hitsFresh
            self.hitsStale = hitsStale
            self.hitsStaleIfError = hitsStaleIfError
            self.hitsRevalidated = hitsRevalidated
            self.servedFromCache = servedFromCache
            self.misses = misses
            self.bypasses = bypasses
            self.stored = stored
            self.collapsedWaits = collapsedWaits
            self.collapseAbandoned = collapseAbandoned
            self.originFetches = originFetches
            self.backgroundRevalidations = backgroundRevalidations
            self.diskPromotions = diskPromotions
            self.diskStreams = diskStreams
            self.invalidations = invalidations
            self.purges = purges
            self.purgedVariants = purgedVariants
            self.rateLimited = rateLimited
            self.clientConnectionsRefused = clientConnectionsRefused
            self.bytesFromCache = bytesFromCache
            self.bytesFromOrigin = bytesFromOrigin
        }
    }

    public struct Ratios: Codable, Sendable, Equatable {
        /// Served from cache ÷ lookups.
        public var requestHitRatio: Double?
        /// Served from cache ÷ all requests.
        public var requestHitRatioOverAll: Double?
        /// Body bytes from the store ÷ all body bytes sent.
        public var byteHitRatio: Double?
        public init(requestHitRatio: Double?, requestHitRatioOverAll: Double?, byteHitRatio: Double?) {
            self.requestHitRatio = requestHitRatio
            self.requestHitRatioOverAll = requestHitRatioOverAll
            self.byteHitRatio = byteHitRatio
        }
    }

    /// Figures over one span of time ending now (or, in `history`, ending at the minute `name` gives).
    public struct Window: Codable, Sendable, Equatable {
        /// "1m", "5m", "1h"; in `history`, the minute's end as seconds since the Unix epoch.
        public var name: String
        /// The span actually covered (shorter than the name while the node is young).
        public var seconds: Double
        public var requests, lookups, servedFromCache, bytesFromCache, bytesFromOrigin: Int
        public var requestsPerSecond: Double
        public var ratios: Ratios
        public init(name: String, seconds: Double, requests: Int, lookups: Int, servedFromCache: Int, bytesFromCache: Int,
                    bytesFromOrigin: Int, requestsPerSecond: Double, ratios: Ratios) {
            self.name = name
            self.seconds = seconds
            self.requests = requests
            self.lookups = lookups
            self.servedFromCache = servedFromCache
            self.bytesFromCache = bytesFromCache
            self.bytesFromOrigin = bytesFromOrigin
            self.requestsPerSecond = requestsPerSecond
            self.ratios = ratios
        }
    }

    public struct HostFigures: Codable, Sendable, Equatable {
        public var host: String
        public var requests, lookups, servedFromCache, bytesFromCache, bytesFromOrigin: Int
        public var ratios: Ratios
        public init(host: String, requests: Int, lookups: Int, servedFromCache: Int, bytesFromCache: Int, bytesFromOrigin: Int,
                    ratios: Ratios) {
            self.host = host
            self.requests = requests
            self.lookups = lookups
            self.servedFromCache = servedFromCache
            self.bytesFromCache = bytesFromCache
            self.bytesFromOrigin = bytesFromOrigin
            self.ratios = ratios
        }
    }

    public struct KeyFigures: Codable, Sendable, Equatable {
        public var url: String
        public var variantKey: String
        /// Hits since it was stored in memory.
        public var hits: Int
        public var bytes: Int
        public init(url: String, variantKey: String, hits: Int, bytes: Int) {
            self.url = url
            self.variantKey = variantKey
            self.hits = hits
            self.bytes = bytes
        }
    }

    public struct TierFigures: Codable, Sendable, Equatable {
        public var objects, bytes, capacityBytes, evictions: Int
        /// Disk only: fills lost to I/O errors, bodies found damaged, and whether storing is paused.
        public var writeFailures: Int?
        public var corruptBodies: Int?
        public var storingPaused: Bool?
        /// Disk only: stores dropped because the disk writer could not keep up.
        public var storesDropped: Int?
        /// Memory only (absent from older nodes): the eviction policy ("s3-fifo", "lru"), evictions
        /// by reason ("probation", "main", "lru"), entries refused as larger than a shard, ghost
        /// hits and promotions from probation (S3-FIFO; see docs/CACHING.md).
        public var eviction: String?
        public var evictionsByReason: [String: Int]?
        public var admissionRejections: Int?
        public var ghostHits: Int?
        public var promotions: Int?
        public init(objects: Int, bytes: Int, capacityBytes: Int, evictions: Int, writeFailures: Int? = nil,
                    corruptBodies: Int? = nil, storingPaused: Bool? = nil, storesDropped: Int? = nil) {
            self.storesDropped = storesDropped
            self.objects = objects
            self.bytes = bytes
            self.capacityBytes = capacityBytes
            self.evictions = evictions
            self.writeFailures = writeFailures
            self.corruptBodies = corruptBodies
            self.storingPaused = storingPaused
        }
    }

    public struct OriginFigures: Codable, Sendable, Equatable {
        public var origin: String
        public var healthy: Bool
        public var consecutiveFailures: Int
        public init(origin: String, healthy: Bool, consecutiveFailures: Int) {
            self.origin = origin
            self.healthy = healthy
            self.consecutiveFailures = consecutiveFailures
        }
    }
}
