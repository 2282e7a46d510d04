// Carries a client's request body to the origin connection with backpressure: parts from the
// client queue here until the origin connection asks for the body, then go one write at a time.
// While anything is queued or being written the front stops reading from the client, so memory
// stays bounded by one read. Confined to the client channel's event loop.
import NIOCore
import OriginClient

final class RequestBodyPump: @unchecked Sendable {
    private let eventLoop: any EventLoop
    private var queue = CircularBuffer<ByteBuffer>()
    private var writer: OriginBodyWriter?
    private var writing = false
    private var ended = false
    private var done: EventLoopPromise<Void>?
    private var failure: (any Error)?
    /// Called when the backlog has drained and reading from the client may resume.
    var onDrained: (() -> Void)?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// True while the front should not read more of the request body. Once the body has
    /// ended nothing is held back: what the client sends next is the next request.
    var isBackedUp: Bool { !ended && failure == nil && (!queue.isEmpty || writing) }

    /// The origin connection is ready: stream into `writer`. Safe to call from any event loop.
    func start(_ writer: OriginBodyWriter) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let promise = self.eventLoop.makePromise(of: Void.self)
            if let failure = self.failure {
                promise.fail(failure)
            } else {
                self.writer = writer
                self.done = promise
                self.drain()
            }
            return promise.futureResult
        }
    }

    func append(_ part: ByteBuffer) {
        eventLoop.assertInEventLoop()
        guard failure == nil else { return }
        queue.append(part)
        drain()
    }

    func end() {
        eventLoop.assertInEventLoop()
        ended = true
        drain()
    }

    /// The client went away or the body broke a limit: abort the upload.
    func fail(_ error: any Error) {
        eventLoop.assertInEventLoop()
        guard failure == nil else { return }
        failure = error
        queue.removeAll()
        done?.fail(error)
        done = nil
    }

    private func drain() {
        guard let writer, !writing, failure == nil else { return }
        if let part = queue.popFirst() {
            writing = true
            writer.write(part).hop(to: eventLoop).whenComplete { result in
                self.writing = false
                switch result {
                case .success:
                    self.drain()
                case .failure(let error):
                    self.fail(error)
                }
            }
            return
        }
        if ended {
            done?.succeed()
            done = nil
        }
        // Reading resumes whether or not the body has ended: after its end, the next request on
        // the connection must be read (held back by the pipeline handler until this response ends).
        onDrained?()
    }
}
