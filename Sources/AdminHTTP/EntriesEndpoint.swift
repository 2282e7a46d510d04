// GET /entries and GET /entry: what the node holds, live — the memory tier's entries merged with
// the disk index (read with the same IndexReader `outpostctl --cache-dir` uses, so both give the
// same answers). A variant held in both is listed once, with both flags set. For a URL with no
// stored variant, /entry answers 404 with the last reason the node declined it (UncacheableMemory).
//
// Pagination: the cursor is the offset into the sorted, filtered, merged list; each page reads at
// most offset + limit rows from each tier, so pages stay cheap near the top.
import AdminProtocol
import CachePolicy
import CacheStore
import EdgeCache
import Foundation
import NIOHTTP1

extension AdminRouter {
    struct ListingFilter: Sendable {
        var prefix, host, tag: String?
        var status, minimumSize: Int?
        var freshness: IndexReader.Freshness?
        var sort: IndexReader.Sort?
        var limit = 100
        var offset = 0

        func matches(_ entry: IndexEntry, now: Double) -> Bool {
            if let host, entry.host != host { return false }
            if let status, entry.status != status { return false }
            if let minimumSize, entry.bodyLength < minimumSize { return false }
            if let tag, !entry.tags.contains(tag) { return false }
            if let prefix {
                if prefix.hasPrefix("/") ? !PurgeSelection.path(of: entry.url).hasPrefix(prefix) : !entry.url.hasPrefix(prefix) { return false }
            }
            if let freshness, (freshness == .fresh) != entry.isFresh(now: now) { return false }
            return true
        }
    }

    static func listingFilter(_ query: [String: String]) -> Result<ListingFilter, Message> {
        var filter = ListingFilter()
        filter.prefix = query["prefix"].flatMap { $0.isEmpty ? nil : $0 }
        filter.host = query["host"].flatMap { $0.isEmpty ? nil : $0 }
        filter.tag = query["tag"].flatMap { $0.isEmpty ? nil : $0 }
        func integer(_ name: String, in range: ClosedRange<Int>) -> Result<Int?, Message> {
            guard let text = query[name], !text.isEmpty else { return .success(nil) }
            guard let value = Int(text), range.contains(value) else {
                return .failure(Message(text: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)"))
            }
            return .success(value)
        }
        do {
            filter.status = try integer("status", in: 100...999).get()
            filter.minimumSize = try integer("minSize", in: 0...Int.max).get()
            filter.limit = try integer("limit", in: 1...1_000).get() ?? 100
            filter.offset = try integer("cursor", in: 0...1_000_000).get() ?? 0
        } catch {
            return .failure(error)
        }
        switch query["fresh"] {
        case nil, "": break
        case "true": filter.freshness = .fresh
        case "false": filter.freshness = .stale
        default: return .failure(Message(text: "fresh must be true or false"))
        }
        if let sort = query["sort"], !sort.isEmpty {
            guard let order = IndexReader.Sort(rawValue: sort) else { return .failure(Message(text: "sort must be size, hits or age")) }
            filter.sort = order
        }
        return .success(filter)
    }

    func entries(_ request: AdminRequest) async -> AdminResponse {
        let filter: ListingFilter
        switch Self.listingFilter(request.query) {
        case .failure(let message): return Self.error(.badRequest, message.text)
        case .success(let parsed): filter = parsed
        }
        let now = Date().timeIntervalSince1970
        let wanted = filter.offset + filter.limit
        let inMemory = memoryEntries().filter { filter.matches($0, now: now) }
        var onDisk: [IndexEntry] = []
        if let directory = sources.disk?.directory {
            do {
                onDisk = try await pool.runIfActive {
                    try IndexReader(directory: directory).list(
                        prefix: filter.prefix, host: filter.host, tag: filter.tag, status: filter.status, minimumSize: filter.minimumSize,
                        freshness: filter.freshness, sort: filter.sort, limit: wanted + 1, now: now)
                }
            } catch {
                return Self.error(.internalServerError, "the disk index could not be read: \(error)")
            }
        }
        let merged = Self.sorted(Self.merge(memory: inMemory, disk: onDisk), by: filter.sort)
        let page = Array(merged.dropFirst(filter.offset).prefix(filter.limit))
        let more = merged.count > wanted
        return Self.json(EntriesPage(entries: page, nextCursor: more ? String(wanted) : nil))
    }

    func entry(_ request: AdminRequest) async -> AdminResponse {
        guard let url = request.query["url"], !url.isEmpty else { return Self.error(.badRequest, "give ?url=, an absolute URL") }
        let key = sources.engine.key(forURL: url)
        let inMemory = memoryEntries { $0.url == url || $0.key == key }
        var onDisk: [IndexEntry] = []
        if let directory = sources.disk?.directory {
            onDisk = (try? await pool.runIfActive { try IndexReader(directory: directory).entries(url: url) }) ?? []
        }
        let variants = Self.merge(memory: inMemory, disk: onDisk)
        guard !variants.isEmpty else { return absence(of: url, key: key) }
        return Self.json(EntryReport(url: url, variants: variants))
    }

    /// A 404 that says, when the node remembers, the last time it declined to store the URL and why.
    func absence(of url: String, key: String?) -> AdminResponse {
        let engine = sources.engine
        let now = engine.configuration.clock.now()
        let decline = key.flatMap { engine.uncacheable.lastDecline(for: $0) }.map {
            EntryAbsence.Decline(reason: $0.reason.detail, at: $0.at.seconds, secondsAgo: max(0, now - $0.at))
        }
        var sentence = "\(url) is not stored"
        if let decline { sentence += "; last declined \(Int(decline.secondsAgo))s ago: \(decline.reason)" }
        return Self.json(EntryAbsence(error: sentence, url: url, lastDeclined: decline), status: .notFound)
    }

    /// The memory tier's variants (those `including` selects), as listings under the node's rules.
    func memoryEntries(including: (StoredResponse) -> Bool = { _ in true }) -> [IndexEntry] {
        sources.memory.entriesWithHits().filter { including($0.response) }.map { response, hits in
            var entry = IndexEntry(response: response, hits: hits, lastAccess: response.responseTime.seconds,
                                   settings: sources.engine.settings(forURL: response.url))
            entry.inMemory = true
            return entry
        }
    }

    /// Memory's view first (its hits are live); a disk row of the same variant adds its flags.
    static func merge(memory: [IndexEntry], disk: [IndexEntry]) -> [IndexEntry] {
        var index: [String: Int] = [:]
        var merged: [IndexEntry] = []
        for var entry in memory {
            entry.onDisk = false
            index[entry.url + "\u{0}" + entry.variantKey] = merged.count
            merged.append(entry)
        }
        for var entry in disk {
            if let position = index[entry.url + "\u{0}" + entry.variantKey] {
                merged[position].onDisk = true
                merged[position].bodyIntact = entry.bodyIntact
                merged[position].hits = max(merged[position].hits, entry.hits)
            } else {
                entry.inMemory = false
                entry.onDisk = true
                merged.append(entry)
            }
        }
        return merged
    }

    /// The order IndexReader uses: largest, most hit or oldest first; by URL otherwise.
    static func sorted(_ entries: [IndexEntry], by sort: IndexReader.Sort?) -> [IndexEntry] {
        entries.sorted { left, right in
            switch sort {
            case .size?: (left.bodyLength, right.url) > (right.bodyLength, left.url)
            case .hits?: (left.hits, right.url) > (right.hits, left.url)
            case .age?: (left.storedAt, left.url) < (right.storedAt, right.url)
            case nil: (left.url, left.variantKey) < (right.url, right.variantKey)
            }
        }
    }
}
