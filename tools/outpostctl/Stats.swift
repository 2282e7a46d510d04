// outpostctl stats: the node's counters and ratios from its admin API (/stats), or, with
// --cache-dir, what a cache directory's index holds. --json prints the source's own JSON
// (StatsReport online, IndexStatistics offline).
import AdminProtocol
import ArgumentParser
import Foundation

struct Statistics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "A node's requests, hit ratios, tiers and origins (or, with --cache-dir, what its index holds).")
    @OptionGroup var source: SourceOptions
    @Option(help: "Rows of hosts to show.") var hosts = 10

    func run() async throws {
        if let directory = source.cacheDirectory {
            let statistics = try CacheDirectory(path: directory).reader().statistics(now: now)
            if source.json { printJSON(statistics) } else { printIndexStatistics(statistics) }
            return
        }
        let report: StatsReport = try await source.admin.withClient { try await $0.get("/stats") }
        if source.json { printJSON(report) } else { print(statsTable(report, hosts: hosts)) }
    }
}

/// The people's view of a StatsReport.
func statsTable(_ report: StatsReport, hosts limit: Int = 10) -> String {
    let counters = report.counters
    var lines = [
        "uptime        \(duration(report.uptimeSeconds))",
        "requests      \(counters.requests) (lookups \(counters.lookups), served from cache \(counters.servedFromCache), misses \(counters.misses), bypasses \(counters.bypasses))",
        "hit ratio     \(percent(report.ratios.requestHitRatio)) of lookups, \(percent(report.ratios.requestHitRatioOverAll)) of all requests",
        "byte hit      \(percent(report.ratios.byteHitRatio)) (\(byteCount(counters.bytesFromCache)) from cache, \(byteCount(counters.bytesFromOrigin)) from origin)",
    ]
    if !report.windows.isEmpty {
        lines.append("windows       " + "WINDOW".column(8) + "REQ/S".column(10, right: true) + "HIT".column(9, right: true) + "BYTE HIT".column(10, right: true))
        for window in report.windows {
            lines.append("              " + window.name.column(8) + rate(window.requestsPerSecond).column(10, right: true)
                         + percent(window.ratios.requestHitRatio).column(9, right: true) + percent(window.ratios.byteHitRatio).column(10, right: true))
        }
    }
    lines.append("memory        \(tierLine(report.memory))")
    if let disk = report.disk { lines.append("disk          \(tierLine(disk))") }
    let reasons = report.missesByReason.sorted { $0.value > $1.value }.prefix(5).map { "\($0.key) \($0.value)" }
    if !reasons.isEmpty { lines.append("misses by     " + reasons.joined(separator: ", ")) }
    if !report.hosts.isEmpty {
        lines.append("top hosts     " + "HOST".column(30) + "REQUESTS".column(10, right: true) + "HIT".column(9, right: true) + "BYTE HIT".column(10, right: true))
        for host in report.hosts.prefix(limit) {
            lines.append("              " + host.host.column(30) + String(host.requests).column(10, right: true)
                         + percent(host.ratios.requestHitRatio).column(9, right: true) + percent(host.ratios.byteHitRatio).column(10, right: true))
        }
    }
    for (index, origin) in report.origins.enumerated() {
        lines.append((index == 0 ? "origins       " : "              ") + origin.origin.column(40) + originState(origin))
    }
    return lines.joined(separator: "\n")
}

func tierLine(_ tier: StatsReport.TierFigures) -> String {
    let fill = tier.capacityBytes > 0 ? " (\(percent(Double(tier.bytes) / Double(tier.capacityBytes))) full)" : ""
    var text = "\(counted(tier.objects, "object")), \(byteCount(tier.bytes)) of \(byteCount(tier.capacityBytes))\(fill), \(counted(tier.evictions, "eviction"))"
    if let failures = tier.writeFailures, failures > 0 { text += ", \(failures) write failures" }
    if let corrupt = tier.corruptBodies, corrupt > 0 { text += ", \(corrupt) damaged bodies" }
    if tier.storingPaused == true { text += ", STORING PAUSED" }
    return text
}

func originState(_ origin: StatsReport.OriginFigures) -> String {
    if origin.healthy { return origin.consecutiveFailures > 0 ? "up (\(counted(origin.consecutiveFailures, "recent failure")))" : "up" }
    return "DOWN (\(counted(origin.consecutiveFailures, "consecutive failure")))"
}
