// DiskTier purge: selects rows in SQL (the url, tag and key indexes do the work; a path prefix
// across hosts scans the urls), then deletes them or marks them stale in one write transaction,
// and deletes the bodies of removed rows after it commits. Blocks: run it off the event loops.
//
// Invariant: once `purge` returns, the index no longer holds a removed variant (a restart cannot
// bring it back) and a soft-purged one has `soft_purged_at` set, which reads honour over the
// stored head's own value.
import CachePolicy
import GRDB

extension DiskTier {
    @discardableResult
    public func purge(_ selection: PurgeSelection, action: PurgeAction) -> [PurgedVariant] {
        let (condition, arguments) = Self.condition(for: selection)
        do {
            let (selected, paths) = try durableWrite { database -> ([PurgedVariant], [String]) in
                var selected: [PurgedVariant] = []
                var ids: [Int64] = []
                var paths: [String] = []
                let rows = try Row.fetchCursor(
                    database, sql: "SELECT id, key, variant_key, url, body_length, body_path FROM objects WHERE \(condition)",
                    arguments: arguments)
                while let row = try rows.next() {
                    let url: String = row["url"]
                    if !Self.refine(selection, url: url) { continue }
                    ids.append(row["id"])
                    paths.append(row["body_path"])
                    selected.append(PurgedVariant(key: row["key"], variantKey: row["variant_key"], bodyLength: row["body_length"]))
                }
                // Bounded statements: SQLite limits the number of bound parameters.
                for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
                    let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                    switch action {
                    case .count:
                        break
                    case .remove:
                        try database.execute(sql: "DELETE FROM objects WHERE id IN (\(marks))", arguments: StatementArguments(chunk))
                    case .markStale(let instant):
                        try database.execute(
                            sql: "UPDATE objects SET soft_purged_at = ? WHERE id IN (\(marks))",
                            arguments: StatementArguments([instant.seconds] as [any DatabaseValueConvertible] + chunk))
                    }
                }
                return (selected, action == .remove ? paths : [])
            }
            for path in paths { bodies.remove(path) }
            return selected
        } catch {
            recordWriteFailure(error, count: 0)
            return []
        }
    }

    /// The SQL that narrows the rows; `refine` finishes what SQL does not express.
    static func condition(for selection: PurgeSelection) -> (String, StatementArguments) {
        switch selection {
        case .key(let key):
            return ("key = ?", [key])
        case .urlPrefixes(let prefixes):
            guard !prefixes.isEmpty else { return ("0", []) }
            let ranges = Array(repeating: "(url >= ? AND url < ?)", count: prefixes.count).joined(separator: " OR ")
            return (ranges, StatementArguments(prefixes.flatMap { [$0, $0 + "\u{10FFFF}"] }))
        case .pathPrefix:
            return ("1", [])
        case .tag(let tag), .group(let tag, _):
            return ("id IN (SELECT object_id FROM tags WHERE tag = ?)", [tag])
        case .all:
            return ("1", [])
        }
    }

    static func refine(_ selection: PurgeSelection, url: String) -> Bool {
        switch selection {
        case .pathPrefix(let prefix): PurgeSelection.path(of: url).hasPrefix(prefix)
        case .group(_, let origin): PurgeSelection.origin(of: url) == origin
        case .urlPrefixes(let prefixes): prefixes.contains { url.hasPrefix($0) }
        case .key, .tag, .all: true
        }
    }
}

extension DiskTier {
    /// Whether the index answers a read (for readiness). Blocks briefly.
    public var indexIsReadable: Bool {
        (try? pool.read { try Int.fetchOne($0, sql: "SELECT objects FROM totals WHERE id = 1") }) != nil
    }
}
