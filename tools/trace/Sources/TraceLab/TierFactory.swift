// TierFactory: builds the memory tier the lab measures. Kept apart so the probe can be built
// against a tier that predates the eviction choice (the baseline measurement: there, drop the argument).
import CachePolicy
import CacheStore

func makeTier(capacityBytes: Int, eviction: EvictionChoice, shardCount: Int = 16) -> MemoryTier {
    MemoryTier(capacityBytes: capacityBytes, shardCount: shardCount, eviction: eviction)
}
