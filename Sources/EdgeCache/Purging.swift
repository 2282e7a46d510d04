// An operator's purge across the tiers: applied to the disk index and to memory before it
// returns, so a purge that was acknowledged cannot come back after a restart.
//
// Order matters: the purge fence first (fills under way will not store what it selects, and
// disk reads under way will not promote it), then memory, then disk (after every queued disk
// write), then memory again, which removes what a fill committed in between. Counted once per
// variant across the passes and tiers.
import CacheStore

/// What a purge selected in each tier.
public struct PurgeOutcome: Sendable {
    public var memory: [PurgedVariant]
    /// Nil when the node has no disk tier.
    public var disk: [PurgedVariant]?

    /// Each variant once, whichever tiers held it.
    public var variants: [PurgedVariant] {
        var seen: [String: PurgedVariant] = [:]
        for variant in memory + (disk ?? []) { seen[variant.key + "\u{0}" + variant.variantKey] = variant }
        return Array(seen.values)
    }
}

extension CacheEngine {
    /// `counted: false` for a further pass of one operator purge (e.g. a URL's forward-proxy key),
    /// so the purge counter counts purges asked for, not passes.
    public func purge(_ selection: PurgeSelection, action: PurgeAction, counted: Bool = true) async -> PurgeOutcome {
        if action != .count { fills.purgeFence.record(selection) }
        var memory = storage.purge(selection, action: action)
        let disk = await self.disk?.purge(selection, action: action)
        if action != .count {
            let again = storage.purge(selection, action: action)
            let known = Set(memory.map { $0.key + "\u{0}" + $0.variantKey })
            memory += again.filter { !known.contains($0.key + "\u{0}" + $0.variantKey) }
        }
        let outcome = PurgeOutcome(memory: memory, disk: disk)
        if action != .count {
            if counted { stats.count(.purges) }
            stats.count(.purgedVariants, by: outcome.variants.count)
        }
        return outcome
    }
}
