// Per-host traffic figures for /stats: requests, lookups, responses served from the store and
// body bytes by source, under the same definitions as the node-wide counters (Stats.swift).
//
// Invariants: at most `maximumHosts` hosts are tracked (spread over striped locks, each held for
// one dictionary update); requests for hosts beyond that are counted under `otherHosts`, so an
// attacker inventing Host values cannot grow this without bound.
import NIOConcurrencyHelpers

public final class HostTraffic: Sendable {
    public struct Counts: Sendable, Hashable {
        public var requests = 0, lookups = 0, servedFromCache = 0, bytesFromCache = 0, bytesFromOrigin = 0
        public init() {}
    }

    /// The name the hosts past the bound are counted under.
    public static let otherHosts = "(other hosts)"
    public let maximumHosts: Int
    private let stripes: [NIOLockedValueBox<[String: Counts]>]

    public init(maximumHosts: Int = 4_096, stripeCount: Int = 16) {
        self.maximumHosts = maximumHosts
        stripes = (0..<stripeCount).map { _ in NIOLockedValueBox([:]) }
    }

    /// Counts one finished request.
    public func record(host: String, lookup: Bool, servedFromCache: Bool, bytes: Int) {
        // Host is case-insensitive (RFC 9110 §4.2.3); most clients already send it in lower case.
        let name = host.isEmpty ? "(no host)" : host.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) ? host.lowercased() : host
        let perStripe = max(1, maximumHosts / stripes.count)
        let index = Int(UInt(bitPattern: name.hashValue) % UInt(stripes.count))
        stripes[index].withLockedValue { counts in
            // A host seen before (nearly every request) costs one lookup.
            if let position = counts.index(forKey: name) {
                counts.values[position].add(lookup: lookup, servedFromCache: servedFromCache, bytes: bytes)
                return
            }
            let key = counts.count < perStripe ? name : Self.otherHosts
            counts[key, default: Counts()].add(lookup: lookup, servedFromCache: servedFromCache, bytes: bytes)
        }
    }

    /// The `limit` hosts with the most requests, most first.
    public func top(_ limit: Int) -> [(host: String, counts: Counts)] {
        var all: [String: Counts] = [:]
        for stripe in stripes {
            for (host, counts) in stripe.withLockedValue({ $0 }) { all[host, default: Counts()].merge(counts) }
        }
        return all.sorted { ($0.value.requests, $1.key) > ($1.value.requests, $0.key) }.prefix(limit).map { ($0.key, $0.value) }
    }
}

extension HostTraffic.Counts {
    mutating func add(lookup: Bool, servedFromCache: Bool, bytes: Int) {
        requests += 1
        if lookup { lookups += 1 }
        if servedFromCache {
            self.servedFromCache += 1
            bytesFromCache += bytes
        } else {
            bytesFromOrigin += bytes
        }
    }

    mutating func merge(_ other: Self) {
        requests += other.requests
        lookups += other.lookups
        servedFromCache += other.servedFromCache
        bytesFromCache += other.bytesFromCache
        bytesFromOrigin += other.bytesFromOrigin
    }
}
