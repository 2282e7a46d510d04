// DiskTier.Fill: the write side of one disk fill. Up to the tier's `inlineBodyLimit` bytes are kept
// in memory, to be written inline in the index with the row; a body that grows past it goes to a
// temporary file in bodies/tmp (what was kept first), and `commit` closes the file and renames it
// into its fan-out directory. Either way a CRC-32 of the body is kept, and the index row is
// written through the group commit. Blocks on file I/O.
//
// Invariants:
// - The fill moves buffering → open (past the inline limit) → given up (too large), failed (I/O
//   error) or finished (committed or abandoned); only an open fill owns a temporary file, and
//   every way out of open deletes it or renames it into place. A fill begun while storing is
//   paused (disk full) starts skipped and never touches the disk.
// - A buffering fill holds at most `inlineBodyLimit` bytes of memory.
// - The body never exceeds the tier's capacity: the part that would take it over gives up the
//   fill.
// - A fill dropped without `commit` or `abandon` deletes its temporary file on deinit.
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension DiskTier {
    /// One fill of the disk tier.
    ///
    /// Not thread-safe: like every `CacheFill`, it is used by one writer at a time. It is
    /// `@unchecked Sendable` so that writer may change between calls; its mutable state is
    /// unsynchronised, which is sound only under that one-writer rule.
    final class Fill: CacheFill, @unchecked Sendable {
        private enum State {
            case buffering(body: ByteBuffer, checksum: CRC32)
            case open(descriptor: Int32, path: String, written: Int, checksum: CRC32)
            case givenUp
            case failed
            case skipped
            case finished
        }

        private var response: StoredResponse
        private let tier: DiskTier
        private var state: State

        init(response: StoredResponse, tier: DiskTier) {
            self.response = response
            self.tier = tier
            guard tier.admitsFill() else {
                state = .skipped
                return
            }
            state = .buffering(body: ByteBuffer(), checksum: CRC32())
        }

        deinit { discardTemporaryFile() }

        /// Writes `part` to the temporary file. Returns false, giving up the fill, when the body
        /// would exceed the tier's capacity or the write fails (counted in `writeFailures`), and
        /// for a fill skipped because storing is paused.
        @discardableResult
        func append(_ part: ByteBuffer) -> Bool {
            if case .buffering(var body, var checksum) = state {
                guard part.readableBytes <= tier.capacityBytes - body.readableBytes else {
                    state = .givenUp
                    return false
                }
                checksum.update(part)
                if body.readableBytes + part.readableBytes <= tier.inlineBodyLimit {
                    state = .finished  // drops the state's reference, so the buffer is not copied on write
                    if body.readableBytes == 0 { body = part } else { body.writeImmutableBuffer(part) }
                    state = .buffering(body: body, checksum: checksum)
                    return true
                }
                return spill(body, then: part, checksum: checksum)
            }
            guard case .open(let descriptor, let path, let written, var checksum) = state else { return false }
            guard part.readableBytes <= tier.capacityBytes - written else {
                discardTemporaryFile()
                state = .givenUp
                return false
            }
            do {
                try tier.bodies.writeAll(part, to: descriptor, path: path)
            } catch {
                discardTemporaryFile()
                state = .failed
                tier.recordWriteFailure(error)
                return false
            }
            checksum.update(part)
            state = .open(descriptor: descriptor, path: path, written: written + part.readableBytes, checksum: checksum)
            return true
        }

        /// Moves a body grown past the inline limit to a temporary file: what was buffered, then
        /// `part` (already counted in `checksum`).
        private func spill(_ buffered: ByteBuffer, then part: ByteBuffer, checksum: CRC32) -> Bool {
            do {
                let file = try tier.bodies.createTemporaryFile()
                state = .open(descriptor: file.descriptor, path: file.path, written: 0, checksum: checksum)
                for chunk in [buffered, part] where chunk.readableBytes > 0 {
                    try tier.bodies.writeAll(chunk, to: file.descriptor, path: file.path)
                }
                state = .open(
                    descriptor: file.descriptor, path: file.path,
                    written: buffered.readableBytes + part.readableBytes, checksum: checksum)
                return true
            } catch {
                discardTemporaryFile()
                state = .failed
                tier.recordWriteFailure(error)
                return false
            }
        }

        /// Publishes the body written so far (`bodyLength` set to its length) and returns once
        /// its row has committed in the index. Returns false when the fill is not open or an I/O or
        /// index error lost it (counted in `writeFailures`).
        @discardableResult
        func commit() -> Bool {
            guard let body = publish() else { return false }
            let tier = self.tier
            return tier.commits.submit(body) { batch in tier.writeBatch(batch) }
        }

        /// The first half of `commit`: the body file renamed into place, and the row to write
        /// for it. Nil when the fill is not open or the file could not be published.
        func publish() -> CommittedBody? {
            if case .buffering(let body, let checksum) = state {
                state = .finished
                response.bodyLength = body.readableBytes
                let id = tier.allocateID()
                tier.noteStoring([response.key])
                return CommittedBody(
                    response: response, id: id, relativePath: "", inlineBody: body, checksum: checksum.value,
                    storedAt: Date().timeIntervalSince1970)
            }
            guard case .open(let descriptor, let path, let written, let checksum) = state else { return nil }
            state = .finished
            response.bodyLength = written
            let id = tier.allocateID()
            let relativePath = BodyFiles.relativePath(for: id)
            tier.noteStoring([response.key])
            do {
                try tier.bodies.publish(descriptor: descriptor, temporaryPath: path, as: relativePath)
            } catch {
                BodyFiles.remove(path: path)
                tier.recordWriteFailure(error)
                return nil
            }
            return CommittedBody(
                response: response, id: id, relativePath: relativePath, inlineBody: nil, checksum: checksum.value,
                storedAt: Date().timeIntervalSince1970)
        }

        /// Deletes the temporary file, if any; nothing is stored.
        func abandon() {
            discardTemporaryFile()
            state = .finished
        }

        private func discardTemporaryFile() {
            guard case .open(let descriptor, let path, _, _) = state else { return }
            close(descriptor)
            BodyFiles.remove(path: path)
            state = .finished
        }
    }
}
