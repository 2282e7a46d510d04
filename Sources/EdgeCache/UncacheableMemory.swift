// Remembers, for a short while, keys whose responses turned out not storable for reasons of the
// response itself (private, no-store, no freshness, Set-Cookie, too large …), so that later
// requests for them skip waiting on a fill and go straight to the origin (Varnish's hit-for-pass,
// Pingora's predictor). Bounded: at most `capacity` keys; the oldest are forgotten first.
import CachePolicy
import NIOConcurrencyHelpers

public final class UncacheableMemory: Sendable {
    private struct Entry { var reason: NotCachedReason; var until: Timestamp }
    private struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var head = 0
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
