// IndexReader: read-only access to a cache directory's index, for inspecting a cache from outside
// the node — also while the node runs (a WAL reader never waits on the writer). It never writes:
// SQLite opens the file read-only. Freshness is computed from each stored head with the policy's
// default rules, since the node's own rules are not in the directory.
import CachePolicy
import Foundation
import GRDB
import NIOCore

public struct IndexEntry: Sendable, Codable {
    public var url: String
    public var host: String
    public var status: Int
    public var variantKey: String
    public var bodyLength: Int
    /// Seconds since the Unix epoch.
    public var storedAt: Double
    public var freshUntil: Double
    public var staleUsableUntil: Double
    public var softPurgedAt: Double?
    public var hits: Int
    public var lastAccess: Double
    public var tags: [String]
    public var contentType: String?
    public var headers: [[String]]
    /// Whether the body (inline, or its file) exists with the recorded length and checksum (set by `entries(url:)`).
    public var bodyIntact: Bool?
    /// Where the node holds it (set by the admin API; nil when read from a directory offline).
    public var inMemory: Bool?
    public var onDisk: Bool?
    var objectID: Int64 = 0
    /// Empty for a body held inline in the index.
    var bodyPath: String = ""
    var checksum: UInt32 = 0

    enum CodingKeys: String, CodingKey {
        case url, host, status, variantKey, bodyLength, storedAt, freshUntil, staleUsableUntil, softPurgedAt, hits,
             lastAccess, tags, contentType, headers, bodyIntact, inMemory, onDisk
    }

    public func isFresh(now: Double) -> Bool { freshUntil > now }
}

public struct IndexStatistics: Sendable, Codable {
    public struct Group: Sendable, Codable {
        public var name: String
        public var objects: Int
        public var bytes: Int
    }
    public var objects: Int
    public var bytes: Int
    public var byHost: [Group]
    public var byContentType: [Group]
    /// Objects by time since stored: under a minute, an hour, a day, a week, older.
    public var ageHistogram: [Group]
}

public final class IndexReader {
    public enum Sort: String, CaseIterable, Sendable { case size, hits, age }
    public enum Freshness: String, CaseIterable, Sendable { case fresh, stale }

    private let queue: DatabaseQueue
    private let bodies: String

    public init(directory: String) throws {
        let path = directory + "/index.sqlite"
        guard FileManager.default.fileExists(atPath: path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "no cache index at \(path)"])
        }
        var configuration = Configuration()
        configuration.readonly = true
        queue = try DatabaseQueue(path: path, configuration: configuration)
        bodies = directory + "/bodies"
    }

    /// Entries matching every given filter, sorted (largest, most hit or oldest first), at most `limit`.
    public func list(prefix: String? = nil, host: String? = nil, tag: String? = nil, status: Int? = nil, minimumSize: Int? = nil,
                     freshness: Freshness? = nil, sort: Sort? = nil, limit: Int = 100, now: Double) throws -> [IndexEntry] {
        var conditions: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if let host { conditions.append("host = ?"); arguments.append(host) }
        if let status { conditions.append("status = ?"); arguments.append(status) }
        if let minimumSize { conditions.append("body_length >= ?"); arguments.append(minimumSize) }
        if let tag { conditions.append("id IN (SELECT object_id FROM tags WHERE tag = ?)"); arguments.append(tag) }
        if let prefix, !prefix.hasPrefix("/") {
            // A whole-URL prefix is a range on the url index.
            conditions.append("url >= ? AND url < ?")
            arguments.append(prefix)
            arguments.append(prefix + "\u{10FFFF}")
        }
        let order: String
        switch sort {
        case .size?: order = "body_length DESC"
        case .hits?: order = "hits DESC"
        case .age?: order = "stored_at ASC"
        case nil: order = "url ASC"
        }
        let sql = "SELECT * FROM objects" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")) + " ORDER BY \(order)"
        var result: [IndexEntry] = []
        try queue.read { database in
            let rows = try Row.fetchCursor(database, sql: sql, arguments: StatementArguments(arguments))
            while let row = try rows.next(), result.count < limit {
                let entry = try Self.entry(row, database: database)
                if let prefix, prefix.hasPrefix("/"), !PurgeSelection.path(of: entry.url).hasPrefix(prefix) { continue }
                if let freshness, (freshness == .fresh) != entry.isFresh(now: now) { continue }
                result.append(entry)
            }
        }
        return result
    }

    /// Every stored variant of `url`, with its body checked (exists, length, CRC-32).
    public func entries(url: String) throws -> [IndexEntry] {
        try queue.read { database in
            let rows = try Row.fetchAll(database, sql: "SELECT * FROM objects WHERE url = ? ORDER BY stored_at DESC", arguments: [url])
            return try rows.map { row in
                var entry = try Self.entry(row, database: database)
                entry.bodyIntact = try bodyIsIntact(entry, database: database)
                return entry
            }
        }
    }

    public func statistics(now: Double) throws -> IndexStatistics {
        try queue.read { database in
            let totals = try Row.fetchOne(database, sql: "SELECT COUNT(*) AS objects, COALESCE(SUM(body_length), 0) AS bytes FROM objects")
            let byHost = try Row.fetchAll(database, sql: """
                SELECT host, COUNT(*) AS objects, SUM(body_length) AS bytes FROM objects GROUP BY host ORDER BY bytes DESC LIMIT 20
                """).map { IndexStatistics.Group(name: $0["host"], objects: $0["objects"], bytes: $0["bytes"]) }
            var types: [String: (Int, Int)] = [:]
            var ages = Array(repeating: (0, 0), count: 5)
            for row in try Row.fetchAll(database, sql: "SELECT head, body_length, stored_at FROM objects") {
                let length: Int = row["body_length"]
                let head: Data = row["head"]
                let type = (try? StoredResponse.decodeHead(head))?.fields.combinedValue("Content-Type")
                    .map { String($0.prefix { $0 != ";" }) } ?? "(none)"
                types[type, default: (0, 0)].0 += 1
                types[type, default: (0, 0)].1 += length
                let age = now - (row["stored_at"] as Double)
                let bucket = age < 60 ? 0 : age < 3600 ? 1 : age < 86_400 ? 2 : age < 604_800 ? 3 : 4
                ages[bucket].0 += 1
                ages[bucket].1 += length
            }
            let names = ["< 1 min", "< 1 h", "< 1 day", "< 1 week", "older"]
            return IndexStatistics(
                objects: totals?["objects"] ?? 0, bytes: totals?["bytes"] ?? 0, byHost: byHost,
                byContentType: types.sorted { $0.value.1 > $1.value.1 }.map { .init(name: $0.key, objects: $0.value.0, bytes: $0.value.1) },
                ageHistogram: names.enumerated().map { .init(name: $1, objects: ages[$0].0, bytes: ages[$0].1) })
        }
    }

    private static func entry(_ row: Row, database: Database) throws -> IndexEntry {
        let id: Int64 = row["id"]
        var response = try StoredResponse.decodeHead(row["head"])
        response.softPurgedAt = (row["soft_purged_at"] as Double?).map { Timestamp(seconds: $0) }
        let expiry = Reuse.expiry(cached: response.cached, settings: RuleSettings())
        let tags = try String.fetchAll(database, sql: "SELECT tag FROM tags WHERE object_id = ?", arguments: [id])
        return IndexEntry(
            url: row["url"], host: row["host"], status: row["status"], variantKey: row["variant_key"],
            bodyLength: row["body_length"], storedAt: row["stored_at"], freshUntil: expiry.freshUntil.seconds,
            staleUsableUntil: expiry.staleUsableUntil.seconds, softPurgedAt: row["soft_purged_at"], hits: row["hits"],
            lastAccess: row["last_access"], tags: tags, contentType: response.fields.combinedValue("Content-Type"),
            headers: response.fields.fields.map { [$0.name, $0.value] }, bodyIntact: nil,
            objectID: id, bodyPath: row["body_path"], checksum: UInt32(truncatingIfNeeded: row["checksum"] as Int64))
    }

    private func bodyIsIntact(_ entry: IndexEntry, database: Database) throws -> Bool {
        let data: Data?
        if entry.bodyPath.isEmpty {
            data = try Data.fetchOne(
                database, sql: "SELECT body FROM inline_bodies WHERE object_id = ?", arguments: [entry.objectID])
        } else {
            data = FileManager.default.contents(atPath: bodies + "/" + entry.bodyPath)
        }
        guard let data, data.count == entry.bodyLength else { return false }
        return CRC32.checksum(ByteBuffer(bytes: data)) == entry.checksum
    }
}

extension IndexEntry {
    /// The listing view of a response held in memory: freshness under `settings` (the node's
    /// own rules for its URL), `hits` and `lastAccess` as the tier counted them.
    public init(response: StoredResponse, hits: Int, lastAccess: Double, settings: RuleSettings) {
        let expiry = Reuse.expiry(cached: response.cached, settings: settings)
        self.init(
            url: response.url, host: response.host, status: response.status, variantKey: response.variantKey,
            bodyLength: response.bodyLength, storedAt: response.responseTime.seconds, freshUntil: expiry.freshUntil.seconds,
            staleUsableUntil: expiry.staleUsableUntil.seconds, softPurgedAt: response.softPurgedAt?.seconds, hits: hits,
            lastAccess: lastAccess, tags: response.tags, contentType: response.fields.combinedValue("Content-Type"),
            headers: response.fields.fields.map { [$0.name, $0.value] }, bodyIntact: nil)
    }
}
