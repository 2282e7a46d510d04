// outpostctl ls and inspect: what is stored. With --cache-dir they read the index (Offline.swift);
// without, they ask the node's admin API (/entries, /entry), which also sees memory-only objects.
// Both modes print through the same functions (Printing.swift), so their output is identical.
import AdminProtocol
import ArgumentParser
import CacheStore
import Foundation

/// Where ls / inspect / stats read from: a cache directory, or else a node's admin API.
struct SourceOptions: ParsableArguments {
    @Option(name: .customLong("cache-dir"), help: "Read this cache directory's index instead of asking a node.")
    var cacheDirectory: String?

    @OptionGroup var admin: AdminOptions

    var json: Bool { admin.json }

    func validate() throws {
        if cacheDirectory != nil && (admin.address != nil || admin.token != nil) {
            throw ValidationError("--cache-dir reads a directory; --admin and --token ask a node: give one or the other")
        }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List stored responses.")
    @OptionGroup var source: SourceOptions
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

    func run() async throws {
        let entries: [IndexEntry]
        if let directory = source.cacheDirectory { entries = try offline(directory) } else { entries = try await online() }
        if source.json { printJSON(entries) } else { printEntries(entries) }
    }

    private func offline(_ directory: String) throws -> [IndexEntry] {
        try CacheDirectory(path: directory).reader().list(
            prefix: prefix, host: host, tag: tag, status: status, minimumSize: minimumSize,
            freshness: fresh ? .fresh : stale ? .stale : nil, sort: sort.flatMap(IndexReader.Sort.init), limit: limit, now: now)
    }

    /// Follows the pages' cursors until `limit` entries or the end.
    private func online() async throws -> [IndexEntry] {
        var filters: [(String, String)] = []
        if let prefix { filters.append(("prefix", prefix)) }
        if let host { filters.append(("host", host)) }
        if let tag { filters.append(("tag", tag)) }
        if let status { filters.append(("status", String(status))) }
        if fresh || stale { filters.append(("fresh", fresh ? "true" : "false")) }
        if let minimumSize { filters.append(("minSize", String(minimumSize))) }
        if let sort { filters.append(("sort", sort)) }
        return try await source.admin.withClient { client in
            var entries: [IndexEntry] = []
            var cursor: String?
            repeat {
                var query = filters + [("limit", String(limit - entries.count))]
                if let cursor { query.append(("cursor", cursor)) }
                let page: EntriesPage = try await client.get("/entries", query: query)
                entries += page.entries.prefix(limit - entries.count)
                cursor = page.entries.isEmpty ? nil : page.nextCursor
            } while cursor != nil && entries.count < limit
            return entries
        }
    }
}

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show every stored variant of a URL.")
    @Argument(help: "The URL as stored, e.g. http://example.com/index.html") var url: String
    @OptionGroup var source: SourceOptions

    func run() async throws {
        let entries: [IndexEntry]
        var absence: EntryAbsence?
        if let directory = source.cacheDirectory {
            entries = try CacheDirectory(path: directory).reader().entries(url: url)
        } else {
            let answer = try await source.admin.withClient { client in
                try await client.findOrExplain("/entry", query: [("url", url)], as: EntryReport.self, absence: EntryAbsence.self)
            }
            entries = answer.answer?.variants ?? []
            absence = answer.absence
        }
        if source.json { printJSON(entries) } else { printVariants(entries) }
        guard entries.isEmpty else { return }
        // The node remembers why it last declined the URL: the same token as Cache-Status's detail.
        if let decline = absence?.lastDeclined {
            if !source.json { print("not stored: last declined \(seconds(decline.secondsAgo)) ago, reason \(decline.reason)") }
            throw failure("\(url) is not stored (reason: \(decline.reason))", code: 1)
        }
        throw failure("\(url) is not stored", code: 1)
    }
}
