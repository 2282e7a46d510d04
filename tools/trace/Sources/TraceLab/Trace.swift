// Trace: a request stream as the lab replays it — one request per line of the plain CSV trace
// format `time,key,size` (a header line is allowed; keys are non-negative integers, as
// libCacheSim's CSV reader expects them; sizes in bytes) — and the facts about a trace that
// bound any policy: its working set and its compulsory misses (first requests of each key).
import Foundation

/// One request: when (seconds, the trace's own clock), which object, how large.
struct TraceRequest: Sendable {
    var time: Int
    var key: UInt64
    var size: Int
}

struct Trace: Sendable {
    var name: String
    var requests: [TraceRequest]

    /// Distinct keys and their bytes (each key at its first size): what a cache as large as
    /// everything would hold, and what even it must miss once.
    struct Footprint: Sendable {
        var objects = 0
        var bytes = 0
        var requestedBytes = 0
    }

    func footprint() -> Footprint {
        var seen = Set<UInt64>(minimumCapacity: requests.count / 4)
        var footprint = Footprint()
        for request in requests {
            footprint.requestedBytes += request.size
            if seen.insert(request.key).inserted {
                footprint.objects += 1
                footprint.bytes += request.size
            }
        }
        return footprint
    }

    /// Reads `time,key,size` lines; a first line that does not parse is taken as a header.
    static func readCSV(path: String) throws -> Trace {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var requests: [TraceRequest] = []
        for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 3, let time = Int(fields[0].trimmingCharacters(in: .whitespaces)),
                  let key = UInt64(fields[1].trimmingCharacters(in: .whitespaces)),
                  let size = Int(fields[2].trimmingCharacters(in: .whitespaces)), size >= 0
            else {
                if number == 0 { continue }
                throw LabError.badTraceLine(path: path, line: number + 1)
            }
            requests.append(TraceRequest(time: time, key: key, size: size))
        }
        return Trace(name: (path as NSString).lastPathComponent, requests: requests)
    }

    /// Writes the trace as `time,key,size` with a header line.
    func writeCSV(path: String) throws {
        var text = "time,key,size\n"
        text.reserveCapacity(requests.count * 24)
        for request in requests { text += "\(request.time),\(request.key),\(request.size)\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

enum LabError: Error, CustomStringConvertible {
    case badTraceLine(path: String, line: Int)
    case usage(String)

    var description: String {
        switch self {
        case .badTraceLine(let path, let line): "\(path):\(line): expected time,key,size"
        case .usage(let text): text
        }
    }
}
