// Timestamp: a point in time as seconds since the Unix epoch.
//
// Policy never reads a clock: every function that needs "now" takes it as a parameter, so the
// same inputs always give the same verdict and tests use hand-written times.
// Invariant: `seconds` is finite; differences are plain seconds (Double).

/// A point in time, in seconds since 1970-01-01T00:00:00Z.
public struct Timestamp: Comparable, Hashable, Sendable, Codable {
    /// Seconds since the Unix epoch (may carry a fraction).
    public var seconds: Double

    public init(seconds: Double) {
        self.seconds = seconds
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.seconds < rhs.seconds
    }

    /// The time `seconds` later.
    public static func + (lhs: Timestamp, rhs: Double) -> Timestamp {
        Timestamp(seconds: lhs.seconds + rhs)
    }

    /// The time `seconds` earlier.
    public static func - (lhs: Timestamp, rhs: Double) -> Timestamp {
        Timestamp(seconds: lhs.seconds - rhs)
    }

    /// The difference `lhs − rhs` in seconds (negative when `lhs` is earlier).
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Double {
        lhs.seconds - rhs.seconds
    }

    /// Seconds from `other` to `self`; the same as `self - other`.
    public func seconds(since other: Timestamp) -> Double {
        seconds - other.seconds
    }
}
