// How outpostctl prints: JSON for scripts, tables for people. The listing and variant views are
// shared by the offline (--cache-dir) and online (admin API) modes, so both print identically;
// only the online mode knows where the node holds a variant ("held in").
import ArgumentParser
import CacheStore
import Foundation

var now: Double { Date().timeIntervalSince1970 }

func jsonText(_ value: some Encodable, pretty: Bool = true) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
}

func printJSON(_ value: some Encodable) {
    print(jsonText(value))
}

/// Writes one line to standard error, prefixed with the program's name.
func complain(_ message: String) {
    FileHandle.standardError.write(Data("outpostctl: \(message)\n".utf8))
}

/// Complains and returns the exit code to throw: `throw failure("…", code: 3)`.
func failure(_ message: String, code: Int32) -> ExitCode {
    complain(message)
    return ExitCode(code)
}

func seconds(_ value: Double) -> String {
    let magnitude = abs(value)
    let text = magnitude < 120 ? "\(Int(magnitude))s" : magnitude < 7200 ? "\(Int(magnitude / 60))m" : magnitude < 172_800 ? "\(Int(magnitude / 3600))h" : "\(Int(magnitude / 86_400))d"
    return value < 0 ? "-" + text : text
}

/// An uptime such as "3d 4h", "2h 5m" or "42s".
func duration(_ value: Double) -> String {
    let total = Int(value)
    let (days, hours, minutes, rest) = (total / 86_400, total % 86_400 / 3600, total % 3600 / 60, total % 60)
    if days > 0 { return "\(days)d \(hours)h" }
    if hours > 0 { return "\(hours)h \(minutes)m" }
    if minutes > 0 { return "\(minutes)m \(rest)s" }
    return "\(rest)s"
}

/// Bytes in binary units: "512 B", "12.3 KiB", "1.5 GiB".
func byteCount(_ value: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var amount = Double(value)
    var unit = 0
    while abs(amount) >= 1024 && unit < units.count - 1 {
        amount /= 1024
        unit += 1
    }
    return unit == 0 ? "\(value) B" : String(format: "%.1f %@", amount, units[unit])
}

/// A ratio as a percentage, or "-" when there was nothing to divide by.
func percent(_ ratio: Double?) -> String {
    guard let ratio, ratio.isFinite else { return "-" }
    return String(format: "%.1f%%", ratio * 100)
}

/// "1 variant", "3 variants".
func counted(_ number: Int, _ noun: String) -> String {
    "\(number) \(noun)\(number == 1 ? "" : "s")"
}

func rate(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "-" }
    return String(format: "%.1f", value)
}

extension String {
    /// Pads (or never truncates) to `width` columns; right-aligned when `right`.
    func column(_ width: Int, right: Bool = false) -> String {
        let gap = String(repeating: " ", count: max(0, width - count))
        return right ? gap + self : self + gap
    }
}

/// `outpostctl ls`: one row per stored variant.
func printEntries(_ entries: [IndexEntry]) {
    let time = now
    print("STATUS  SIZE        HITS  TTL     URL")
    for entry in entries {
        let variant = entry.variantKey.isEmpty ? "" : "  [\(entry.variantKey)]"
        print("\(entry.status)     \(String(entry.bodyLength).column(10))  \(String(entry.hits).column(4))  \(seconds(entry.freshUntil - time).column(6))  \(entry.url)\(variant)")
    }
    print("\(entries.count) shown")
}

/// `outpostctl inspect`: every stored variant of one URL, most recently stored first.
func printVariants(_ entries: [IndexEntry]) {
    let time = now
    for (index, entry) in entries.enumerated() {
        print("variant \(index + 1) of \(entries.count)\(entry.variantKey.isEmpty ? "" : ": \(entry.variantKey)")")
        print("  status       \(entry.status)")
        let body = entry.bodyIntact.map { ", body " + ($0 ? "intact" : "DAMAGED OR MISSING") } ?? ""
        print("  size         \(entry.bodyLength) bytes\(body)")
        if entry.inMemory != nil || entry.onDisk != nil {
            let places = [entry.inMemory == true ? "memory" : nil, entry.onDisk == true ? "disk" : nil].compactMap { $0 }
            print("  held in      \(places.isEmpty ? "-" : places.joined(separator: ", "))")
        }
        print("  stored       \(Date(timeIntervalSince1970: entry.storedAt))")
        print("  ttl left     \(seconds(entry.freshUntil - time)); usable stale until \(Date(timeIntervalSince1970: entry.staleUsableUntil))")
        if let softPurgedAt = entry.softPurgedAt { print("  soft purged  \(Date(timeIntervalSince1970: softPurgedAt))") }
        print("  hits         \(entry.hits)")
        print("  tags         \(entry.tags.isEmpty ? "-" : entry.tags.joined(separator: " "))")
        print("  headers")
        for header in entry.headers where header.count == 2 { print("    \(header[0]): \(header[1])") }
    }
}
