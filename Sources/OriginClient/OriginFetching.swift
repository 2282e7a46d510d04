// The one seam between the cache and the origins: what a fill needs to fetch a response. The
// node's OriginClient is one; a test's scripted stand-in is another, so EdgeCache's fills,
// collapsing and storing are testable without sockets.
//
// Contract (as OriginClient keeps it): the handler's events arrive on `eventLoop`, in order —
// interim heads, the head, body parts (the next not before the future of the previous part
// completes), then exactly one of completed or failed — unless the fetch is cancelled, after
// which nothing more arrives.
import NIOCore

public protocol OriginFetching: Sendable {
    /// The origins' names, for per-origin figures (empty when there are none to name).
    var originNames: [String] { get }
    func fetch(_ request: OriginRequest, on eventLoop: any EventLoop, handler: any OriginResponseHandling) -> any OriginFetch
}

/// A fetch under way.
public protocol OriginFetch: AnyObject {
    /// The answer is no longer wanted: stop, and call the handler no more. On the fetch's loop.
    func cancel()
}

extension OriginCall: OriginFetch {}

extension OriginClient: OriginFetching {
    public var originNames: [String] { origins.map(\.description) }

    public func fetch(_ request: OriginRequest, on eventLoop: any EventLoop, handler: any OriginResponseHandling) -> any OriginFetch {
        execute(request, on: eventLoop, handler: handler)
    }
}
