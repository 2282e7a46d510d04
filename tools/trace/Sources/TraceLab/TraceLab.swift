// TraceLab: the command line.
//
//   TraceLab replay [--csv PATH | --seed N --alpha A --requests N --catalogue N]
//                   [--capacities 0.01,0.05,0.1] [--engines policy,memory-tier]
//                   [--json PATH] [--write-csv PATH]
//   TraceLab memory-probe [lru|s3-fifo] [no-head]
//
// `replay` with no trace generates the default CDN-like trace; capacities are shares of the
// trace's working set (bytes of its distinct objects).
import CachePolicy
import Foundation

@main
enum TraceLab {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            switch arguments.first {
            case "memory-probe":
                MemoryProbe.run(objects: 100_000, bodyLength: 1024, arguments: Array(arguments.dropFirst()))
            case "replay":
                try replay(Options(Array(arguments.dropFirst())))
            default:
                throw LabError.usage("usage: TraceLab replay [options] | TraceLab memory-probe [lru|s3-fifo]")
            }
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(2)
        }
    }

    struct Options {
        var values: [String: String] = [:]
        init(_ arguments: [String]) throws {
            var index = 0
            while index < arguments.count {
                let name = arguments[index]
                guard name.hasPrefix("--"), index + 1 < arguments.count else { throw LabError.usage("bad option \(name)") }
                values[String(name.dropFirst(2))] = arguments[index + 1]
                index += 2
            }
        }
        subscript(_ name: String) -> String? { values[name] }
    }

    static func replay(_ options: Options) throws {
        let trace: Trace
        if let path = options["csv"] {
            trace = try Trace.readCSV(path: path)
        } else {
            var generator = TraceGenerator()
            if let seed = options["seed"].flatMap(UInt64.init) { generator.seed = seed }
            if let alpha = options["alpha"].flatMap(Double.init) { generator.alpha = alpha }
            if let requests = options["requests"].flatMap(Int.init) { generator.requests = requests }
            if let catalogue = options["catalogue"].flatMap(Int.init) { generator.catalogue = catalogue }
            trace = generator.generate()
        }
        if let path = options["write-csv"] { try trace.writeCSV(path: path) }
        let footprint = trace.footprint()
        let shares = (options["capacities"] ?? "0.01,0.05,0.1").split(separator: ",").compactMap { Double($0) }
        let engines = (options["engines"] ?? "policy,memory-tier").split(separator: ",").map(String.init)
        var outcomes: [Outcome] = []
        for engine in engines {
            for share in shares {
                let capacity = Int(Double(footprint.bytes) * share)
                for eviction in [EvictionChoice.leastRecentlyUsed, .threeQueueFIFO] {
                    switch engine {
                    case "policy": outcomes.append(Replay.policy(trace, eviction: eviction, capacityBytes: capacity, share: share))
                    case "memory-tier":
                        outcomes.append(Replay.memoryTier(trace, eviction: eviction, capacityBytes: capacity, share: share))
                    default: throw LabError.usage("unknown engine \(engine) (policy, memory-tier)")
                    }
                }
            }
        }
        let report = LabReport(
            trace: trace.name, requests: trace.requests.count, objects: footprint.objects, workingSetBytes: footprint.bytes,
            compulsoryObjectMissRatio: Double(footprint.objects) / Double(max(1, trace.requests.count)),
            compulsoryByteMissRatio: Double(footprint.bytes) / Double(max(1, footprint.requestedBytes)), outcomes: outcomes)
        print(report.table())
        if let path = options["json"] { try report.json().write(toFile: path, atomically: true, encoding: .utf8) }
    }
}
