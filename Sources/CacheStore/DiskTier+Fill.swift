// DiskTier.Fill: the write side of one disk fill. Parts go straight to a temporary file in
// bodies/tmp while a CRC-32 of them is kept; `commit` closes the file, renames it into its
// fan-out directory and then writes the index row through the group commit. Blocks on file I/O.
//
// Invariants:
// - The fill moves open → given up (too large), failed (I/O error) or finished (committed or
//   abandoned); only an open fill owns a temporary file, and every way out of open deletes it
//   or renames it into place. A fill begun while storing is paused (disk full) starts skipped
//   and never touches the disk.
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
            do {
                let file = try tier.bodies.createTemporaryFile()
                state = .open(descriptor: file.descriptor, path: file.path, written: 0, checksum: CRC32())
            } catch {
                tier.recordWriteFailure(error)
                state = .failed
            }
        }

        deinit { discardTemporaryFile() }

        /// Writes `part` to the temporary file. Returns false, giving up the fill, when the body
        /// would exceed the tier's capacity or the write fails (counted in `writeFailures`), and
        /// for a fill skipped because storing is paused.
        @discardableResult
        func append(_ part: ByteBuffer) -> Bool {
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

        /// Publishes the body written so far (`bodyLength` set to its length) and returns once
        /// its row is durable in the index. Returns false when the fill is not open or an I/O or
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
            guard case .open(let descriptor, let path, let written, let checksum) = state else { return nil }
            state = .finished
            response.bodyLength = written
            let id = tier.state.withLockedValue { state in
                defer { state.nextID += 1 }
                return state.nextID
            }
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
                response: response, id: id, relativePath: relativePath, checksum: checksum.value,
                storedAt: Date().timeIntervalSince1970)
        }

        /// Deletes the temporary file; nothing is stored.
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
