// outpostctl top: a live view of a node, redrawn every --interval seconds from successive /stats
// answers, like varnishstat. Rates ("now") are the difference between two answers divided by the
// difference of their uptimes, so the network's delay does not skew them; the first frame has
// none. On a terminal the screen is redrawn in place and Ctrl-C ends the view (restoring the
// cursor); otherwise frames follow each other, and --json prints one JSON line per refresh.
import AdminProtocol
import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live view of a node: requests per second, hit ratios, busiest keys and hosts, origin health.",
        discussion: "Ctrl-C ends it. --count N stops after N refreshes, for scripts.")

    @OptionGroup var admin: AdminOptions
    @Option(help: "Seconds between refreshes.") var interval = 1.0
    @Option(help: "Stop after this many refreshes.") var count: Int?
    @Option(help: "Rows of keys and of hosts to show.") var rows = 10

    func validate() throws {
        if !(interval >= 0.1) { throw ValidationError("--interval must be at least 0.1 seconds") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if rows < 0 { throw ValidationError("--rows cannot be negative") }
    }

    func run() async throws {
        let terminal = isatty(STDOUT_FILENO) == 1 && !admin.json
        let interruption = terminal ? Self.restoreCursorOnInterrupt() : nil
        if terminal { write("\u{1B}[?25l\u{1B}[2J") }
        defer {
            if terminal { write("\u{1B}[?25h") }
            interruption?.cancel()
        }
        try await admin.withClient { client in
            var previous: StatsReport?
            var refreshes = 0
            while true {
                let report: StatsReport = try await client.get("/stats")
                refreshes += 1
                let sample = TopSample(report: report, previous: previous)
                if admin.json {
                    write(jsonText(sample, pretty: false) + "\n")
                } else if terminal {
                    // Home, each line cleared to its end, then everything below the frame cleared.
                    let frame = topFrame(sample, report: report, source: admin.baseURL, interval: interval, rows: rows)
                    write("\u{1B}[H" + frame.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\u{1B}[K\n") + "\u{1B}[K\n\u{1B}[J")
                } else {
                    write((refreshes > 1 ? "\n" : "") + topFrame(sample, report: report, source: admin.baseURL, interval: interval, rows: rows) + "\n")
                }
                previous = report
                if let count, refreshes >= count { break }
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }
    }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Ctrl-C: show the cursor again, end the line, exit 0.
    private static func restoreCursorOnInterrupt() -> any DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            FileHandle.standardOutput.write(Data("\u{1B}[?25h\n".utf8))
            Foundation.exit(0)
        }
        source.resume()
        return source
    }
}

/// One refresh: the node's figures and, from the second refresh on, the rates since the last.
struct TopSample: Encodable {
    var uptimeSeconds: Double
    /// Since the previous refresh; nil on the first (or after the node restarted).
    var requestsPerSecond: Double?
    var requestHitRatio: Double?
    var byteHitRatio: Double?
    /// Every counter's increase per second since the previous refresh.
    var perSecond: [String: Double]?
    var counters: StatsReport.Counters
    var windows: [StatsReport.Window]
    var hosts: [StatsReport.HostFigures]
    var topKeys: [StatsReport.KeyFigures]
    var origins: [StatsReport.OriginFigures]

    init(report: StatsReport, previous: StatsReport?) {
        uptimeSeconds = report.uptimeSeconds
        counters = report.counters
        windows = report.windows
        hosts = report.hosts
        topKeys = report.topKeys
        origins = report.origins
        guard let previous, report.uptimeSeconds > previous.uptimeSeconds,
              report.counters.requests >= previous.counters.requests else { return }
        let elapsed = report.uptimeSeconds - previous.uptimeSeconds
        let now = counterValues(report.counters), before = Dictionary(uniqueKeysWithValues: counterValues(previous.counters))
        perSecond = Dictionary(uniqueKeysWithValues: now.map { ($0.name, Double($0.value - (before[$0.name] ?? 0)) / elapsed) })
        let change = { (path: KeyPath<StatsReport.Counters, Int>) in report.counters[keyPath: path] - previous.counters[keyPath: path] }
        requestsPerSecond = Double(change(\.requests)) / elapsed
        let lookups = change(\.lookups), bytes = change(\.bytesFromCache) + change(\.bytesFromOrigin)
        requestHitRatio = lookups > 0 ? Double(change(\.servedFromCache)) / Double(lookups) : nil
        byteHitRatio = bytes > 0 ? Double(change(\.bytesFromCache)) / Double(bytes) : nil
    }
}

/// The counters as (name, value) in declaration order.
func counterValues(_ counters: StatsReport.Counters) -> [(name: String, value: Int)] {
    Mirror(reflecting: counters).children.compactMap { child in
        guard let name = child.label, let value = child.value as? Int else { return nil }
        return (name, value)
    }
}

/// "hitsStaleIfError" → "hits stale if error".
func words(_ name: String) -> String {
    name.reduce(into: "") { text, character in
        if character.isUppercase { text += " " + character.lowercased() } else { text.append(character) }
    }
}

func topFrame(_ sample: TopSample, report: StatsReport, source: String, interval: Double, rows: Int) -> String {
    var lines = ["outpost top  \(source)  uptime \(duration(sample.uptimeSeconds))  every \(rate(interval))s  (Ctrl-C ends)", ""]
    let names = ["NOW"] + report.windows.map(\.name) + ["TOTAL"]
    lines.append("".column(12) + names.map { $0.column(10, right: true) }.joined())
    lines.append("requests/s".column(12) + ([rate(sample.requestsPerSecond)] + report.windows.map { rate($0.requestsPerSecond) }
        + [rate(report.uptimeSeconds > 0 ? Double(report.counters.requests) / report.uptimeSeconds : nil)])
        .map { $0.column(10, right: true) }.joined())
    lines.append("hit ratio".column(12) + ([percent(sample.requestHitRatio)] + report.windows.map { percent($0.ratios.requestHitRatio) }
        + [percent(report.ratios.requestHitRatio)]).map { $0.column(10, right: true) }.joined())
    lines.append("byte hit".column(12) + ([percent(sample.byteHitRatio)] + report.windows.map { percent($0.ratios.byteHitRatio) }
        + [percent(report.ratios.byteHitRatio)]).map { $0.column(10, right: true) }.joined())
    lines.append("")
    lines.append("memory      \(tierLine(report.memory))")
    if let disk = report.disk { lines.append("disk        \(tierLine(disk))") }
    lines.append("")
    lines.append("COUNTER".column(28) + "TOTAL".column(14, right: true) + "PER SECOND".column(14, right: true))
    for (name, value) in counterValues(report.counters) where value > 0 {
        let perSecond = sample.perSecond?[name]
        let isBytes = name.hasPrefix("bytes")
        lines.append(words(name).column(28) + (isBytes ? byteCount(value) : String(value)).column(14, right: true)
                     + (isBytes ? perSecond.map { byteCount(Int($0)) + "/s" } ?? "-" : rate(perSecond)).column(14, right: true))
    }
    if rows > 0 && !report.topKeys.isEmpty {
        lines.append("")
        lines.append("TOP KEYS" + "HITS".column(12, right: true) + "SIZE".column(12, right: true) + "  URL")
        for key in report.topKeys.prefix(rows) {
            lines.append("".column(8) + String(key.hits).column(12, right: true) + byteCount(key.bytes).column(12, right: true)
                         + "  \(key.url)\(key.variantKey.isEmpty ? "" : "  [\(key.variantKey)]")")
        }
    }
    if rows > 0 && !report.hosts.isEmpty {
        lines.append("")
        lines.append("TOP HOSTS".column(32) + "REQUESTS".column(10, right: true) + "HIT".column(9, right: true) + "BYTE HIT".column(10, right: true))
        for host in report.hosts.prefix(rows) {
            lines.append(host.host.column(32) + String(host.requests).column(10, right: true)
                         + percent(host.ratios.requestHitRatio).column(9, right: true) + percent(host.ratios.byteHitRatio).column(10, right: true))
        }
    }
    if !report.origins.isEmpty {
        lines.append("")
        lines.append("ORIGINS")
        for origin in report.origins { lines.append(origin.origin.column(40) + originState(origin)) }
    }
    return lines.joined(separator: "\n")
}
