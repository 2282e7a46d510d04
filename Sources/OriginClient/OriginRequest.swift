// What the front asks of an origin, and the callbacks through which the answer streams back.
// All callbacks of `OriginResponseHandling` run on the event loop the call was started on, in
// order: any interim (1xx) heads, the final head, body parts, then exactly one of completed /
// failed.
import NIOCore
import NIOHTTP1

public struct OriginRequest: Sendable {
    public var method: HTTPMethod
    /// The request target exactly as the client sent it (origin-form: path and query).
    public var target: String
    /// Headers to send, already cleaned of hop-by-hop fields; framing is set by the client.
    public var headers: HTTPHeaders
    public var body: OriginRequestBody?
    /// Send the chosen origin's own host name as Host instead of the client's.
    public var hostFromOrigin = false

    public init(method: HTTPMethod, target: String, headers: HTTPHeaders, body: OriginRequestBody? = nil) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
    }

    /// RFC 9110 §9.2.2: requests that may be retried because repeating them has the same effect.
    public var isIdempotent: Bool {
        switch method {
        case .GET, .HEAD, .PUT, .DELETE, .OPTIONS, .TRACE: return true
        default: return false
        }
    }
}

/// A request body that streams from the client as the origin connection asks for it.
public struct OriginRequestBody: Sendable {
    /// Content-Length when the client declared one; nil streams chunked.
    public var length: Int?
    /// Called (on an event loop) once the origin connection is ready for the body. Write parts
    /// through the writer, each write's future completing when the origin connection took it;
    /// complete the returned future when the body has ended, or fail it to abort the request.
    public var start: @Sendable (OriginBodyWriter) -> EventLoopFuture<Void>

    public init(length: Int?, start: @escaping @Sendable (OriginBodyWriter) -> EventLoopFuture<Void>) {
        self.length = length
        self.start = start
    }
}

public struct OriginBodyWriter: Sendable {
    let writePart: @Sendable (ByteBuffer) -> EventLoopFuture<Void>
    public func write(_ part: ByteBuffer) -> EventLoopFuture<Void> { writePart(part) }
}

/// The receiving side of an origin call. Implemented by the front; called on its event loop.
public protocol OriginResponseHandling: AnyObject {
    /// An interim 1xx response (103 Early Hints, 102 Processing, 100 Continue; never 101) from
    /// the origin being answered, before the final head. RFC 9110 §15.2: a proxy forwards them.
    /// Nothing waits for it; the default does nothing.
    func originInformationalReceived(_ head: HTTPResponseHead)
    /// The final response head. Body parts are not delivered before the returned future completes.
    func originResponseHeadReceived(_ head: HTTPResponseHead, from origin: OriginServer) -> EventLoopFuture<Void>
    /// A body part; the next part is not delivered before the returned future completes, which is
    /// how a slow client slows the origin down.
    func originBodyPartReceived(_ part: ByteBuffer) -> EventLoopFuture<Void>
    /// The response ended completely.
    func originResponseCompleted()
    /// The call failed; `headDelivered` says whether a head had already been handed over.
    func originFailed(_ failure: OriginFailure, origin: OriginServer, headDelivered: Bool)
}

extension OriginResponseHandling {
    public func originInformationalReceived(_ head: HTTPResponseHead) {}
}
