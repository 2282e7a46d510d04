// `outpost demo`: starts the sample origin and a node in front of it on loopback ports, sends a
// bounded burst of Zipf-distributed requests through the node, and reports what happened.
// Bounded in count (`requests`) and in time (`deadline`); leaves nothing running.
import AsyncHTTPClient
import EdgeCache
import Logging
import NIOCore
import NIOPosix

public struct DemoOptions: Sendable {
    public var requests = 2_000
    public var concurrency = 16
    public var distinctURLs = 500
    public var zipfExponent = 1.0
    public var seed: UInt64 = 42
    public var deadline: TimeAmount = .seconds(60)
    public init() {}
}

public struct DemoReport: Sendable {
    public var requests = 0
    public var failures = 0
    public var statusCounts: [UInt: Int] = [:]
    public var bytes = 0
    public var latenciesMicroseconds: [Int] = []
    /// Cache-Status outcomes seen on responses, by their first parameter (hit, fwd=…).
    public var cacheOutcomes: [String: Int] = [:]
    public var elapsedSeconds = 0.0
    /// The node's own counters at the end of the run.
    public var cache: StatsSnapshot?

    mutating func merge(_ other: DemoReport) {
        requests += other.requests
        failures += other.failures
        bytes += other.bytes
        latenciesMicroseconds += other.latenciesMicroseconds
        for (status, count) in other.statusCounts { statusCounts[status, default: 0] += count }
        for (outcome, count) in other.cacheOutcomes { cacheOutcomes[outcome, default: 0] += count }
    }

    public func percentile(_ fraction: Double) -> Double {
        guard !latenciesMicroseconds.isEmpty else { return 0 }
        let sorted = latenciesMicroseconds.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))
        return Double(sorted[index]) / 1000
    }


    public var text: String {
        var lines: [String] = []
        lines.append("requests     \(requests) in \(format(elapsedSeconds))s (\(format(Double(requests) / max(elapsedSeconds, 0.001))) req/s), \(failures) failed")
        let statuses = statusCounts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        lines.append("status codes \(statuses.isEmpty ? "-" : statuses)")
        lines.append("bytes        \(bytes) (\(format(Double(bytes) / 1_048_576)) MiB)")
        lines.append("latency ms   p50 \(format(percentile(0.5)))  p90 \(format(percentile(0.9)))  p99 \(format(percentile(0.99)))  max \(format(percentile(1)))")
        let outcomes = cacheOutcomes.sorted { $0.value > $1.value }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        lines.append("cache-status \(outcomes.isEmpty ? "-" : outcomes)")
        if let cache, let ratio = cache.requestHitRatio {
            lines.append("hit ratio    \(format(ratio * 100))% of \(cache[.lookups]) lookups served from cache (\(cache.servedFromCache)); over all \(cache[.requests]) requests \(format((cache.requestHitRatioOverAll ?? 0) * 100))%")
            lines.append("byte ratio   \(format((cache.byteHitRatio ?? 0) * 100))% of body bytes from cache; origin fetches \(cache[.originFetches]), collapsed waits \(cache[.collapsedWaits])")
        }
        // The report ends with a newline, as every text file and terminal report should.
        return lines.joined(separator: "\n") + "\n"
    }

    private func format(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100).\(String(format2: hundredths % 100))"
    }
}

extension String {
    fileprivate init(format2 value: Int) { self = value < 10 ? "0\(value)" : "\(value)" }
}

public enum Demo {
    public static func run(options: DemoOptions, logger: Logger) async throws -> DemoReport {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let origin = try await SampleOrigin.start(group: group)
        var configuration = NodeConfiguration()
        configuration.listen = HostAndPort(host: "127.0.0.1", port: 0)
        configuration.origins = [try .init(url: origin.url)]
        configuration.threads = 1
        configuration.diskSize = 0  // the demo leaves nothing behind
        configuration.adminListen = nil
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let node = try await Node.start(configuration, logger: quiet)
        logger.info("demo running", metadata: ["origin": "\(origin.url)", "node": "http://127.0.0.1:\(node.port)"])

        let client = HTTPClient(eventLoopGroupProvider: .shared(group))
        let paths = SampleOrigin.catalogue(count: options.distinctURLs)
        var sampler = ZipfSampler(count: paths.count, exponent: options.zipfExponent, seed: options.seed)
        let sequence = (0..<options.requests).map { _ in paths[sampler.next()] }
        let base = "http://127.0.0.1:\(node.port)"
        let started = NIODeadline.now()
        let deadline = started + options.deadline
        var report = DemoReport()
        await withTaskGroup(of: DemoReport.self) { tasks in
            for worker in 0..<max(1, options.concurrency) {
                tasks.addTask {
                    var partial = DemoReport()
                    var index = worker
                    while index < sequence.count, NIODeadline.now() < deadline {
                        await fetch(base + sequence[index], client: client, into: &partial)
                        index += options.concurrency
                    }
                    return partial
                }
            }
            for await partial in tasks { report.merge(partial) }
        }
        report.elapsedSeconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
        report.cache = node.engine.stats.snapshot
        try await client.shutdown()
        await node.shutdown(gracePeriod: .seconds(5))
        try await origin.shutdown()
        try await group.shutdownGracefully()
        return report
    }

    private static func fetch(_ url: String, client: HTTPClient, into report: inout DemoReport) async {
        let began = NIODeadline.now()
        report.requests += 1
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            var received = 0
            for try await part in response.body { received += part.readableBytes }
            report.statusCounts[response.status.code, default: 0] += 1
            report.bytes += received
            if let status = response.headers["cache-status"].first {
                let fields = status.split(separator: ";").map { String($0).trimmed(of: " ") }
                let outcome = fields.dropFirst().first { $0 == "hit" || $0.hasPrefix("fwd=") } ?? "other"
                report.cacheOutcomes[outcome, default: 0] += 1
            }
        } catch {
            report.failures += 1
        }
        report.latenciesMicroseconds.append(Int((NIODeadline.now() - began).nanoseconds / 1000))
    }
}

/// Zipf-distributed indices in 0..<count (rank 0 most popular), from a seeded SplitMix64.
struct ZipfSampler {
    private var cumulative: [Double]
    private var state: UInt64

    init(count: Int, exponent: Double, seed: UInt64) {
        var total = 0.0
        cumulative = (1...max(1, count)).map { rank in
            total += 1 / pow(Double(rank), exponent)
            return total
        }
        cumulative = cumulative.map { $0 / total }
        state = seed
    }

    mutating func next() -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let uniform = Double(z >> 11) / Double(1 << 53)
        var low = 0, high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < uniform { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
