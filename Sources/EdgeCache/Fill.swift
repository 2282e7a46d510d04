// One origin fetch for one key, shared by every request that waits on it (Varnish's busy object
// and waiting list, Pingora's cache lock):
// - the body streams to every subscriber as it arrives, not after it completes, and into the
//   store at the same time;
// - the leading subscriber paces the origin (backpressure); once it leaves, the fetch goes on
//   unpaced so the cache still fills — a fetch is never cancelled because its first client left,
//   unless nothing would be stored and nobody is listening;
// - a response that is not storable, or varies differently from a waiter's request, is not shared:
//   those waiters are declined and fetch on their own;
// - a body that does not arrive whole is abandoned, never stored, and every subscriber gets a
//   failure (never a short body passed off as complete);
// - the head of a small storable response (declared length up to `headHoldLimit`) is held until
//   the body has ended and the store has answered, so the `Cache-Status` it carries says `stored`
//   only for what was stored, and a response cut short becomes a 502 instead of a truncated
//   body; larger or unsized bodies stream at once and never claim `stored` in their head;
// - a response larger than the memory tier can hold (declared so, or found so as it arrives),
//   but within the rules' bound, is stored on the disk tier alone (DiskStreamingFill), whose
//   writes pace the origin too.
// Two sides, two rules. The origin side — the lifecycle (FillStateMachine: awaiting the head,
// holding it, streaming to a store target, refetching, answered from the store, finished), the
// store fills and the call — is confined to `eventLoop`, where every origin callback runs. The
// subscriber side — who listens, and what a request joining from another loop gets (`sharing`) —
// sits behind `lock`, and every delivery is enqueued on the subscriber's loop while holding it,
// which keeps each subscriber's events in order.
import CachePolicy
import CacheStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import OriginClient

final class Fill: OriginResponseHandling, @unchecked Sendable {
    private struct Subscription {
        let subscriber: any FillSubscriber
        let requestHeaders: HTTPHeaders
        let isLeader: Bool
    }

    /// What a request that joins now gets: the lifecycle as seen from other loops.
    private enum Sharing {
        case beforeHead
        /// The origin's head has arrived; it is held back until the body ends.
        case headHeld(FillResponse, variantKey: String, varyFieldNames: [String])
        case streaming(FillResponse, variantKey: String, varyFieldNames: [String])
        case over
    }

    let plan: FillPlan
    let eventLoop: any EventLoop
    let registered: Bool
    unowned let coordinator: FillCoordinator

    // Guarded by `lock`.
    private let lock = NIOLock()
    private var sharing = Sharing.beforeHead
    private var subscriptions: [Subscription] = []
    /// Body parts so far, for subscribers that join while streaming; only while joinable.
    private var parts: [ByteBuffer] = []
    private var joinable = true

    // Confined to `eventLoop`.
    private var lifecycle: FillStateMachine
    private var call: (any OriginFetch)?
    private var storeFill: (any CacheFill)?
    /// Instead of `storeFill`, for a response too large for memory.
    private var diskFill: DiskStreamingFill?
    private var storing: StoredResponse?
    private var receivedBytes = 0
    private var declaredLength: Int?
    private var requestTime = Timestamp(seconds: 0)
    /// The purge generation when the origin request started (see PurgeFence).
    private var purgeGeneration = 0
    /// The stored response the origin request validates; nil once a 304 could not be used.
    private var validating: StoredEntry?
    /// The origin request, kept to ask again without validators (see `refetchUnconditionally`).
    private var request: OriginRequest?
    /// The body parts read while the head is held; delivered with it.
    private var heldParts: [ByteBuffer] = []
    /// Why storing stopped, when it did (for the held head's Cache-Status).
    private var abandonedBecause: NotCachedReason?

    /// Declared lengths up to this hold their head until the body ends (see the header comment).
    static let headHoldLimit = 256 * 1024

    init(plan: FillPlan, eventLoop: any EventLoop, coordinator: FillCoordinator, registered: Bool) {
        self.plan = plan
        self.eventLoop = eventLoop
        self.coordinator = coordinator
        self.registered = registered
        self.validating = plan.validating
        self.lifecycle = FillStateMachine(validating: plan.validating != nil)
    }

    // MARK: subscribers (any loop)

    /// Adds the subscriber that leads the fill (the request that created it), if any.
    func attachLeader(_ subscriber: any FillSubscriber, requestHeaders: HTTPHeaders) {
        lock.withLock {
            subscriptions.append(Subscription(subscriber: subscriber, requestHeaders: requestHeaders, isLeader: true))
        }
    }

    /// Adds a waiting subscriber; false when the fill no longer takes waiters.
    func join(_ subscriber: any FillSubscriber, requestHeaders: HTTPHeaders, maximumWaiters: Int) -> Bool {
        lock.withLock {
            guard joinable, subscriptions.count < maximumWaiters else { return false }
            let subscription = Subscription(subscriber: subscriber, requestHeaders: requestHeaders, isLeader: false)
            switch sharing {
            case .beforeHead:
                subscriptions.append(subscription)
            case .headHeld(_, let variantKey, let varyFieldNames):
                guard matches(subscription, variantKey: variantKey, varyFieldNames: varyFieldNames) else { return false }
                subscriptions.append(subscription)
            case .streaming(let response, let variantKey, let varyFieldNames):
                guard matches(subscription, variantKey: variantKey, varyFieldNames: varyFieldNames) else { return false }
                subscriptions.append(subscription)
                let parts = self.parts
                subscriber.eventLoop.execute {
                    _ = subscriber.fillStarted(response)
                    for part in parts { _ = subscriber.fillBodyPart(part) }
                }
            case .over:
                return false
            }
            return true
        }
    }

    /// A waiter's collapse timeout: unless its response has started (been delivered or queued to
    /// it), it is declined and fetches alone. Decided under the lock that orders every delivery,
    /// so a waiter gets either the response or the decline, never both.
    func waitTimedOut(_ subscriber: any FillSubscriber) {
        lock.withLock {
            switch sharing {
            case .beforeHead, .headHeld: break
            case .streaming, .over: return
            }
            guard let index = subscriptions.firstIndex(where: { $0.subscriber === subscriber && !$0.isLeader }) else { return }
            subscriptions.remove(at: index)
            subscriber.eventLoop.execute { subscriber.fillDeclined(.waitTimedOut) }
        }
    }

    /// The subscriber no longer wants the response (its client left).
    func detach(_ subscriber: any FillSubscriber) {
        let abandon: Bool = lock.withLock {
            guard let index = subscriptions.firstIndex(where: { $0.subscriber === subscriber }) else { return false }
            subscriptions.remove(at: index)
            return subscriptions.isEmpty
        }
        if abandon {
            // Nobody listens: go on only if the response is being stored, or may still be.
            eventLoop.execute { [self] in
                if lifecycle.streamsUnstored { stop() }
            }
        }
    }

    private func matches(_ subscription: Subscription, variantKey: String, varyFieldNames: [String]) -> Bool {
        if subscription.isLeader || varyFieldNames.isEmpty { return true }
        return Variants.secondaryKey(vary: varyFieldNames, request: subscription.requestHeaders,
                                     normaliseAcceptEncoding: plan.settings.key.normaliseAcceptEncoding) == variantKey
    }

    // MARK: the origin call (on eventLoop)

    func start(_ request: OriginRequest) {
        eventLoop.execute { [self] in
            self.request = request
            requestTime = coordinator.clock.now()
            purgeGeneration = coordinator.purgeFence.current
            coordinator.stats.count(.originFetches)
            call = (plan.destination ?? coordinator.origin).fetch(request, on: eventLoop, handler: coordinator.stats.origins.metered(self))
        }
    }

    func originResponseHeadReceived(_ head: HTTPResponseHead, from origin: OriginServer) -> EventLoopFuture<Void> {
        guard case .awaitingHead(let isValidating) = lifecycle.state else { return eventLoop.makeSucceededVoidFuture() }
        let now = coordinator.clock.now()
        if isValidating, let validating {
            if head.status == .notModified {
                // RFC 9111 §4.3.4: the 304 updates the stored response it identifies. When it
                // identifies none (its validator names another representation), the stored
                // response cannot be used and the 304 says nothing else: ask once more without
                // validators (§4.3.3 leaves the cache to get a full response), never answering
                // the client with an error.
                let selects = Validation.notModifiedSelects(head.headers, validated: validating.response.cached)
                if lifecycle.headReceived(.notModified(selectsStored: selects)) == .answerRevalidated {
                    revalidated(validating, notModified: head.headers, origin: origin, now: now)
                } else {
                    coordinator.logger.debug("304 selected no stored response; fetching again without validators",
                                             metadata: ["key": "\(plan.key)"])
                }
                return eventLoop.makeSucceededVoidFuture()
            }
            if Reuse.isOriginError(status: Int(head.status.code)),
               case .allowed(let staleness) = Reuse.staleIfError(cached: validating.response.cached, request: plan.requestHeaders,
                                                                settings: plan.settings, now: now),
               lifecycle.headReceived(.staleIfError) == .answerStale {
                serveStale(validating, staleness: staleness, originStatus: Int(head.status.code), origin: origin)
                return eventLoop.makeSucceededVoidFuture()
            }
        }
        // RFC 9110 §7.6.1: the hop-by-hop lines go before the response is judged (and before it
        // is packed: one packing, not two); what is judged is what is stored, and what the
        // subscribers are given (so they find nothing left to remove).
        let endToEnd = head.headers.removingHopByHopFields(and: .empty)
        let fields = HeaderFields(endToEnd)
        var notStored: NotCachedReason?
        var variantKey = ""
        var varyFieldNames: [String] = []
        var timeToLive: Double?
        var target = FillStateMachine.StoreTarget.none
        declaredLength = head.headers.first(name: "content-length").flatMap { Int($0) }
        switch Storability.decide(method: "GET", request: plan.requestHeaders, status: Int(head.status.code),
                                  response: fields, responseTime: now, settings: plan.settings) {
        case .notStorable(let reason):
            notStored = reason
        case .storable(let storagePlan):
            varyFieldNames = Variants.fieldNames(vary: head.headers["vary"]) ?? []
            variantKey = Variants.secondaryKey(vary: head.headers["vary"], request: plan.requestHeaders,
                                               normaliseAcceptEncoding: plan.settings.key.normaliseAcceptEncoding) ?? ""
            let others = coordinator.storage.variants(for: plan.key).filter { $0.response.variantKey != variantKey }
            if let declaredLength, declaredLength > plan.settings.maxObjectSize {
                notStored = .tooLarge
            } else if others.count >= plan.settings.maxVariants {
                notStored = .tooManyVariants
            } else {
                var response = StoredResponse(
                    key: plan.key, variantKey: variantKey, varyFieldNames: varyFieldNames, url: plan.url, host: plan.host,
                    status: Int(head.status.code), fields: storagePlan.storedFields(fromEndToEnd: fields), requestTime: requestTime,
                    responseTime: now, tags: Invalidation.tags(head.headers), bodyLength: declaredLength ?? 0)
                response.reuseFacts = storagePlan.reuseFacts(of: response.cached, settings: plan.settings)
                storing = response
                if let disk = coordinator.disk, let declaredLength, declaredLength > coordinator.memoryObjectLimit {
                    diskFill = disk.beginStreamingFill(response)
                    target = .disk
                } else {
                    storeFill = coordinator.storage.beginFill(response)
                    target = .memory
                }
                timeToLive = storagePlan.lifetime.seconds - response.cached.age.currentAge(now: now)
            }
        }
        if let notStored {
            coordinator.stats.countNotStored(notStored)
            if UncacheableMemory.isAboutTheResponse(notStored) {
                coordinator.uncacheable.remember(plan.key, reason: notStored, now: now)
            } else {
                coordinator.uncacheable.declined(plan.key, reason: notStored, now: now)
            }
        } else {
            coordinator.uncacheable.forget(plan.key)
        }
        let response = FillResponse(status: head.status, headers: endToEnd, outcome: .fetched(notStored: notStored),
                                    stored: nil, reason: plan.reason, timeToLive: timeToLive, origin: origin)
        let holdable = declaredLength.map { $0 <= Self.headHoldLimit } ?? false
        if lifecycle.headReceived(.fetched(target, holdable: holdable)) == .holdHead {
            // RFC 9211 §2.7: `stored` is said once it is so; the head waits for the body (bounded).
            lock.withLock {
                sharing = .headHeld(response, variantKey: variantKey, varyFieldNames: varyFieldNames)
                subscriptions.removeAll { subscription in
                    guard !matches(subscription, variantKey: variantKey, varyFieldNames: varyFieldNames) else { return false }
                    subscription.subscriber.eventLoop.execute { subscription.subscriber.fillDeclined(.notShared(.varyMismatch)) }
                    return true
                }
            }
            return eventLoop.makeSucceededVoidFuture()
        }
        let (leaderPaced, unregister) = lock.withLock { () -> (EventLoopFuture<Void>?, Bool) in
            sharing = .streaming(response, variantKey: variantKey, varyFieldNames: varyFieldNames)
            joinable = notStored == nil
            var paced: EventLoopFuture<Void>?
            subscriptions.removeAll { subscription in
                if subscription.isLeader || (notStored == nil && matches(subscription, variantKey: variantKey, varyFieldNames: varyFieldNames)) {
                    let future = deliver(to: subscription) { $0.fillStarted(response) }
                    if subscription.isLeader { paced = future }
                    return false
                }
                let reason = notStored ?? .varyMismatch
                subscription.subscriber.eventLoop.execute { subscription.subscriber.fillDeclined(.notShared(reason)) }
                return true
            }
            return (paced, !joinable)
        }
        if unregister { coordinator.remove(self) }
        if lifecycle.streamsUnstored, leaderPaced == nil {
            // Not stored and nobody listening: reading the body would serve no one.
            stop()
        }
        return leaderPaced ?? eventLoop.makeSucceededVoidFuture()
    }

    /// RFC 9110 §15.2: a proxy forwards interim responses; they reach the requests waiting now.
    func originInformationalReceived(_ head: HTTPResponseHead) {
        guard case .awaitingHead = lifecycle.state else { return }
        lock.withLock {
            guard case .beforeHead = sharing else { return }
            for subscription in subscriptions {
                let subscriber = subscription.subscriber
                subscriber.eventLoop.execute { subscriber.fillInterimResponse(head) }
            }
        }
    }

    func originBodyPartReceived(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        let total = receivedBytes + part.readableBytes
        let withinBound = total <= plan.settings.maxObjectSize
        var memoryTook = false
        if lifecycle.target == .memory, withinBound, let storeFill { memoryTook = storeFill.append(part) }
        let action = lifecycle.bodyPartReceived(memoryTook: memoryTook, withinBound: withinBound,
                                                diskAvailable: coordinator.disk != nil && storing != nil,
                                                diskGaveUp: diskFill?.isGivenUp ?? false)
        switch action {
        case .ignore:
            // Not this fill's body (a 304's, or what follows an answer from the store): not counted.
            return eventLoop.makeSucceededVoidFuture()
        case .holdPart:
            receivedBytes = total
            heldParts.append(part)
            return eventLoop.makeSucceededVoidFuture()
        case .deliver(let change, let releaseHeldHead):
            receivedBytes = total
            if releaseHeldHead {
                // The memory tier cannot take it after all: the head goes now, without `stored`,
                // and the body streams from here on (before the disk switch below reads `parts`).
                self.releaseHeldHead(notStored: lifecycle.target == .disk ? nil : .tooLarge, storedWhole: false)
            }
            if let change { apply(change) }
        }
        var written: EventLoopFuture<Void>?
        if lifecycle.target == .disk, let diskFill { written = diskFill.append(part, on: eventLoop) }
        let paced: EventLoopFuture<Void>? = lock.withLock {
            if joinable { parts.append(part) }
            var paced: EventLoopFuture<Void>?
            for subscription in subscriptions {
                let future = deliver(to: subscription) { $0.fillBodyPart(part) }
                if subscription.isLeader { paced = future }
            }
            return paced
        }
        switch (paced, written) {
        case (let paced?, let written?): return paced.and(written).map { _ in }
        case (let paced?, nil): return paced
        case (nil, let written?): return written
        case (nil, nil): return eventLoop.makeSucceededVoidFuture()
        }
    }

    /// Moves the body to another store target, or to none, as the lifecycle said.
    private func apply(_ change: FillStateMachine.StoreChange) {
        switch change {
        case .memoryToDisk:
            storeFill?.abandon()
            storeFill = nil
            guard let disk = coordinator.disk, let storing else { return }
            // Larger than memory holds, though it did not say so (no Content-Length): the disk
            // alone takes it, from the parts kept for joining waiters (all of them so far, since a
            // storing fill is joinable); the current part follows.
            let diskFill = disk.beginStreamingFill(storing)
            for earlier in lock.withLock({ parts }) { _ = diskFill.append(earlier, on: eventLoop) }
            self.diskFill = diskFill
        case .memoryRefused:
            storeFill?.abandon()
            storeFill = nil
            coordinator.stats.countNotStored(.tooLarge)
            coordinator.uncacheable.remember(plan.key, reason: .tooLarge, now: coordinator.clock.now())
            lock.withLock { joinable = false; parts = [] }
            coordinator.remove(self)
        case .stopStoring(let reason):
            abandonStoring(reason)
        case .dropDiskFill:
            // Too large for the disk, a failed write or a paused disk: the tier counted it.
            diskFill?.abandon()
            diskFill = nil
        }
    }

    func originResponseCompleted() {
        // RFC 9111 §3.3: only a body that arrived whole is stored.
        let incomplete = Storability.completedBody(receivedLength: receivedBytes, contentLength: declaredLength,
                                                   ended: true, settings: plan.settings)
        let purged = storing.map { coordinator.purgeFence.supersedes($0, startedAt: purgeGeneration) } ?? false
        var committed = false
        switch lifecycle.responseEnded(incomplete: incomplete, purged: purged) {
        case .none:
            return
        case .refetch:
            return refetchUnconditionally()
        case .abandon(let reason):
            abandonStoring(reason)
        case .commit(.disk):
            guard let fill = diskFill, let storing else { break }
            diskFill = nil
            // A purge may still come before the commit reaches the disk writer: asked again there.
            let (fence, generation, stats) = (coordinator.purgeFence, purgeGeneration, coordinator.stats)
            fill.commit(mayStore: {
                guard !fence.supersedes(storing, startedAt: generation) else {
                    stats.countNotStored(.purgedWhileFilling)
                    return false
                }
                return true
            }, stored: { stats.count(.stored) })
        case .commit(.memory):
            guard let fill = storeFill else { break }
            storeFill = nil
            if !fill.commit() {
                abandonedBecause = .tooLarge
            } else {
                committed = true
                coordinator.stats.count(.stored)
                if let disk = coordinator.disk, let storing,
                   let entry = coordinator.storage.variants(for: plan.key).first(where: { $0.response.variantKey == storing.variantKey }) {
                    disk.store(entry)
                }
            }
        case .commit(.none):
            break
        }
        releaseHeldHead(notStored: committed ? nil : abandonedBecause ?? .bodyIncomplete, storedWhole: committed)
        broadcastEnd { $0.fillCompleted() }
    }

    /// Delivers a held head and the body so far to every subscriber, saying what became of the store.
    private func releaseHeldHead(notStored: NotCachedReason?, storedWhole: Bool) {
        lock.withLock {
            guard case .headHeld(var response, let variantKey, let varyFieldNames) = sharing else { return }
            response.outcome = .fetched(notStored: notStored)
            response.storedWhole = storedWhole
            sharing = .streaming(response, variantKey: variantKey, varyFieldNames: varyFieldNames)
            let parts = heldParts
            heldParts = []
            if joinable { self.parts = parts }
            let released = response
            for subscription in subscriptions {
                let subscriber = subscription.subscriber
                subscriber.eventLoop.execute {
                    _ = subscriber.fillStarted(released)
                    for part in parts { _ = subscriber.fillBodyPart(part) }
                }
            }
        }
    }

    func originFailed(_ failure: OriginFailure, origin: OriginServer, headDelivered: Bool) {
        switch lifecycle.failed(headDelivered: headDelivered) {
        case .none:
            return
        case .refetch:
            return refetchUnconditionally()
        case .fail(let mayServeStale):
            // RFC 9111 §3.3: a body that did not arrive whole is never stored.
            abandonStoring(.bodyIncomplete)
            let now = coordinator.clock.now()
            if mayServeStale, let validating,
               case .allowed(let staleness) = Reuse.staleIfError(cached: validating.response.cached, request: plan.requestHeaders,
                                                                settings: plan.settings, now: now) {
                serveStale(validating, staleness: staleness, originStatus: nil, origin: nil)
                return
            }
            coordinator.logger.warning("fill failed", metadata: ["key": "\(plan.key)", "origin": "\(origin)", "reason": "\(failure)"])
            broadcastEnd { $0.fillFailed(failure) }
        }
    }

    /// Gives up storing, whichever tier the body was going to, and counts why.
    private func abandonStoring(_ reason: NotCachedReason) {
        guard storeFill != nil || diskFill != nil else { return }
        storeFill?.abandon()
        diskFill?.abandon()
        storeFill = nil
        diskFill = nil
        abandonedBecause = reason
        coordinator.stats.countNotStored(reason)
        coordinator.uncacheable.declined(plan.key, reason: reason, now: coordinator.clock.now())
    }

    // MARK: answers made of the stored response

    /// RFC 9111 §4.3.4: a 304 that selects the stored response updates it, and the stored body
    /// answers every matching subscriber.
    private func revalidated(_ validating: StoredEntry, notModified: HTTPHeaders, origin: OriginServer, now: Timestamp) {
        var updated = validating.response
        updated.fields = Validation.updatedFields(stored: validating.response.fields, update: HeaderFields(notModified),
                                                  responseTime: now, targeting: plan.settings.targeting)
        updated.requestTime = requestTime
        updated.responseTime = now
        updated.softPurgedAt = nil
        updated.reuseFacts = ReuseFacts(cached: updated.cached, settings: plan.settings)
        // A purge since the request started wins over this 304 (it would clear a soft purge).
        if !coordinator.purgeFence.supersedes(updated, startedAt: purgeGeneration) {
            coordinator.storage.update(updated)
            coordinator.disk?.update(updated)
        }
        let lifetime = Freshness.lifetime(status: updated.status, response: updated.fields,
                                          directives: ResponseDirectives(updated.fields, targeting: plan.settings.targeting),
                                          responseTime: now, settings: plan.settings).seconds
        let response = FillResponse(
            status: HTTPResponseStatus(statusCode: updated.status), headers: HTTPHeaders(updated.fields), outcome: .revalidated,
            stored: updated, reason: plan.reason, timeToLive: lifetime - updated.cached.age.currentAge(now: now), origin: origin)
        deliverWhole(response, body: validating.body, variantKey: updated.variantKey, varyFieldNames: updated.varyFieldNames)
    }

    /// Sends the origin request again without the validators a useless 304 answered; the
    /// answer is then handled as a plain fetch.
    private func refetchUnconditionally() {
        validating = nil
        guard var request else { return }
        for name in ["if-none-match", "if-modified-since"] { request.headers.remove(name: name) }
        self.request = request
        requestTime = coordinator.clock.now()
        coordinator.stats.count(.originFetches)
        call = (plan.destination ?? coordinator.origin).fetch(request, on: eventLoop, handler: coordinator.stats.origins.metered(self))
    }

    private func serveStale(_ validating: StoredEntry, staleness: Double, originStatus: Int?, origin: OriginServer?) {
        let stored = validating.response
        let response = FillResponse(
            status: HTTPResponseStatus(statusCode: stored.status), headers: HTTPHeaders(stored.fields),
            outcome: .staleIfError(staleness: staleness, originStatus: originStatus), stored: stored, reason: plan.reason,
            timeToLive: -staleness, origin: origin)
        deliverWhole(response, body: validating.body, variantKey: stored.variantKey, varyFieldNames: stored.varyFieldNames)
    }

    private func deliverWhole(_ response: FillResponse, body: ByteBuffer, variantKey: String, varyFieldNames: [String]) {
        lock.withLock {
            sharing = .over
            joinable = false
            for subscription in subscriptions {
                let subscriber = subscription.subscriber
                guard matches(subscription, variantKey: variantKey, varyFieldNames: varyFieldNames) else {
                    subscriber.eventLoop.execute { subscriber.fillDeclined(.notShared(.varyMismatch)) }
                    continue
                }
                subscriber.eventLoop.execute {
                    _ = subscriber.fillStarted(response)
                    if body.readableBytes > 0 { _ = subscriber.fillBodyPart(body) }
                    subscriber.fillCompleted()
                }
            }
            subscriptions = []
        }
        // The rest of the origin's answer (a 304 has no body) is read and ignored, which keeps
        // the origin connection reusable.
        coordinator.remove(self)
    }

    private func broadcastEnd(_ event: @escaping @Sendable (any FillSubscriber) -> Void) {
        lock.withLock {
            sharing = .over
            joinable = false
            parts = []
            for subscription in subscriptions {
                let subscriber = subscription.subscriber
                subscriber.eventLoop.execute { event(subscriber) }
            }
            subscriptions = []
        }
        coordinator.remove(self)
    }

    /// Nobody listens and nothing will be stored: the origin call is cancelled and the fill ends.
    private func stop() {
        lifecycle.stopped()
        call?.cancel()
        lock.withLock { sharing = .over; joinable = false; parts = []; subscriptions = [] }
        coordinator.remove(self)
    }

    /// Enqueues an event on the subscriber's loop; returns a future completing with the future
    /// the subscriber returns (used to pace the origin by the leader).
    private func deliver(to subscription: Subscription, _ event: @escaping @Sendable (any FillSubscriber) -> EventLoopFuture<Void>) -> EventLoopFuture<Void> {
        let subscriber = subscription.subscriber
        guard subscription.isLeader else {
            subscriber.eventLoop.execute { _ = event(subscriber) }
            return eventLoop.makeSucceededVoidFuture()
        }
        let promise = eventLoop.makePromise(of: Void.self)
        subscriber.eventLoop.execute { event(subscriber).cascade(to: promise) }
        return promise.futureResult
    }
}
