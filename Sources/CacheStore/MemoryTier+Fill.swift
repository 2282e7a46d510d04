// MemoryTier.Fill: the write side of one memory fill. The body is gathered into one ByteBuffer
// without holding any lock; `commit` takes the shard's lock once to publish the whole entry, so
// no reader ever sees a partial body.
//
// Invariants:
// - The fill moves open → given up (body too large) or open → finished (committed or
//   abandoned); only an open fill accepts parts, only an open fill can commit.
// - The gathered body never exceeds the shard capacity: the part that would take it over drops
//   everything gathered so far.
// - Nothing is stored unless `commit` is called and returns true.
import CachePolicy
import NIOConcurrencyHelpers
import NIOCore

extension MemoryTier {
    /// One fill of the memory tier.
    ///
    /// Not thread-safe: like every `CacheFill`, it is used by one writer at a time (the task or
    /// event loop receiving the origin's body). It is `@unchecked Sendable` so that writer may
    /// change between calls (e.g. hand-off between tasks); its mutable state is unsynchronised,
    /// which is sound only under that one-writer rule. The shard it commits into is locked.
    final class Fill: CacheFill, @unchecked Sendable {
        private enum State {
            case open(body: ByteBuffer)
            case givenUp
            case finished
        }

        private var response: StoredResponse
        private let shard: NIOLockedValueBox<Shard>
        private let capacity: Int
        private var state: State

        init(response: StoredResponse, shard: NIOLockedValueBox<Shard>, capacity: Int) {
            self.response = response
            self.shard = shard
            self.capacity = capacity
            // Reserve for the announced length, but never beyond what the shard could hold.
            let reserved = response.bodyLength > 0 ? min(response.bodyLength, capacity) : 0
            state = .open(body: ByteBufferAllocator().buffer(capacity: reserved))
        }

        /// Appends a copy of `part` (copied so the entry's cost is the memory it really holds,
        /// not a slice of a larger read buffer). Returns false, and gives up the fill, once the
        /// body would exceed the shard capacity; later parts are ignored.
        @discardableResult
        func append(_ part: ByteBuffer) -> Bool {
            guard case .open(var body) = state else { return false }
            guard part.readableBytes <= capacity - body.readableBytes else {
                state = .givenUp
                return false
            }
            state = .finished  // drop the reference held by `state` so the write below does not copy
            body.writeImmutableBuffer(part)
            state = .open(body: body)
            return true
        }

        /// Stores the response with the body gathered so far (`bodyLength` set to its length),
        /// replacing the variant with the same key and variant key and evicting to make room.
        /// Returns false when the fill was given up or finished, or when the entry (body plus
        /// metadata) costs more than the shard holds; an existing variant is then left as it was.
        @discardableResult
        func commit() -> Bool {
            guard case .open(let body) = state else { return false }
            state = .finished
            response.bodyLength = body.readableBytes
            let entry = StoredEntry(response: response, body: body)
            return MemoryTier.store(entry, in: shard)
        }

        /// Drops the gathered body; nothing is stored.
        func abandon() {
            state = .finished
        }
    }
}
