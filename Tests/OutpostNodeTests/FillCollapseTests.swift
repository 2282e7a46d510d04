// Fills and their waiters with no origin client and no socket: the cache engine fetches through
// a scripted OriginFetching, on one EmbeddedEventLoop whose time the test moves. Covers the
// collapse timeout's race with the response's start: a waiter gets the fill's response or a
// decline, never both.
import CachePolicy
import CacheStore
import EdgeCache
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import OriginClient
import Testing

/// Hands the test each fetch's handler; the test plays the origin.
final class ScriptedFetching: OriginFetching, @unchecked Sendable {
    final class Fetch: OriginFetch {
        let request: OriginRequest
        let handler: any OriginResponseHandling
        var cancelled = false
        init(request: OriginRequest, handler: any OriginResponseHandling) {
            self.request = request
            self.handler = handler
        }
        func cancel() { cancelled = true }
    }

    var fetches: [Fetch] = []
    let originNames = ["http://origin.test"]

    func fetch(_ request: OriginRequest, on eventLoop: any EventLoop, handler: any OriginResponseHandling) -> any OriginFetch {
        let fetch = Fetch(request: request, handler: handler)
        fetches.append(fetch)
        return fetch
    }
}

/// Records what a fill delivers to one subscriber.
final class RecordingSubscriber: FillSubscriber, @unchecked Sendable {
    enum Event: Equatable { case started(UInt), part(String), completed, failed, declined(FillDecline) }
    let eventLoop: any EventLoop
    var events: [Event] = []
    /// The fields of each response started.
    var startedFields: [HTTPHeaders] = []
    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func fillStarted(_ response: FillResponse) -> EventLoopFuture<Void> {
        events.append(.started(response.status.code))
        startedFields.append(response.headers)
        return eventLoop.makeSucceededVoidFuture()
    }
    func fillBodyPart(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        events.append(.part(String(buffer: part)))
        return eventLoop.makeSucceededVoidFuture()
    }
    func fillCompleted() { events.append(.completed) }
    func fillFailed(_ failure: OriginFailure) { events.append(.failed) }
    func fillDeclined(_ reason: FillDecline) { events.append(.declined(reason)) }
}

@Suite("Fills against a scripted origin: the collapse timeout and the response's start")
struct FillCollapseTests {
    let loop = EmbeddedEventLoop()
    let origin = ScriptedFetching()
    let engine: CacheEngine

    init() throws {
        var configuration = CacheConfiguration()
        configuration.collapseTimeout = .seconds(2)
        engine = CacheEngine(configuration: configuration, storage: MemoryTier(capacityBytes: 1 << 20), origin: origin,
                             logger: Logger(label: "fill-collapse-test"))
    }

    func plan() throws -> FillPlan {
        let request = CacheRequest(method: .GET, target: "/a", headers: HTTPHeaders([("host", "a.test")]), hasBody: false)
        guard case .fill(let plan) = engine.decide(request, now: engine.configuration.clock.now()) else {
            throw FillTestError.noFill
        }
        return plan
    }

    enum FillTestError: Error { case noFill }

    /// The leader and one waiter on the key's fill; the fill started.
    func leaderAndWaiter() throws -> (RecordingSubscriber, RecordingSubscriber) {
        let plan = try plan()
        let leader = RecordingSubscriber(eventLoop: loop), waiter = RecordingSubscriber(eventLoop: loop)
        let (fill, role) = engine.fills.join(plan, subscriber: leader)
        #expect(role == .leader)
        fill.start(OriginRequest(method: .GET, target: "/a", headers: HTTPHeaders([("host", "a.test")])))
        #expect(engine.fills.join(plan, subscriber: waiter).1 == .follower)
        loop.run()
        #expect(origin.fetches.count == 1)
        return (leader, waiter)
    }

    func answer(_ fetch: ScriptedFetching.Fetch, body: String) throws {
        let head = HTTPResponseHead(version: .http1_1, status: .ok,
                                    headers: HTTPHeaders([("cache-control", "max-age=60"), ("content-length", "\(body.utf8.count)")]))
        let server = try OriginServer(url: "http://origin.test")
        _ = fetch.handler.originResponseHeadReceived(head, from: server)
        _ = fetch.handler.originBodyPartReceived(ByteBuffer(string: body))
        fetch.handler.originResponseCompleted()
        loop.run()
    }

    @Test("a waiter past the collapse timeout before the head is declined, and nothing of the fill follows")
    func declinedBeforeTheHead() throws {
        let (leader, waiter) = try leaderAndWaiter()
        loop.advanceTime(by: .seconds(3))
        #expect(waiter.events == [.declined(.waitTimedOut)])
        try answer(origin.fetches[0], body: "whole")
        #expect(leader.events == [.started(200), .part("whole"), .completed])
        #expect(waiter.events == [.declined(.waitTimedOut)])
        #expect(engine.stats.snapshot[.stored] == 1)
    }

    @Test("a waiter whose response started before its timeout gets the response and no decline")
    func startedBeforeTheTimeout() throws {
        let (leader, waiter) = try leaderAndWaiter()
        try answer(origin.fetches[0], body: "whole")
        loop.advanceTime(by: .seconds(3))
        #expect(leader.events == [.started(200), .part("whole"), .completed])
        #expect(waiter.events == [.started(200), .part("whole"), .completed])
    }

    @Test("RFC 9110 §7.6.1: every subscriber gets the response without its hop-by-hop fields, as it is stored")
    func subscribersGetEndToEndFields() throws {
        let key = try plan().key
        let (leader, waiter) = try leaderAndWaiter()
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders([
            ("Connection", "keep-alive, X-Hop"), ("cache-control", "max-age=60"), ("Keep-Alive", "timeout=5"),
            ("X-Hop", "1"), ("content-length", "5"), ("X-End", "2"),
        ]))
        let fetch = origin.fetches[0]
        _ = fetch.handler.originResponseHeadReceived(head, from: try OriginServer(url: "http://origin.test"))
        _ = fetch.handler.originBodyPartReceived(ByteBuffer(string: "whole"))
        fetch.handler.originResponseCompleted()
        loop.run()
        for subscriber in [leader, waiter] {
            #expect(subscriber.events == [.started(200), .part("whole"), .completed])
            #expect(subscriber.startedFields.map { $0.map(\.name) } == [["cache-control", "content-length", "X-End"]])
        }
        let stored = try #require(engine.storage.variants(for: key).first)
        #expect(stored.response.fields.names == ["cache-control", "content-length", "x-end"])
    }

    @Test("the timeout and the held head's release in the same turn: the waiter still gets exactly one of them")
    func timeoutAndReleaseTogether() throws {
        let (_, waiter) = try leaderAndWaiter()
        // The head is held (a small storable body) until the end; the timer fires in between.
        let head = HTTPResponseHead(version: .http1_1, status: .ok,
                                    headers: HTTPHeaders([("cache-control", "max-age=60"), ("content-length", "5")]))
        let fetch = origin.fetches[0]
        _ = fetch.handler.originResponseHeadReceived(head, from: try OriginServer(url: "http://origin.test"))
        _ = fetch.handler.originBodyPartReceived(ByteBuffer(string: "whole"))
        loop.advanceTime(by: .seconds(3))
        fetch.handler.originResponseCompleted()
        loop.run()
        #expect(waiter.events == [.declined(.waitTimedOut)])
    }
}
