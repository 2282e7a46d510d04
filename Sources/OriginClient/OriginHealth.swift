// Origin selection with passive health checks, as a value type with `now` passed in.
// Round robin over the origins that are up; an origin whose connects fail is taken out for a
// back-off period that doubles with each consecutive failure (up to a cap), then tried again.
// Invariant: `select` always returns an origin when any exists (all down → the one that comes
// back soonest), so a node never refuses a request only because every origin was marked down.
import NIOCore

public struct OriginHealth: Sendable {
    public struct Entry: Sendable, Equatable {
        /// Not selected before this instant unless every origin is down.
        public var downUntil: NIODeadline?
        public var consecutiveFailures: Int
    }

    public private(set) var entries: [Entry]
    private var nextIndex = 0
    public let baseBackoff: TimeAmount
    public let maximumBackoff: TimeAmount

    public init(count: Int, baseBackoff: TimeAmount, maximumBackoff: TimeAmount) {
        self.entries = Array(repeating: Entry(downUntil: nil, consecutiveFailures: 0), count: count)
        self.baseBackoff = baseBackoff
        self.maximumBackoff = max(maximumBackoff, baseBackoff)
    }

    public func isUp(_ index: Int, now: NIODeadline) -> Bool {
        guard let until = entries[index].downUntil else { return true }
        return until <= now
    }

    /// The next origin in round-robin order that is up, skipping `excluded` (the origin a retry
    /// must avoid). Returns nil only when no origin other than `excluded` exists.
    public mutating func select(now: NIODeadline, excluding excluded: Int? = nil) -> Int? {
        let count = entries.count
        guard count > 0 else { return nil }
        for step in 0..<count {
            let index = (nextIndex + step) % count
            if index == excluded { continue }
            if isUp(index, now: now) {
                nextIndex = (index + 1) % count
                return index
            }
        }
        // Every candidate is down: try the one whose back-off ends first.
        let candidates = entries.indices.filter { $0 != excluded }
        return candidates.min { (entries[$0].downUntil ?? now) < (entries[$1].downUntil ?? now) }
    }

    /// A connect to `index` failed: take it out for base × 2^(failures−1), capped.
    /// Returns the back-off applied.
    @discardableResult
    public mutating func connectFailed(_ index: Int, now: NIODeadline) -> TimeAmount {
        entries[index].consecutiveFailures += 1
        let shift = min(entries[index].consecutiveFailures - 1, 20)
        let backoff = min(TimeAmount.nanoseconds(baseBackoff.nanoseconds << Int64(shift)), maximumBackoff)
        entries[index].downUntil = now + backoff
        return backoff
    }

    /// An exchange with `index` got a response: it is up again. Returns whether it had been down.
    @discardableResult
    public mutating func responded(_ index: Int) -> Bool {
        let wasDown = entries[index].consecutiveFailures > 0
        entries[index] = Entry(downUntil: nil, consecutiveFailures: 0)
        return wasDown
    }
}
