// PurgeFence: keeps a purge from being undone by a fill that was already under way. Each purge
// takes the next generation and is remembered with its selection; a fill notes the generation
// when its origin request starts, and before storing (or applying a 304) asks whether a later
// purge selects what it is about to store. If one does, the response is delivered to its waiters
// but not stored: it was fetched before the purge, so it is as old as what was purged.
//
// Invariants: generations only grow; the last `remembered` purges are kept, and a fill older
// than all of them is treated as superseded (never stored) rather than checked against too little.
// A fill reads one atomic when no purge happened since it started.
import CacheStore
import NIOConcurrencyHelpers
import Synchronization

public final class PurgeFence: Sendable {
    private let generation = Synchronization.Atomic<Int>(0)
    private let recent = NIOLockedValueBox<[(generation: Int, selection: PurgeSelection)]>([])
    let remembered: Int

    public init(remembered: Int = 256) {
        self.remembered = remembered
    }

    /// The generation now; a fill keeps it from the moment its origin request starts.
    public var current: Int { generation.load(ordering: .acquiring) }

    /// Records a purge before it is applied, so fills completing from now on see it.
    public func record(_ selection: PurgeSelection) {
        recent.withLockedValue { recent in
            let next = generation.wrappingAdd(1, ordering: .releasing).newValue
            recent.append((next, selection))
            if recent.count > remembered { recent.removeFirst(recent.count - remembered) }
        }
    }

    /// Whether a purge after `started` selects `response`.
    public func supersedes(_ response: StoredResponse, startedAt started: Int) -> Bool {
        guard generation.load(ordering: .acquiring) > started else { return false }
        return recent.withLockedValue { recent in
            guard let oldest = recent.first, oldest.generation <= started + 1 else { return true }
            return recent.contains { $0.generation > started && $0.selection.matches(response) }
        }
    }
}
