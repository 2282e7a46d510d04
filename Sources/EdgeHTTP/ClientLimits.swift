// Per-client limits, the "absorbs attacks" part of a reverse proxy: how many connections one client
// address may hold open at once, and how many requests per second it may send under a rule that sets
// a rate (a token bucket per address and rule: `requestRate` tokens a second, up to `requestBurst`).
// Over either limit the client gets 429 with Retry-After (RFC 6585 §4), counted in /stats and /metrics.
//
// Shared by every connection of the listener, on every event loop: the table sits behind a lock
// held for one lookup and one arithmetic step, sharded by address so loops rarely meet. It is bounded:
// past `maximumTrackedClients` per shard, entries idle for a while are dropped (a dropped bucket is
// full again, which only ever favours the client).
import NIOConcurrencyHelpers
import NIOCore

public final class ClientLimits: Sendable {
    /// Most connections one address may hold; 0 means no cap.
    public let maximumConnectionsPerClient: Int
    static let maximumTrackedClients = 16_384
    private let shards: [NIOLockedValueBox<Shard>]

    struct Bucket {
        var tokens: Double
        var updated: NIODeadline
    }

    struct Shard {
        var connections: [String: Int] = [:]
        var buckets: [String: Bucket] = [:]
    }

    public init(maximumConnectionsPerClient: Int, shardCount: Int = 16) {
        self.maximumConnectionsPerClient = maximumConnectionsPerClient
        self.shards = (0..<max(1, shardCount)).map { _ in NIOLockedValueBox(Shard()) }
    }

    private func shard(_ address: String) -> NIOLockedValueBox<Shard> {
        shards[Int(UInt(bitPattern: address.hashValue) % UInt(shards.count))]
    }

    /// A connection from `address` opened; false (and nothing counted) when it is over the cap.
    public func connectionOpened(from address: String) -> Bool {
        guard maximumConnectionsPerClient > 0 else { return true }
        return shard(address).withLockedValue { shard in
            let open = shard.connections[address, default: 0]
            guard open < maximumConnectionsPerClient else { return false }
            shard.connections[address] = open + 1
            return true
        }
    }

    /// A connection that `connectionOpened` admitted has closed.
    public func connectionClosed(from address: String) {
        guard maximumConnectionsPerClient > 0 else { return }
        shard(address).withLockedValue { shard in
            let open = shard.connections[address, default: 1] - 1
            shard.connections[address] = open > 0 ? open : nil
        }
    }

    /// Takes a token for one request from `address` under `rule`; nil when admitted, else how long
    /// until a token is there (for Retry-After).
    public func admit(_ address: String, rule: String, rate: Double, burst: Int, now: NIODeadline = .now()) -> TimeAmount? {
        guard rate > 0 else { return nil }
        let capacity = Double(max(1, burst))
        let key = rule + "\u{0}" + address
        return shard(address).withLockedValue { shard in
            var bucket = shard.buckets[key] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = Double((now - bucket.updated).nanoseconds) / 1e9
            bucket.tokens = min(capacity, bucket.tokens + max(0, elapsed) * rate)
            bucket.updated = now
            defer {
                if shard.buckets.count > Self.maximumTrackedClients { Self.prune(&shard.buckets, now: now) }
            }
            guard bucket.tokens >= 1 else {
                shard.buckets[key] = bucket
                return .nanoseconds(Int64((1 - bucket.tokens) / rate * 1e9))
            }
            bucket.tokens -= 1
            shard.buckets[key] = bucket
            return nil
        }
    }

    /// Drops buckets untouched for a minute (they would be full by now at any useful rate).
    private static func prune(_ buckets: inout [String: Bucket], now: NIODeadline) {
        buckets = buckets.filter { now - $0.value.updated < .seconds(60) }
    }

    /// Retry-After in whole seconds, at least 1 (RFC 9110 §10.2.3).
    public static func retryAfter(_ wait: TimeAmount) -> String {
        String(max(1, Int((Double(wait.nanoseconds) / 1e9).rounded(.up))))
    }
}
