// A fill that goes to the disk tier alone, for a response too large for the memory tier (its
// declared length passes a memory shard's bound) but within the rules' and the disk's. Its body
// streams to a temporary file as it arrives, off the event loops, one part after another on a
// queue of its own; every part's write completes a future the fill uses to pace the origin, so
// no more than a few parts wait in memory, whatever the disk's speed.
//
// Invariants: the tier's fill is created, written, committed and abandoned on `queue`, never on
// an event loop; the commit runs on DiskAccess's writer, after the purge fence has been asked
// there, so a purge either comes first (nothing is stored) or is applied after the commit (what
// was stored is purged); `stored` is counted only once the index row has committed.
import CacheStore
import Dispatch
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

public final class DiskStreamingFill: Sendable {
    private let queue = DispatchQueue(label: "outpost.disk-streaming-fill")
    /// The tier's fill; touched only on `queue` (and the writer, once `queue` is done with it).
    private let fill: NIOLockedValueBox<(any CacheFill)?>
    private let givenUp = Atomic<Bool>(false)
    private let access: DiskAccess

    init(_ response: StoredResponse, access: DiskAccess) {
        self.access = access
        self.fill = NIOLockedValueBox(nil)
        queue.async { [fill] in
            let started = access.storage.beginFill(response)
            fill.withLockedValue { $0 = started }
        }
    }

    /// Whether the fill has been given up (too large for the disk, a write failed, or storing
    /// is paused); later parts are not written.
    public var isGivenUp: Bool { givenUp.load(ordering: .relaxed) }

    /// Queues `part` for the file; the future (on `eventLoop`) completes once it is written, or
    /// at once when the fill has been given up.
    public func append(_ part: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard !isGivenUp else { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        queue.async { [self] in
            let target = fill.withLockedValue { $0 }
            if target?.append(part) != true { givenUp.store(true, ordering: .relaxed) }
            promise.succeed()
        }
        return promise.futureResult
    }

    /// Publishes the body written so far (the caller has checked it is complete, RFC 9111 §3.3)
    /// in the background, unless `mayStore` (asked on the disk writer, just before) says a purge
    /// since the fill started selects it. `stored` runs once the row has committed.
    public func commit(mayStore: @escaping @Sendable () -> Bool, stored: @escaping @Sendable () -> Void) {
        queue.async { [self] in
            access.writer.async { [self] in
                access.flushPending()
                guard let fill = fill.withLockedValue({ $0 }) else { return }
                if !isGivenUp, mayStore(), fill.commit() { stored() } else { fill.abandon() }
            }
        }
    }

    /// Gives up: nothing is stored, the temporary file is deleted.
    public func abandon() {
        givenUp.store(true, ordering: .relaxed)
        queue.async { [fill] in fill.withLockedValue { $0 }?.abandon() }
    }
}

extension DiskAccess {
    /// Starts a fill of the disk tier alone; see `DiskStreamingFill`.
    public func beginStreamingFill(_ response: StoredResponse) -> DiskStreamingFill {
        DiskStreamingFill(response, access: self)
    }
}
