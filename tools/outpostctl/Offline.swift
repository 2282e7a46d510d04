// outpostctl ls / inspect / stats with --cache-dir: read a cache directory's index read-only,
// which works while the node runs. Human tables by default, --json for scripts. Exit codes:
// 0 ok, 1 not found (inspect), 2 usage, 3 the index cannot be read.
import ArgumentParser
import CacheStore
import Foundation

struct CacheDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("cache-dir"), help: "The node's cache directory (its --cache-dir).")
    var cacheDirectory: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func reader() throws -> IndexReader {
        do {
            return try IndexReader(directory: cacheDirectory)
        } catch {
            FileHandle.standardError.write(Data("outpostctl: cannot read the index in \(cacheDirectory): \(error.localizedDescription)\n".utf8))
            throw ExitCode(3)
        }
    }
}

var now: Double { Date().timeIntervalSince1970 }

func printJSON(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self))
}

func seconds(_ value: Double) -> String {
    let magnitude = abs(value)
    let text = magnitude < 120 ? "\(Int(magnitude))s" : magnitude < 7200 ? "\(Int(magnitude / 60))m" : magnitude < 172_800 ? "\(Int(magnitude / 3600))h" : "\(Int(magnitude / 86_400))d"
    return value < 0 ? "-" + text : text
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List stored responses.")
    @OptionGroup var options: CacheDirectoryOptions
    @Option(help: "A URL prefix (http://host/path) or a path prefix (/img/).") var prefix: String?
    @Option(help: "Only this host.") var host: String?
    @Option(help: "Only objects with this tag (Surrogate-Key, Cache-Tag, Cache-Groups).") var tag: String?
    @Option(help: "Only this status code.") var status: Int?
    @Option(name: .customLong("min-size"), help: "Only bodies of at least this many bytes.") var minimumSize: Int?
    @Flag(help: "Only fresh objects.") var fresh = false
    @Flag(help: "Only stale objects.") var stale = false
    @Option(help: "Sort by size, hits or age.") var sort: String?
    @Option(help: "At most this many rows.") var limit = 100

    func validate() throws {
        if fresh && stale { throw ValidationError("--fresh and --stale exclude each other") }
        if let sort, IndexReader.Sort(rawValue: sort) == nil { throw ValidationError("--sort takes size, hits or age") }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let reader = try options.reader()
        let entries = try reader.list(prefix: prefix, host: host, tag: tag, status: status, minimumSize: minimumSize,
                                      freshness: fresh ? .fresh : stale ? .stale : nil, sort: sort.flatMap(IndexReader.Sort.init),
                                      limit: limit, now: now)
        if options.json { printJSON(entries); return }
        print("STATUS  SIZE        HITS  TTL     URL")
        for entry in entries {
            let size = String(entry.bodyLength).padding(toLength: 10, withPad: " ", startingAt: 0)
            print("\(entry.status)     \(size)  \(String(entry.hits).padding(toLength: 4, withPad: " ", startingAt: 0))  \(seconds(entry.freshUntil - now).padding(toLength: 6, withPad: " ", startingAt: 0))  \(entry.url)\(entry.variantKey.isEmpty ? "" : "  [\(entry.variantKey)]")")
        }
        print("\(entries.count) shown")
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show every stored variant of a URL.")
    @Argument(help: "The URL as stored, e.g. http://example.com/index.html") var url: String
    @OptionGroup var options: CacheDirectoryOptions

    func run() throws {
        let entries = try options.reader().entries(url: url)
        if options.json { printJSON(entries) } else {
            for (index, entry) in entries.enumerated() {
                print("variant \(index + 1) of \(entries.count)\(entry.variantKey.isEmpty ? "" : ": \(entry.variantKey)")")
                print("  status       \(entry.status)")
                print("  size         \(entry.bodyLength) bytes, body \(entry.bodyIntact == true ? "intact" : "DAMAGED OR MISSING")")
                print("  stored       \(Date(timeIntervalSince1970: entry.storedAt))")
                print("  ttl left     \(seconds(entry.freshUntil - now)); usable stale until \(Date(timeIntervalSince1970: entry.staleUsableUntil))")
                print("  hits         \(entry.hits)")
                print("  tags         \(entry.tags.isEmpty ? "-" : entry.tags.joined(separator: " "))")
                print("  headers")
                for header in entry.headers { print("    \(header[0]): \(header[1])") }
            }
        }
        if entries.isEmpty {
            FileHandle.standardError.write(Data("outpostctl: \(url) is not stored\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Statistics: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Objects and bytes held, by host, content type and age.")
    @OptionGroup var options: CacheDirectoryOptions

    func run() throws {
        let statistics = try options.reader().statistics(now: now)
        if options.json { printJSON(statistics); return }
        print("objects \(statistics.objects), bytes \(statistics.bytes)")
        for (title, groups) in [("by host", statistics.byHost), ("by content type", statistics.byContentType), ("by age", statistics.ageHistogram)] {
            print(title)
            for group in groups { print("  \(group.name.padding(toLength: 32, withPad: " ", startingAt: 0)) \(group.objects) objects, \(group.bytes) bytes") }
        }
    }
}
