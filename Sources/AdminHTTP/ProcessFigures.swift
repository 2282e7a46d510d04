// The process's own figures for the standard `process_*` metrics (the names Prometheus's client
// libraries use): start time, CPU time, resident and virtual memory, open and maximum descriptors.
// Read from /proc on Linux at scrape time, never on the request path. Elsewhere only what
// getrlimit and the start of this module's clock give is reported; a figure that cannot be read
// is left out rather than reported as zero.
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ProcessFigures: Sendable {
    var startTimeSeconds: Double?
    var cpuSeconds: Double?
    var residentBytes: Double?
    var virtualBytes: Double?
    var openDescriptors: Double?
    var maximumDescriptors: Double?

    /// When this module was first used: the start time where /proc cannot say better.
    private static let firstSeen = Date().timeIntervalSince1970

    static func read() -> ProcessFigures {
        var figures = ProcessFigures(startTimeSeconds: firstSeen)
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { figures.maximumDescriptors = Double(limit.rlim_cur) }
        #if os(Linux)
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            // Fields after the command name, which may hold spaces: state is field 3 of stat(5).
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ number: Int) -> Double? { fields.count > number - 3 ? Double(fields[number - 3]) : nil }
            if let user = field(14), let system = field(15), ticks > 0 { figures.cpuSeconds = (user + system) / ticks }
            if let virtual = field(23) { figures.virtualBytes = virtual }
            if let resident = field(24) { figures.residentBytes = resident * page }
            if let started = field(22), ticks > 0, let boot = bootTime() { figures.startTimeSeconds = boot + started / ticks }
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            figures.openDescriptors = Double(entries.count)
        }
        #endif
        return figures
    }

    /// The `btime` line of /proc/stat: when the machine booted, in seconds since the epoch.
    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
