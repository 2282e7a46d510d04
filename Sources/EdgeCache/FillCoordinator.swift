// One origin fetch per key at a time. A request for a key already being filled waits on that
// fill (bounded waiters per key, each for at most `collapseTimeout` before it is declined and
// fetches alone); the first request leads a new one. Fills unregister themselves
// when they finish or stop taking waiters. Background revalidations (stale-while-revalidate) are
// fills with no subscriber, at most one per key.
import CachePolicy
import CacheStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import OriginClient

public final class FillCoordinator: Sendable {
    public enum Role {
        /// Start the fill: build the origin request and call `start`.
        case leader
        /// Waiting on another request's fill; events arrive through the subscriber.
        case follower
    }

    let origin: any OriginFetching
    let storage: any CacheStorage
    let disk: DiskAccess?
    let stats: Stats
    let uncacheable: UncacheableMemory
    let clock: any CacheClock
    let logger: Logger
    let maximumWaiters: Int
    /// How long a waiter waits for its fill's response to start before it fetches alone.
    let collapseTimeout: TimeAmount
    /// Purges that fills under way must not undo.
    public let purgeFence = PurgeFence()
    /// The largest body the memory tier can hold; a fill declared larger goes to the disk tier
    /// alone, when there is one.
    var memoryObjectLimit: Int { storage.largestObjectBytes }
    private let fills = NIOLockedValueBox<[String: Fill]>([:])

    init(origin: any OriginFetching, storage: any CacheStorage, disk: DiskAccess?, stats: Stats, uncacheable: UncacheableMemory,
         clock: any CacheClock, maximumWaiters: Int, collapseTimeout: TimeAmount, logger: Logger) {
        self.origin = origin
        self.storage = storage
        self.disk = disk
        self.stats = stats
        self.uncacheable = uncacheable
        self.clock = clock
        self.maximumWaiters = maximumWaiters
        self.collapseTimeout = collapseTimeout
        self.logger = logger
    }

    /// Joins the fill for `plan.key`, or starts one led by `subscriber` on its loop.
    /// The returned handle is what the subscriber detaches from and (as leader) starts.
    public func join(_ plan: FillPlan, subscriber: any FillSubscriber) -> (FillHandle, Role) {
        fills.withLockedValue { fills in
            if let fill = fills[plan.key] {
                if fill.join(subscriber, requestHeaders: plan.requestHeaders, maximumWaiters: maximumWaiters) {
                    stats.count(.collapsedWaits)
                    // The wait is bounded: past the timeout an unstarted waiter is declined.
                    subscriber.eventLoop.scheduleTask(in: collapseTimeout) { [weak fill, weak subscriber] in
                        guard let fill, let subscriber else { return }
                        fill.waitTimedOut(subscriber)
                    }
                    return (FillHandle(fill: fill), .follower)
                }
                // The fill takes no more waiters: fetch alone, outside the coordinator.
                let alone = Fill(plan: plan, eventLoop: subscriber.eventLoop, coordinator: self, registered: false)
                alone.attachLeader(subscriber, requestHeaders: plan.requestHeaders)
                return (FillHandle(fill: alone), .leader)
            }
            let fill = Fill(plan: plan, eventLoop: subscriber.eventLoop, coordinator: self, registered: true)
            fill.attachLeader(subscriber, requestHeaders: plan.requestHeaders)
            fills[plan.key] = fill
            return (FillHandle(fill: fill), .leader)
        }
    }

    /// A fill led by `subscriber` that no one else may join (after a wait was declined).
    public func alone(_ plan: FillPlan, subscriber: any FillSubscriber) -> FillHandle {
        let fill = Fill(plan: plan, eventLoop: subscriber.eventLoop, coordinator: self, registered: false)
        fill.attachLeader(subscriber, requestHeaders: plan.requestHeaders)
        return FillHandle(fill: fill)
    }

    /// Starts a background revalidation for a stale answer unless the key is already being
    /// filled. Returns whether one was started.
    @discardableResult
    public func revalidateInBackground(_ plan: FillPlan, request: OriginRequest, on eventLoop: any EventLoop) -> Bool {
        let fill: Fill? = fills.withLockedValue { fills in
            guard fills[plan.key] == nil else { return nil }
            let fill = Fill(plan: plan, eventLoop: eventLoop, coordinator: self, registered: true)
            fills[plan.key] = fill
            return fill
        }
        guard let fill else { return false }
        stats.count(.backgroundRevalidations)
        fill.start(request)
        return true
    }

    func remove(_ fill: Fill) {
        guard fill.registered else { return }
        fills.withLockedValue { fills in
            if fills[fill.plan.key] === fill { fills[fill.plan.key] = nil }
        }
    }
}

/// What a subscriber holds of the fill it leads or waits on.
public struct FillHandle: Sendable {
    let fill: Fill

    /// Starts the origin call (leaders only).
    public func start(_ request: OriginRequest) {
        fill.start(request)
    }

    public func detach(_ subscriber: any FillSubscriber) {
        fill.detach(subscriber)
    }
}
