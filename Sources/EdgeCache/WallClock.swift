// The engine's notion of now, injected so tests can move time instead of sleeping past a TTL.
import CachePolicy
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public protocol CacheClock: Sendable {
    func now() -> Timestamp
}

/// Real time (CLOCK_REALTIME): HTTP dates are wall-clock dates.
public struct WallClock: CacheClock {
    public init() {}
    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(seconds: Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000)
    }
}

/// A clock that moves only when told to: wall time at creation plus the advances made.
public final class ManualClock: CacheClock {
    private let offset = NIOLockedValueBox(0.0)
    private let start = WallClock().now()
    public init() {}
    public func now() -> Timestamp { start + offset.withLockedValue { $0 } }
    public func advance(by seconds: Double) { offset.withLockedValue { $0 += seconds } }
}
