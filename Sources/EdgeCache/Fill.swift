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
// Origin callbacks run on `eventLoop`; joins and departures come from any loop, so the shared
// state sits behind `lock`, and every delivery is enqueued on the subscriber's loop while holding
// it, which keeps each subscriber's events in order.
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

    private enum Phase {
        case waitingForHead
        /// The origin's head has arrived; it is held back until the body ends.
        case holdingHead(FillResponse, variantKey: String, varyFieldNames: [String])
        case streaming(FillResponse, variantKey: String, varyFieldNames: [String])
        case finished
    }

    let plan: FillPlan
    let eventLoop: any EventLoop
    let registered: Bool
    unowned let coordinator: FillCoordinator

    // Guarded by `lock`.
    private let lock = NIOLock()
    private var phase = Phase.waitingForHead
    private var subscriptions: [Subscription] = []
    /// Body parts so far, for subscribers that join while streaming; only while joinable.
    private var parts: [ByteBuffer] = []
    private var joinable = true
    private var leaderAttached = false

    // Confined to `eventLoop`.
    private var call: OriginCall?
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
    /// The origin request, kept to ask again without validators (see `revalidated`).
    private var request: OriginRequest?
    /// A 304 selected no stored response: the rest of that answer is ignored and the request
    /// is sent once more, unconditionally, when it ends.
    private var refetchPending = false
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
    }

    // MARK: subscribers (any loop)

    /// Adds the subscriber that leads the fill (the request that created it), if any.
    func attachLeader(_ subscriber: any FillSubscriber, requestHeaders: HTTPHeaders) {
        lock.withLock {
            subscriptions.append(Subscription(subscriber: subscriber, requestHeaders: requestHeaders, isLeader: true))
            leaderAttached = true
        }
    }

    /// Adds a waiting subscriber; false when the fill no longer takes waiters.
    func join(_ subscriber: any FillSubscriber, requestHeaders: HTTPHeaders, maximumWaiters: Int) -> Bool {
        lock.withLock {
            guard joinable, subscriptions.count < maximumWaiters else { return false }
            let subscription = Subscription(subscriber: subscriber, requestHeaders: requestHeaders, isLeader: false)
            switch phase {
            case .waitingForHead:
                subscriptions.append(subscription)
            case .holdingHead(_, let variantKey, let varyFieldNames):
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
            case .finished:
                return false
            }
            return true
        }
    }

    /// The subscriber no longer wants the response (its client left, or it gave up waiting).
    func detach(_ subscriber: any FillSubscriber) {
        let abandon: Bool = lock.withLock {
            guard let index = subscriptions.firstIndex(where: { $0.subscriber === subscriber }) else { return false }
            if subscriptions.remove(at: index).isLeader { leaderAttached = false }
            return subscriptions.isEmpty
        }
        if abandon {
            // Nobody listens: go on only if the response is being stored, or may still be.
            eventLoop.execute { [self] in
                if storeFill == nil, diskFill == nil, case .streaming = lock.withLock({ phase }) { call?.cancel(); finish() }
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
            coordinator.stats.originFetches.add(1, ordering: .relaxed)
            call = (plan.destination ?? coordinator.origin).execute(request, on: eventLoop, handler: coordinator.stats.origins.metered(self))
        }
    }

    func originResponseHeadReceived(_ head: HTTPResponseHead, from origin: OriginServer) -> EventLoopFuture<Void> {
        if refetchPending { return eventLoop.makeSucceededVoidFuture() }
        let now = coordinator.clock.now()
        if let validating {
            if head.status == .notModified { return revalidated(validating, notModified: head.headers, origin: origin, now: now) }
            if Reuse.isOriginError(status: Int(head.status.code)),
               case .allowed(let staleness) = Reuse.staleIfError(cached: validating.response.cached, request: plan.requestHeaders,
                                                                settings: plan.settings, now: now) {
                serveStale(validating, staleness: staleness, originStatus: Int(head.status.code), origin: origin)
                return eventLoop.makeSucceededVoidFuture()
            }
        }
        let fields = HeaderFields(head.headers)
        var notStored: NotCachedReason?
        var variantKey = ""
        var varyFieldNames: [String] = []
        var timeToLive: Double?
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
                    status: Int(head.status.code), fields: storagePlan.storedFields(from: fields), requestTime: requestTime,
                    responseTime: now, tags: Invalidation.tags(head.headers), bodyLength: declaredLength ?? 0)
                response.reuseFacts = ReuseFacts(cached: response.cached, settings: plan.settings)
                storing = response
                if let disk = coordinator.disk, let declaredLength, declaredLength > coordinator.memoryObjectLimit {
                    diskFill = disk.beginStreamingFill(response)
                } else {
                    storeFill = coordinator.storage.beginFill(response)
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
        let response = FillResponse(status: head.status, headers: head.headers, outcome: .fetched(notStored: notStored),
                                    stored: nil, reason: plan.reason, timeToLive: timeToLive, origin: origin)
        if storeFill != nil, let declaredLength, declaredLength <= Self.headHoldLimit {
            // RFC 9211 §2.7: `stored` is said once it is so; the head waits for the body (bounded).
            lock.withLock {
                phase = .holdingHead(response, variantKey: variantKey, varyFieldNames: varyFieldNames)
                subscriptions.removeAll { subscription in
                    guard !matches(subscription, variantKey: variantKey, varyFieldNames: varyFieldNames) else { return false }
                    subscription.subscriber.eventLoop.execute { subscription.subscriber.fillDeclined(.varyMismatch) }
                    return true
                }
            }
            return eventLoop.makeSucceededVoidFuture()
        }
        let (leaderPaced, unregister) = lock.withLock { () -> (EventLoopFuture<Void>?, Bool) in
            phase = .streaming(response, variantKey: variantKey, varyFieldNames: varyFieldNames)
            joinable = notStored == nil
            var paced: EventLoopFuture<Void>?
            subscriptions.removeAll { subscription in
                if subscription.isLeader || (notStored == nil && matches(subscription, variantKey: variantKey, varyFieldNames: varyFieldNames)) {
                    let future = deliver(to: subscription) { $0.fillStarted(response) }
                    if subscription.isLeader { paced = future }
                    return false
                }
                let reason = notStored ?? .varyMismatch
                subscription.subscriber.eventLoop.execute { subscription.subscriber.fillDeclined(reason) }
                return true
            }
            return (paced, !joinable)
        }
        if unregister { coordinator.remove(self) }
        if notStored != nil, leaderPaced == nil {
            // Not stored and nobody listening: reading the body would serve no one.
            call?.cancel()
            finish()
        }
        return leaderPaced ?? eventLoop.makeSucceededVoidFuture()
    }

    /// RFC 9110 §15.2: a proxy forwards interim responses; they reach the requests waiting now.
    func originInformationalReceived(_ head: HTTPResponseHead) {
        guard !refetchPending else { return }
        lock.withLock {
            guard case .waitingForHead = phase else { return }
            for subscription in subscriptions {
                let subscriber = subscription.subscriber
                subscriber.eventLoop.execute { subscriber.fillInterimResponse(head) }
            }
        }
    }

    func originBodyPartReceived(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        if refetchPending { return eventLoop.makeSucceededVoidFuture() }
        receivedBytes += part.readableBytes
        let holding = lock.withLock { if case .holdingHead = phase { true } else { false } }
        if let fill = storeFill, receivedBytes > plan.settings.maxObjectSize || !fill.append(part) {
            if holding {
                // The memory tier cannot take it after all: the head goes now, without `stored`,
                // and the body streams from here on (before the disk switch below reads `parts`).
                let toDisk = receivedBytes <= plan.settings.maxObjectSize && coordinator.disk != nil
                releaseHeldHead(notStored: toDisk ? nil : .tooLarge, storedWhole: false)
            }
            fill.abandon()
            storeFill = nil
            if receivedBytes <= plan.settings.maxObjectSize, let disk = coordinator.disk, let storing {
                // Larger than memory holds, though it did not say so (no Content-Length): the
                // disk alone takes it, from the parts kept for joining waiters (all of them so
                // far, since a storing fill is joinable); this part follows below.
                let diskFill = disk.beginStreamingFill(storing)
                for earlier in lock.withLock({ parts }) { _ = diskFill.append(earlier, on: eventLoop) }
                self.diskFill = diskFill
            } else {
                coordinator.stats.countNotStored(.tooLarge)
                coordinator.uncacheable.remember(plan.key, reason: .tooLarge, now: coordinator.clock.now())
                lock.withLock { joinable = false; parts = [] }
                coordinator.remove(self)
            }
        } else if holding {
            heldParts.append(part)
            return eventLoop.makeSucceededVoidFuture()
        }
        var written: EventLoopFuture<Void>?
        if let fill = diskFill {
            if receivedBytes > plan.settings.maxObjectSize {
                abandonStoring(.tooLarge)
            } else if fill.isGivenUp {
                // Too large for the disk, a failed write or a paused disk: the tier counted it.
                fill.abandon()
                diskFill = nil
            } else {
                written = fill.append(part, on: eventLoop)
            }
        }
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

    func originResponseCompleted() {
        if refetchPending { return refetchUnconditionally() }
        var committed = false
        if storeFill != nil || diskFill != nil {
            // RFC 9111 §3.3: only a body that arrived whole is stored.
            if let reason = Storability.completedBody(receivedLength: receivedBytes, contentLength: declaredLength,
                                                      ended: true, settings: plan.settings) {
                abandonStoring(reason)
            } else if let storing, coordinator.purgeFence.supersedes(storing, startedAt: purgeGeneration) {
                abandonStoring(.purgedWhileFilling)
            } else if let fill = diskFill, let storing {
                diskFill = nil
                // A purge may still come before the commit reaches the disk writer: asked again there.
                let (fence, generation, stats) = (coordinator.purgeFence, purgeGeneration, coordinator.stats)
                fill.commit(mayStore: {
                    guard !fence.supersedes(storing, startedAt: generation) else {
                        stats.countNotStored(.purgedWhileFilling)
                        return false
                    }
                    return true
                }, stored: { stats.stored.add(1, ordering: .relaxed) })
            } else if let fill = storeFill {
                storeFill = nil
                if !fill.commit() {
                    abandonedBecause = .tooLarge
                } else {
                    committed = true
                    coordinator.stats.stored.add(1, ordering: .relaxed)
                    if let disk = coordinator.disk, let storing,
                       let entry = coordinator.storage.variants(for: plan.key).first(where: { $0.response.variantKey == storing.variantKey }) {
                        disk.store(entry)
                    }
                }
            }
        }
        releaseHeldHead(notStored: committed ? nil : abandonedBecause ?? .bodyIncomplete, storedWhole: committed)
        broadcastEnd { $0.fillCompleted() }
    }

    /// Delivers a held head and the body so far to every subscriber, saying what became of the store.
    private func releaseHeldHead(notStored: NotCachedReason?, storedWhole: Bool) {
        lock.withLock {
            guard case .holdingHead(var response, let variantKey, let varyFieldNames) = phase else { return }
            response.outcome = .fetched(notStored: notStored)
            response.storedWhole = storedWhole
            phase = .streaming(response, variantKey: variantKey, varyFieldNames: varyFieldNames)
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
        if refetchPending { return refetchUnconditionally() }
        // RFC 9111 §3.3: a body that did not arrive whole is never stored.
        abandonStoring(.bodyIncomplete)
        let now = coordinator.clock.now()
        if !headDelivered, let validating,
           case .allowed(let staleness) = Reuse.staleIfError(cached: validating.response.cached, request: plan.requestHeaders,
                                                            settings: plan.settings, now: now) {
            serveStale(validating, staleness: staleness, originStatus: nil, origin: nil)
            return
        }
        coordinator.logger.warning("fill failed", metadata: ["key": "\(plan.key)", "origin": "\(origin)", "reason": "\(failure)"])
        broadcastEnd { $0.fillFailed(failure) }
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

    private func revalidated(_ validating: StoredEntry, notModified: HTTPHeaders, origin: OriginServer,
                             now: Timestamp) -> EventLoopFuture<Void> {
        // RFC 9111 §4.3.4: the 304 updates the stored response it identifies. When it identifies
        // none (its validator names another representation), the stored response cannot be
        // used and the 304 says nothing else: ask once more without validators (§4.3.3 leaves
        // the cache to get a full response), never answering the client with an error.
        guard Validation.notModifiedSelects(notModified, validated: validating.response.cached) else {
            coordinator.logger.debug("304 selected no stored response; fetching again without validators",
                                     metadata: ["key": "\(plan.key)"])
            refetchPending = true
            return eventLoop.makeSucceededVoidFuture()
        }
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
        return eventLoop.makeSucceededVoidFuture()
    }

    /// Sends the origin request again without the validators a useless 304 answered; the
    /// answer is then handled as a plain fetch.
    private func refetchUnconditionally() {
        refetchPending = false
        validating = nil
        guard var request else { return }
        for name in ["if-none-match", "if-modified-since"] { request.headers.remove(name: name) }
        self.request = request
        requestTime = coordinator.clock.now()
        coordinator.stats.originFetches.add(1, ordering: .relaxed)
        call = (plan.destination ?? coordinator.origin).execute(request, on: eventLoop, handler: coordinator.stats.origins.metered(self))
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
            phase = .finished
            joinable = false
            for subscription in subscriptions {
                let subscriber = subscription.subscriber
                guard matches(subscription, variantKey: variantKey, varyFieldNames: varyFieldNames) else {
                    subscriber.eventLoop.execute { subscriber.fillDeclined(.varyMismatch) }
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
            phase = .finished
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

    private func finish() {
        lock.withLock { phase = .finished; joinable = false; parts = []; subscriptions = [] }
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
