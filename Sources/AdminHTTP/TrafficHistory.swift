// TrafficHistory: samples of the node's cumulative counters, one per second, kept for an hour, so
// /stats can answer "over the last minute / five minutes / hour" as differences of two samples.
// A pure value with time passed in (tests feed it samples directly); TrafficRecorder takes the
// samples on a timer.
//
// Invariants: samples are in increasing time order; at most `capacity` are kept (the oldest go
// first); a window never reaches before the oldest sample, and says how much it covered.
import EdgeCache
import Foundation
import NIOConcurrencyHelpers
import NIOCore

public struct TrafficSample: Sendable, Hashable {
    public var time: Double
    public var requests = 0, lookups = 0, servedFromCache = 0, bytesFromCache = 0, bytesFromOrigin = 0

    public init(time: Double, requests: Int = 0, lookups: Int = 0, servedFromCache: Int = 0, bytesFromCache: Int = 0, bytesFromOrigin: Int = 0) {
        self.time = time
        self.requests = requests
        self.lookups = lookups
        self.servedFromCache = servedFromCache
        self.bytesFromCache = bytesFromCache
        self.bytesFromOrigin = bytesFromOrigin
    }

    public init(time: Double, snapshot: StatsSnapshot) {
        self.init(time: time, requests: snapshot[.requests], lookups: snapshot[.lookups], servedFromCache: snapshot.servedFromCache,
                  bytesFromCache: snapshot[.bytesFromCache], bytesFromOrigin: snapshot[.bytesFromOrigin])
    }

    /// The traffic between `earlier` and this sample.
    public func since(_ earlier: TrafficSample) -> TrafficSample {
        TrafficSample(time: time - earlier.time, requests: requests - earlier.requests, lookups: lookups - earlier.lookups,
                      servedFromCache: servedFromCache - earlier.servedFromCache,
                      bytesFromCache: bytesFromCache - earlier.bytesFromCache, bytesFromOrigin: bytesFromOrigin - earlier.bytesFromOrigin)
    }
}

public struct TrafficHistory: Sendable {
    public let capacity: Int
    public private(set) var samples: [TrafficSample] = []

    /// An hour of one-second samples by default.
    public init(capacity: Int = 3_601) {
        precondition(capacity >= 1, "a history keeps at least one sample")
        self.capacity = capacity
    }

    public mutating func record(_ sample: TrafficSample) {
        if let last = samples.last, sample.time < last.time { return }
        samples.append(sample)
        if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
    }

    /// The traffic from `seconds` before `current` to `current` (its `time` is the span covered:
    /// less than `seconds` while the history is younger than that). Nil before the first sample.
    public func window(seconds: Double, current: TrafficSample) -> TrafficSample? {
        guard let oldest = samples.first else { return nil }
        let start = current.time - seconds
        // The latest sample at or before the start; the oldest when the history is younger.
        let baseline = samples.last { $0.time <= start } ?? oldest
        return current.since(baseline)
    }

    /// The traffic of each of the last `count` whole minutes ending at `current`, oldest first;
    /// minutes before the first sample are left out.
    public func perMinute(count: Int, current: TrafficSample) -> [(end: Double, traffic: TrafficSample)] {
        guard let oldest = samples.first else { return [] }
        var result: [(end: Double, traffic: TrafficSample)] = []
        var later = current
        for minute in 0..<count {
            let start = current.time - Double(minute + 1) * 60
            if later.time <= oldest.time { break }
            let baseline = samples.last { $0.time <= start } ?? oldest
            result.append((later.time, later.since(baseline)))
            later = baseline
        }
        return result.reversed()
    }
}

/// Takes a sample of the engine's counters every second, on one event loop.
public final class TrafficRecorder: Sendable {
    private let history = NIOLockedValueBox(TrafficHistory())
    private let stats: Stats
    private let task: NIOLockedValueBox<RepeatedTask?> = NIOLockedValueBox(nil)

    public init(stats: Stats) {
        self.stats = stats
    }

    public func start(on eventLoop: any EventLoop) {
        sample()
        let repeated = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in sample() }
        task.withLockedValue { $0 = repeated }
    }

    public func stop() {
        task.withLockedValue { $0?.cancel(); $0 = nil }
    }

    public var snapshot: TrafficHistory { history.withLockedValue { $0 } }

    private func sample() {
        let sample = TrafficSample(time: Date().timeIntervalSince1970, snapshot: stats.snapshot)
        history.withLockedValue { $0.record(sample) }
    }
}
