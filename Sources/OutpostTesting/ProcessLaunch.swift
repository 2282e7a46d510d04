// Starts child processes for tests one at a time. Foundation's `Process.run()` on Linux is not safe
// to call from several threads at once (seen here: a crash in memcpy inside `Process.run` while
// parallel tests started curl, openssl and the node together), so every test that spawns a
// program goes through this lock. Only the spawn is serialised; the programs then run side by side.
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
