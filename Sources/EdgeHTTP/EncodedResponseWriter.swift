// EncodedResponseWriter: lets the proxy send a response it has already encoded (a hit whose head
// was encoded once and kept with the stored entry) as raw bytes, past NIO's HTTP encoder, while
// the handlers above the encoder still see an ordinary head and end.
//
// Placement: between HTTPServerPipelineHandler and HTTPResponseEncoder, so pipelining, quiescing
// and the protocol error responder keep their bookkeeping of heads and ends.
//
// Invariants:
// - Bytes are staged immediately before the head that stands for them; that head is dropped and
//   the staged bytes are written below the encoder in its place, before any body part of the
//   same response, and every part of that response, its end included, also goes below the encoder.
// - Every other response passes through untouched, to the encoder.
// - While the connection quiesces, the pipeline handler adds `Connection: close` to the stand-in
//   head, which is dropped: that last hit goes out without it, and the connection then closes.
import NIOCore
import NIOHTTP1

final class EncodedResponseWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The head written for an encoded response; only the handlers above this one see it.
    static let standInHead = HTTPResponseHead(version: .http1_1, status: .ok)

    /// The encoder's context: writing through it skips the encoder itself.
    private var encoderContext: ChannelHandlerContext?
    private var staged: ByteBuffer?
    private var writingEncoded = false
    private let nothing = ByteBuffer()

    func handlerAdded(context: ChannelHandlerContext) {
        encoderContext = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) { encoderContext = nil }

    /// Whether encoded responses can be sent on this connection.
    var isAvailable: Bool { encoderContext != nil }

    /// Stages `bytes` (a whole head, possibly followed by body bytes) for the next head written.
    func stage(_ bytes: ByteBuffer) {
        precondition(staged == nil && !writingEncoded, "an encoded response is already staged")
        staged = bytes
    }

    /// Drops staged bytes no head took (a handler above swallowed it); true if there were any.
    /// Writes pass through the pipeline synchronously, so after writing the stand-in head this
    /// is always false unless something is wrong — and then the bytes must not reach the next
    /// response.
    func unstage() -> Bool {
        defer { staged = nil }
        return staged != nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard writingEncoded || staged != nil, let below = encoderContext else {
            context.write(data, promise: promise)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head:
            writingEncoded = true
            let bytes = staged ?? nothing
            staged = nil
            below.write(NIOAny(IOData.byteBuffer(bytes)), promise: promise)
        case .body(let body):
            below.write(NIOAny(body), promise: promise)
        case .end:
            writingEncoded = false
            // The end's promise completes once everything before it has been written.
            if let promise { below.write(NIOAny(IOData.byteBuffer(nothing)), promise: promise) }
        }
    }
}
