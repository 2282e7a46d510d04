// The process's file-descriptor budget (RLIMIT_NOFILE), which bounds every listener: at start-up the
// soft limit is raised to the hard one (as nginx's worker_rlimit_nofile and Varnish do), and the
// public listener's connection cap is clamped to what the descriptors can carry, so a flood of idle
// connections meets the cap (and waits in the backlog) before it meets EMFILE.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum DescriptorLimit {
    /// Descriptors kept for everything that is not a client connection: listeners, the disk tier's
    /// index and body files, the admin listener's connections, logs.
    static let reserved = 128

    /// Raises the soft limit to the hard limit; returns the soft limit now in force.
    static func raiseToHard() -> Int {
        var limit = rlimit()
        guard getrlimit(resourceLimit, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resourceLimit, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur > rlim_t(Int32.max) ? Int(Int32.max) : Int(limit.rlim_cur)
    }

    /// The client connections `descriptors` allow: each may hold an origin connection too.
    static func connectionsAllowed(descriptors: Int, adminConnections: Int) -> Int {
        max(16, (descriptors - reserved - adminConnections) / 2)
    }

    #if canImport(Glibc)
    private static let resourceLimit = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceLimit = RLIMIT_NOFILE
    #endif
}
