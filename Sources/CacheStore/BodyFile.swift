// A stored body too large to read whole: its file, open, verified against the index's length and
// CRC-32 when it was opened, and read in parts while a response streams it. A disk hit on such a
// body therefore holds one part in memory at a time, not the body (up to the largest object a
// rule allows).
//
// Invariants: the descriptor is open for the object's whole life and closed exactly once, when the
// last reference goes; the file was whole and intact when opened, and an open descriptor keeps its
// bytes readable even after a purge or an eviction unlinks the name (POSIX); reads block, so they
// run off the event loops (EdgeCache's DiskAccess has the threads).
import Foundation
import NIOCore

public final class BodyFile: Sendable {
    /// The body's length in bytes.
    public let length: Int
    private let descriptor: Int32

    /// Why `openVerified` gave no file.
    enum OpenFailure: Error, Equatable {
        /// Missing, of another length or failing its checksum: the stored object is lost.
        case damaged
        /// The system would not open or read it now (out of descriptors, an I/O error): the object
        /// may be intact, and is left alone.
        case unavailable(errno: Int32)
    }

    /// Opens `path` and reads it through once, in parts, checking that it is `length` bytes whose
    /// CRC-32 is `checksum`. Blocks (reads the whole file).
    static func openVerified(path: String, length: Int, checksum: UInt32,
                             partSize: Int = BodyFile.partSize) -> Result<BodyFile, OpenFailure> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(errno == ENOENT ? .damaged : .unavailable(errno: errno)) }
        let file = BodyFile(descriptor: descriptor, length: length)
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return .failure(.unavailable(errno: errno)) }
        guard Int(status.st_size) == length else { return .failure(.damaged) }
        var crc = CRC32()
        var offset = 0
        while offset < length {
            do {
                let part = try file.read(offset: offset, count: min(partSize, length - offset))
                crc.update(part)
                offset += part.readableBytes
            } catch let error as ReadError {
                // A file of the right size that ends early was cut under us; anything else is the system's.
                return .failure(error.code == 0 ? .damaged : .unavailable(errno: error.code))
            } catch {
                return .failure(.damaged)
            }
        }
        return crc.value == checksum ? .success(file) : .failure(.damaged)
    }

    private init(descriptor: Int32, length: Int) {
        self.descriptor = descriptor
        self.length = length
    }

    deinit { close(descriptor) }

    /// How much a streaming reader reads at a time.
    public static let partSize = 256 * 1024

    public struct ReadError: Error, CustomStringConvertible {
        public let offset: Int
        public let code: Int32
        public var description: String { "body file read at \(offset) failed: \(code == 0 ? "ended early" : String(cString: strerror(code)))" }
    }

    /// Reads `count` bytes at `offset` (both within the body; outside it is an error, thrown).
    /// Blocks: call it off the event loops.
    public func read(offset: Int, count: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> ByteBuffer {
        guard offset >= 0, count >= 0, offset <= length - count else { throw ReadError(offset: offset, code: EINVAL) }
        var buffer = allocator.buffer(capacity: count)
        var failure: ReadError?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
            var done = 0
            while done < count {
                let read = pread(descriptor, target.baseAddress! + done, count - done, off_t(offset + done))
                if read < 0, errno == EINTR { continue }
                if read <= 0 {
                    failure = ReadError(offset: offset + done, code: read < 0 ? errno : 0)
                    return done
                }
                done += read
            }
            return done
        }
        if let failure { throw failure }
        return buffer
    }
}
