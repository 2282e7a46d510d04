// How a request receives the response of a fill it leads or waits on. Every call happens on the
// subscriber's own event loop, in order: interim responses (1xx) if any, started, body parts, then
// completed or failed — or, instead of all that, declined (this fill cannot answer it: fetch alone).
import CachePolicy
import CacheStore
import NIOCore
import NIOHTTP1
import OriginClient

public protocol FillSubscriber: AnyObject, Sendable {
    var eventLoop: any EventLoop { get }
    /// The response head. For the subscriber leading the fill, the returned future paces the
    /// origin: the next part is not read before it completes.
    func fillStarted(_ response: FillResponse) -> EventLoopFuture<Void>
    func fillBodyPart(_ part: ByteBuffer) -> EventLoopFuture<Void>
    func fillCompleted()
    func fillFailed(_ failure: OriginFailure)
    /// The fill's response cannot answer this request (it varies differently, or turned out not
    /// storable, or the wait timed out): fetch on your own. Nothing else of this fill follows.
    func fillDeclined(_ reason: FillDecline)
    /// An interim response (1xx other than 101) from the origin, before the final head (RFC 9110
    /// §15.2). Never stored.
    func fillInterimResponse(_ head: HTTPResponseHead)
}

/// Why a fill declined a waiting request.
public enum FillDecline: Sendable, Equatable {
    /// The response is not one this request may share (not storable, or it varies differently).
    case notShared(NotCachedReason)
    /// The response had not started within the collapse timeout (`CacheConfiguration.collapseTimeout`).
    case waitTimedOut
}

extension FillSubscriber {
    public func fillInterimResponse(_ head: HTTPResponseHead) {}
}

/// The head of what a fill delivers, and how it was obtained.
public struct FillResponse: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// A full response from the origin; stored unless `notStored` says why not.
        case fetched(notStored: NotCachedReason?)
        /// The origin answered 304: the stored body with the merged head (RFC 9111 §4.3.4).
        case revalidated
        /// The origin failed; a stale stored response is served instead (RFC 5861 §4).
        case staleIfError(staleness: Double, originStatus: Int?)
    }

    public var status: HTTPResponseStatus
    /// The response's end-to-end fields (its hop-by-hop ones already gone, RFC 9110 §7.6.1),
    /// before the front adds Age, Via and Cache-Status.
    public var headers: HTTPHeaders
    public var outcome: Outcome
    /// The stored response served, for revalidated and stale-if-error answers (its age).
    public var stored: StoredResponse?
    /// The fill's reason for going to the origin.
    public var reason: NotCachedReason
    /// Remaining freshness of what was stored or merged, for Cache-Status `ttl`.
    public var timeToLive: Double?
    /// The origin that answered (nil when it failed and a stale response was served).
    public var origin: OriginServer?
    /// For `.fetched(notStored: nil)`: the body had ended and was stored before this head was
    /// delivered. False while a larger body is still streaming into the store (RFC 9211 §2.7:
    /// `stored` is not claimed before it is true).
    public var storedWhole = false
}
