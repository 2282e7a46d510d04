// Report: the lab's results as a fixed-width table (one row per engine × policy × capacity, with
// the trace's compulsory misses beside them) and as JSON for tools and docs.
import Foundation

struct LabReport: Codable {
    var trace: String
    var requests: Int
    var objects: Int
    var workingSetBytes: Int
    /// Misses no policy avoids: the first request of each object.
    var compulsoryObjectMissRatio: Double
    var compulsoryByteMissRatio: Double
    var outcomes: [Outcome]

    func table() -> String {
        var lines: [String] = []
        lines.append("trace \(trace): \(requests) requests, \(objects) objects, working set \(Self.bytes(workingSetBytes))")
        lines.append(String(format: "compulsory misses: object %.4f, byte %.4f", compulsoryObjectMissRatio, compulsoryByteMissRatio))
        lines.append(pad("engine", 12) + pad("policy", 9) + pad("capacity", 16) + pad("object miss", 12) + pad("byte miss", 11)
                     + pad("vs LRU", 8) + "evictions")
        for outcome in outcomes {
            let lru = outcomes.first {
                $0.engine == outcome.engine && $0.capacityBytes == outcome.capacityBytes && $0.policy == "lru"
            }
            let relative = lru.map { String(format: "%.3f", outcome.objectMissRatio / max($0.objectMissRatio, 1e-12)) } ?? "-"
            lines.append(
                pad(outcome.engine, 12) + pad(outcome.policy, 9)
                    + pad(String(format: "%3.0f%% %@", outcome.capacityShare * 100, Self.bytes(outcome.capacityBytes)), 16)
                    + pad(String(format: "%.4f", outcome.objectMissRatio), 12) + pad(String(format: "%.4f", outcome.byteMissRatio), 11)
                    + pad(relative, 8) + "\(outcome.evictions)")
        }
        return lines.joined(separator: "\n")
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    static func bytes(_ count: Int) -> String {
        if count >= 1 << 30 { return String(format: "%.2f GiB", Double(count) / Double(1 << 30)) }
        if count >= 1 << 20 { return String(format: "%.1f MiB", Double(count) / Double(1 << 20)) }
        return String(format: "%.1f KiB", Double(count) / 1024)
    }
}
