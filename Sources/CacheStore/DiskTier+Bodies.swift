// DiskTier.BodyFiles: where the disk tier keeps response bodies, and the blocking file operations
// on them. Every call here does file I/O: callers run on a thread pool, never on an event loop.
//
// Layout under the tier's directory (bodies up to the tier's `inlineBodyLimit` are not here: they
// are inline in the index):
//   bodies/ab/cd/<id>.body   a committed body; `ab` and `cd` are the first two bytes (hex) of the
//                            64-bit FNV-1a hash of the decimal id, so no directory grows large
//   bodies/tmp/<random>.tmp  a body being written; renamed into place only when complete
//
// Invariants:
// - A file under bodies/ab/cd/ was complete when it was renamed there. It is not fsynced unless
//   `syncsBodies` (a cache may lose entries to a power failure, like nginx's and Varnish's): a
//   body a crash left short or torn fails its length or CRC-32 check and is never served.
// - Nothing under bodies/tmp/ is ever read; start-up deletes all of it before any fill begins.
import Foundation
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension DiskTier {
    /// An I/O failure, with the `errno` it came with.
    struct FileError: Error, CustomStringConvertible {
        var operation: String
        var path: String
        var code: Int32

        var description: String { "\(operation) \(path): \(String(cString: strerror(code))) (errno \(code))" }
    }

    struct BodyFiles: Sendable {
        let root: String
        /// Injected failures, for tests; see `Seams`.
        let seams: Seams
        /// Whether each body is fsynced before it is renamed into place.
        let syncsBodies: Bool
        /// Fan-out directories known to exist (at most 65,536), so a publish need not create them.
        private let knownDirectories = NIOLockedValueBox<Set<String>>([])
        var temporaryDirectory: String { root + "/tmp" }

        init(directory: String, seams: Seams, syncsBodies: Bool = false) {
            self.init(root: directory + "/bodies", seams: seams, syncsBodies: syncsBodies)
        }

        init(root: String, seams: Seams, syncsBodies: Bool = false) {
            self.root = root
            self.seams = seams
            self.syncsBodies = syncsBodies
        }

        /// The path of body `id` relative to `root`, e.g. `3f/a0/17.body`.
        static func relativePath(for id: Int64) -> String {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in String(id).utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
            let first = String(format: "%02x", Int((hash >> 56) & 0xff))
            let second = String(format: "%02x", Int((hash >> 48) & 0xff))
            return "\(first)/\(second)/\(id).body"
        }

        /// The id in a body file's name (`17.body` → 17), or nil for any other name.
        static func id(inFileName name: String) -> Int64? {
            guard name.hasSuffix(".body") else { return nil }
            return Int64(name.dropLast(5))
        }

        func absolutePath(_ relativePath: String) -> String { root + "/" + relativePath }

        /// Creates `bodies/` and `bodies/tmp/`.
        func createDirectories() throws {
            try FileManager.default.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
        }

        /// Opens a new temporary file for writing; returns its descriptor and path.
        func createTemporaryFile() throws -> (descriptor: Int32, path: String) {
            let path = temporaryDirectory + "/" + UUID().uuidString + ".tmp"
            try seams.check(.open, path: path)
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw FileError(operation: "open", path: path, code: errno) }
            return (descriptor, path)
        }

        /// Writes all of `part` to `descriptor`, retrying short writes and interruptions.
        func writeAll(_ part: ByteBuffer, to descriptor: Int32, path: String) throws {
            try seams.check(.write, path: path)
            try part.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw FileError(operation: "write", path: path, code: errno)
                    }
                    offset += written
                }
            }
        }

        /// Flushes and closes a temporary file, then renames it to its place for `relativePath`.
        /// The directory is not fsynced: should a power loss undo the rename, the row names a
        /// missing file and start-up drops it — an entry lost, never a wrong one served.
        func publish(descriptor: Int32, temporaryPath: String, as relativePath: String) throws {
            do {
                try seams.check(.fsync, path: temporaryPath)
            } catch {
                close(descriptor)
                throw error
            }
            guard !syncsBodies || fsync(descriptor) == 0 else {
                let code = errno
                close(descriptor)
                throw FileError(operation: "fsync", path: temporaryPath, code: code)
            }
            close(descriptor)
            let destination = absolutePath(relativePath)
            let parent = (destination as NSString).deletingLastPathComponent
            if !knownDirectories.withLockedValue({ $0.contains(parent) }) {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                knownDirectories.withLockedValue { _ = $0.insert(parent) }
            }
            try seams.check(.rename, path: destination)
            if rename(temporaryPath, destination) != 0 {
                // The directory may have been removed since it was created: create it once more.
                guard errno == ENOENT, FileManager.default.fileExists(atPath: temporaryPath) else {
                    throw FileError(operation: "rename", path: destination, code: errno)
                }
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                guard rename(temporaryPath, destination) == 0 else {
                    throw FileError(operation: "rename", path: destination, code: errno)
                }
            }
        }

        /// The whole content of a body file, or nil when it is missing or unreadable.
        func read(_ relativePath: String, expectedLength: Int) -> ByteBuffer? {
            let path = absolutePath(relativePath)
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return nil }
            defer { close(descriptor) }
            var status = stat()
            guard fstat(descriptor, &status) == 0, Int(status.st_size) == expectedLength else { return nil }
            var buffer = ByteBufferAllocator().buffer(capacity: expectedLength)
            var failed = false
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: expectedLength) { target in
                var offset = 0
                while offset < expectedLength {
                    let count = pread(descriptor, target.baseAddress! + offset, expectedLength - offset, off_t(offset))
                    if count < 0, errno == EINTR { continue }
                    if count <= 0 {
                        failed = true
                        return offset
                    }
                    offset += count
                }
                return offset
            }
            return failed ? nil : buffer
        }

        /// The size of a body file, or nil when it is missing.
        func size(of relativePath: String) -> Int? {
            var status = stat()
            guard stat(absolutePath(relativePath), &status) == 0 else { return nil }
            return Int(status.st_size)
        }

        /// Deletes a file; a file already gone is not an error.
        @discardableResult
        static func remove(path: String) -> Bool {
            unlink(path) == 0 || errno == ENOENT
        }

        /// Deletes a body file; the empty path of an inline body names none, and does nothing.
        func remove(_ relativePath: String) {
            guard !relativePath.isEmpty else { return }
            Self.remove(path: absolutePath(relativePath))
        }

        /// Calls `visit` with each fan-out directory holding committed bodies (relative to
        /// `root`, e.g. `3f/a0`; bodies/tmp excluded) and the names of the files in it, one
        /// directory at a time so a million files are never listed at once. Stops when `visit`
        /// returns false.
        func forEachDirectory(_ visit: (_ directory: String, _ names: [String]) throws -> Bool) rethrows {
            let manager = FileManager.default
            guard let firstLevel = try? manager.contentsOfDirectory(atPath: root) else { return }
            for first in firstLevel where first != "tmp" {
                guard let secondLevel = try? manager.contentsOfDirectory(atPath: root + "/" + first) else { continue }
                for second in secondLevel {
                    let directory = first + "/" + second
                    guard let names = try? manager.contentsOfDirectory(atPath: root + "/" + directory) else { continue }
                    guard try visit(directory, names) else { return }
                }
            }
        }

        /// Deletes everything in bodies/tmp; returns how many files went.
        func removeTemporaryFiles() -> Int {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: temporaryDirectory)) ?? []
            return names.filter { Self.remove(path: temporaryDirectory + "/" + $0) }.count
        }
    }
}

/// CRC-32 (IEEE 802.3, the polynomial of zlib, gzip and PNG), computed incrementally.
///
/// Chosen over 64-bit FNV-1a because a CRC guarantees to detect every single-bit flip and every
/// burst error of up to 32 bits, the failure modes of storage, whereas FNV-1a only makes them
/// unlikely to go unnoticed. It guards against accidents, not against an adversary.
struct CRC32: Sendable {
    private(set) var value: UInt32 = 0

    /// Slicing-by-8 tables: `tables[0]` is the classic byte-at-a-time table, and `tables[k][b]`
    /// the CRC of byte `b` followed by `k` zero bytes, so eight bytes are folded per step.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var entry = UInt32(index)
            for _ in 0..<8 { entry = entry & 1 == 1 ? (entry >> 1) ^ 0xedb8_8320 : entry >> 1 }
            tables[index] = entry
        }
        for slice in 1..<8 {
            for index in 0..<256 {
                let previous = tables[(slice - 1) * 256 + index]
                tables[slice * 256 + index] = (previous >> 8) ^ tables[Int(previous & 0xff)]
            }
        }
        return tables
    }()

    mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { update($0) }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = ~value
        Self.tables.withUnsafeBufferPointer { table in
            var offset = 0
            let count = bytes.count
            while count - offset >= 8 {
                let low = crc ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
                let high = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian
                crc = table[7 * 256 + Int(low & 0xff)] ^ table[6 * 256 + Int((low >> 8) & 0xff)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xff)] ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xff)] ^ table[2 * 256 + Int((high >> 8) & 0xff)]
                    ^ table[256 + Int((high >> 16) & 0xff)] ^ table[Int(high >> 24)]
                offset += 8
            }
            while offset < count {
                crc = table[Int((crc ^ UInt32(bytes[offset])) & 0xff)] ^ (crc >> 8)
                offset += 1
            }
        }
        value = ~crc
    }

    static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        var crc = CRC32()
        crc.update(buffer)
        return crc.value
    }
}
