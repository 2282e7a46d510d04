// GET /stats: the engine's counters with their ratios (Stats.swift holds the definitions), the
// same over the last 1 min / 5 min / 1 h and per minute for the chart, the busiest hosts, the
// most hit keys in memory, what each tier holds, origin health and uptime.
import AdminProtocol
import CachePolicy
import CacheStore
import EdgeCache
import Foundation

extension AdminRouter {
    struct StorageFigures {
        var memory: StatsReport.TierFigures
        var disk: StatsReport.TierFigures?
    }

    func storageFigures() async -> StorageFigures {
        let memoryUsage = sources.memory.usage
        var memory = StatsReport.TierFigures(objects: memoryUsage.objects, bytes: memoryUsage.bytes,
                                             capacityBytes: sources.memory.capacityBytes, evictions: memoryUsage.evictions)
        memory.eviction = sources.memory.eviction.rawValue
        memory.evictionsByReason = Dictionary(uniqueKeysWithValues: memoryUsage.evictionsByReason.map { ($0.key.rawValue, $0.value) })
        memory.admissionRejections = memoryUsage.admissionRejections
        memory.ghostHits = memoryUsage.ghostHits
        memory.promotions = memoryUsage.promotions
        guard let tier = sources.disk else { return StorageFigures(memory: memory, disk: nil) }
        let usage = (try? await pool.runIfActive { tier.usage }) ?? StorageUsage()
        let disk = StatsReport.TierFigures(objects: usage.objects, bytes: usage.bytes, capacityBytes: tier.capacityBytes,
                                           evictions: usage.evictions, writeFailures: tier.writeFailures,
                                           corruptBodies: tier.corruptBodiesDetected, storingPaused: tier.storingPaused,
                                           storesDropped: sources.engine.disk?.storesDropped)
        return StorageFigures(memory: memory, disk: disk)
    }

    func statsResponse() async -> AdminResponse {
        let snapshot = sources.engine.stats.snapshot
        let current = TrafficSample(time: Date().timeIntervalSince1970, snapshot: snapshot)
        let history = traffic.snapshot
        let windows = [("1m", 60.0), ("5m", 300.0), ("1h", 3600.0)].compactMap { name, seconds in
            history.window(seconds: seconds, current: current).map { Self.window(name: name, $0) }
        }
        let minutes = history.perMinute(count: 60, current: current).map { Self.window(name: String(Int($0.end)), $0.traffic) }
        let hosts = sources.engine.hosts.top(10).map { host, counts in
            StatsReport.HostFigures(
                host: host, requests: counts.requests, lookups: counts.lookups, servedFromCache: counts.servedFromCache,
                bytesFromCache: counts.bytesFromCache, bytesFromOrigin: counts.bytesFromOrigin,
                ratios: Self.ratios(requests: counts.requests, lookups: counts.lookups, served: counts.servedFromCache,
                                    bytesFromCache: counts.bytesFromCache, bytesFromOrigin: counts.bytesFromOrigin))
        }
        let topKeys = sources.memory.hottest(10).map {
            StatsReport.KeyFigures(url: $0.response.url, variantKey: $0.response.variantKey, hits: $0.hits, bytes: $0.response.bodyLength)
        }
        let storage = await storageFigures()
        var report = StatsReport(
            uptimeSeconds: Date().timeIntervalSince1970 - startedAt, counters: Self.counters(snapshot),
            missesByReason: Self.byReason(snapshot.missesByReason), bypassesByReason: Self.byReason(snapshot.bypassesByReason),
            notStoredByReason: Self.byReason(snapshot.notStoredByReason),
            ratios: StatsReport.Ratios(requestHitRatio: snapshot.requestHitRatio, requestHitRatioOverAll: snapshot.requestHitRatioOverAll,
                                       byteHitRatio: snapshot.byteHitRatio),
            windows: windows, history: minutes, hosts: hosts, topKeys: topKeys, memory: storage.memory, disk: storage.disk,
            origins: sources.origin.healthReport().map {
                StatsReport.OriginFigures(origin: $0.origin.description, healthy: $0.healthy, consecutiveFailures: $0.consecutiveFailures)
            })
        report.clientLimits = StatsReport.ClientLimitFigures(
            rateLimited: snapshot[.rateLimited], connectionsRefused: snapshot[.clientConnectionsRefused])
        let forward = sources.engine.stats.forward
        report.forwardProxy = StatsReport.ForwardProxyFigures(
            allowed: forward.allowed.load(ordering: .relaxed), deniedByRule: forward.deniedCounts,
            authenticationRequired: forward.authenticationRequired.load(ordering: .relaxed),
            tunnelsOpened: forward.tunnelsOpened.load(ordering: .relaxed), tunnelsOpen: forward.tunnelsOpen.load(ordering: .relaxed),
            tunnelsRefused: forward.tunnelsRefused.load(ordering: .relaxed))
        return Self.json(report)
    }

    static func counters(_ snapshot: StatsSnapshot) -> StatsReport.Counters {
        StatsReport.Counters(
            requests: snapshot[.requests], lookups: snapshot[.lookups], hitsFresh: snapshot[.hitsFresh], hitsStale: snapshot[.hitsStale],
            hitsStaleIfError: snapshot[.hitsStaleIfError], hitsRevalidated: snapshot[.hitsRevalidated],
            servedFromCache: snapshot.servedFromCache, misses: snapshot.misses, bypasses: snapshot.bypasses, stored: snapshot[.stored],
            collapsedWaits: snapshot[.collapsedWaits], collapseAbandoned: snapshot[.collapseAbandoned], originFetches: snapshot[.originFetches],
            backgroundRevalidations: snapshot[.backgroundRevalidations], diskPromotions: snapshot[.diskPromotions], diskStreams: snapshot[.diskStreams],
            invalidations: snapshot[.invalidations], purges: snapshot[.purges], purgedVariants: snapshot[.purgedVariants],
            rateLimited: snapshot[.rateLimited], clientConnectionsRefused: snapshot[.clientConnectionsRefused],
            bytesFromCache: snapshot[.bytesFromCache], bytesFromOrigin: snapshot[.bytesFromOrigin])
    }

    static func byReason(_ counts: [NotCachedReason: Int]) -> [String: Int] {
        Dictionary(counts.map { ($0.key.detail, $0.value) }, uniquingKeysWith: +)
    }

    static func window(name: String, _ traffic: TrafficSample) -> StatsReport.Window {
        StatsReport.Window(
            name: name, seconds: traffic.time, requests: traffic.requests, lookups: traffic.lookups,
            servedFromCache: traffic.servedFromCache, bytesFromCache: traffic.bytesFromCache, bytesFromOrigin: traffic.bytesFromOrigin,
            requestsPerSecond: traffic.time > 0 ? Double(traffic.requests) / traffic.time : 0,
            ratios: ratios(requests: traffic.requests, lookups: traffic.lookups, served: traffic.servedFromCache,
                           bytesFromCache: traffic.bytesFromCache, bytesFromOrigin: traffic.bytesFromOrigin))
    }

    /// The definitions of StatsSnapshot's ratios, for any span of traffic.
    static func ratios(requests: Int, lookups: Int, served: Int, bytesFromCache: Int, bytesFromOrigin: Int) -> StatsReport.Ratios {
        let bytes = bytesFromCache + bytesFromOrigin
        return StatsReport.Ratios(
            requestHitRatio: lookups > 0 ? Double(served) / Double(lookups) : nil,
            requestHitRatioOverAll: requests > 0 ? Double(served) / Double(requests) : nil,
            byteHitRatio: bytes > 0 ? Double(bytesFromCache) / Double(bytes) : nil)
    }
}
