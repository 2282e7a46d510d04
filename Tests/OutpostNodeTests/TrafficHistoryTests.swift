// TrafficHistory as a pure value: windows and per-minute points from samples with made-up times.
import AdminHTTP
import Testing

@Suite("Traffic history")
struct TrafficHistoryTests {
    func sample(_ time: Double, requests: Int, served: Int) -> TrafficSample {
        TrafficSample(time: time, requests: requests, lookups: requests, servedFromCache: served)
    }

    @Test("a window is the difference from the latest sample at or before its start")
    func windows() {
        var history = TrafficHistory()
        for second in 0...120 { history.record(sample(Double(second), requests: second * 10, served: second * 5)) }
        let now = sample(120.5, requests: 1210, served: 605)
        let minute = try! #require(history.window(seconds: 60, current: now))
        #expect(minute.time == 60.5)  // from the sample at 60.0, the latest at or before the start (60.5)
        #expect(minute.requests == 1210 - 600)
        #expect(minute.servedFromCache == 605 - 300)
        // Younger than the window: from the oldest sample, and says so.
        let hour = try! #require(history.window(seconds: 3600, current: now))
        #expect(hour.time == 120.5)
        #expect(hour.requests == 1210)
    }

    @Test("the oldest samples go once the capacity is reached; an out-of-order sample is ignored")
    func capacity() {
        var history = TrafficHistory(capacity: 3)
        for second in 0..<5 { history.record(sample(Double(second), requests: second, served: 0)) }
        #expect(history.samples.map(\.time) == [2, 3, 4])
        history.record(sample(1, requests: 99, served: 0))
        #expect(history.samples.map(\.time) == [2, 3, 4])
        #expect(TrafficHistory().window(seconds: 60, current: sample(0, requests: 0, served: 0)) == nil)
    }

    @Test("per-minute points cover whole minutes back to the first sample, oldest first")
    func perMinute() {
        var history = TrafficHistory()
        for second in stride(from: 0, through: 150, by: 1) { history.record(sample(Double(second), requests: second, served: second / 2)) }
        let points = history.perMinute(count: 60, current: sample(150, requests: 150, served: 75))
        #expect(points.map(\.end) == [30, 90, 150])
        #expect(points.map(\.traffic.requests) == [30, 60, 60])
        #expect(points.reduce(0) { $0 + $1.traffic.requests } == 150)
    }
}
