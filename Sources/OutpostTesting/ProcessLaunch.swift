// Starts child processes for tests one at a time. Foundation's `Process.run()` on Linux is not safe
// to call from several threads at once (seen here: a crash in memcpy inside `Process.run` while
// parallel tests started curl, openssl and the node together), so every test that spawns a
// program goes through this lock. Only the spawn is serialised; the programs then run side by side.
//
// A second cause of that crash is not avoided by the lock: `Process.run()` lists /proc/self/fd and
// copies each entry's whole 256-byte name field, reading past glibc's 32 KiB directory buffer when
// an entry sits at its tail and the next page is unmapped (fixed upstream after this toolchain:
// swiftlang/swift-corelibs-foundation#5472). The buffer fills only when the process holds more
// than about 1,300 descriptors; the parallel suite peaks near 2,400.
import Foundation

public enum ProcessLaunch {
    private static let lock = NSLock()

    /// `process.run()`, with no other test process starting at the same moment.
    public static func run(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}
