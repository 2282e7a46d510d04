// Remembers, for a short while, keys whose responses turned out not storable for reasons of the
// response itself (private, no-store, no freshness, Set-Cookie, too large …), so that later
// requests for them skip waiting on a fill and go straight to the origin (Varnish's hit-for-pass,
// Pingora's predictor). Bounded: at most `capacity` keys; the oldest are forgotten first.
//
// Beside it, a longer history of the last time each key was declined and why (any reason the
// node did not store a response for it, or a rule bypassed it), for `GET /entry?url=` and
// `outpostctl inspect`: the same NotCachedReason that Cache-Status carried. It never expires,
// it is only bounded (`capacity` keys, oldest first out), and it changes no decision.
import CachePolicy
import NIOConcurrencyHelpers

public final class UncacheableMemory: Sendable {
    private struct Entry { var reason: NotCachedReason; var until: Timestamp }
    private struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var head = 0
        var declines = BoundedHistory()
    }

    /// The last decline of a key: why, and when (the engine's clock).
    public struct Decline: Sendable, Equatable {
        public var reason: NotCachedReason
        public var at: Timestamp
    }

    /// Key → last decline, forgetting the keys first declined longest ago past `capacity`.
    private struct BoundedHistory {
        var latest: [String: Decline] = [:]
        var order: [String] = []
        var head = 0

        mutating func record(_ key: String, _ decline: Decline, capacity: Int) {
            if latest.updateValue(decline, forKey: key) == nil {
                order.append(key)
                if order.count - head > capacity {
                    latest[order[head]] = nil
                    head += 1
                }
                if head > 4096 && head * 2 > order.count {
                    order.removeFirst(head)
                    head = 0
                }
            }
        }
    }

    private let state = NIOLockedValueBox(State())
    public let duration: Double
    public let capacity: Int

    public init(duration: Double = 30, capacity: Int = 10_000) {
        self.duration = duration
        self.capacity = capacity
    }

    /// Whether a response-side reason says something about the key rather than one request.
    public static func isAboutTheResponse(_ reason: NotCachedReason) -> Bool {
        switch reason {
        case .responseNoStore, .responsePrivate, .statusNotCacheable, .noFreshnessInformation, .varyStar,
             .setCookie, .tooLarge, .mustUnderstandUnknownStatus, .partialContent:
            return true
        default:
            return false
        }
    }

    public func remember(_ key: String, reason: NotCachedReason, now: Timestamp) {
        state.withLockedValue { state in
            state.declines.record(key, Decline(reason: reason, at: now), capacity: capacity)
            if state.entries[key] == nil {
                state.order.append(key)
                if state.order.count - state.head > capacity {
                    state.entries[state.order[state.head]] = nil
                    state.head += 1
                }
                if state.head > 4096 && state.head * 2 > state.order.count {
                    state.order.removeFirst(state.head)
                    state.head = 0
                }
            }
            state.entries[key] = Entry(reason: reason, until: now + duration)
        }
    }

    /// Notes that the node declined to store (or to look up, for a rule bypass) `key`.
    public func declined(_ key: String, reason: NotCachedReason, now: Timestamp) {
        state.withLockedValue { $0.declines.record(key, Decline(reason: reason, at: now), capacity: capacity) }
    }

    /// The last time `key` was declined, and why; nil when it never was (or was forgotten).
    public func lastDecline(for key: String) -> Decline? {
        state.withLockedValue { $0.declines.latest[key] }
    }

    public func forget(_ key: String) {
        _ = state.withLockedValue { $0.entries.removeValue(forKey: key) }
    }

    /// The remembered reason, if the key is still remembered at `now`.
    public func reason(for key: String, now: Timestamp) -> NotCachedReason? {
        state.withLockedValue { state in
            guard let entry = state.entries[key] else { return nil }
            return entry.until > now ? entry.reason : nil
        }
    }
}
