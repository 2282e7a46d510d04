// The disk tier's most recently used keys, for warming memory at start-up (see EdgeCache's
// MemoryWarming). Blocks on SQLite, like every other DiskTier method; reads the
// `objects_last_access` index backwards and stops as soon as the byte budget is spent, so it
// reads about as many rows as it returns, however large the index.
import GRDB

extension DiskTier {
    /// The keys of the most recently used stored variants whose bodies are at most
    /// `largestBody` bytes, most recent first, each once, whose bodies add up to at most
    /// `limitBytes`: the list ends before the first variant that would pass the budget. At most
    /// `limitCount` keys. Uses not yet written to the index (see `Touch`) are not seen; an
    /// unreadable index answers no keys.
    public func recentlyUsedKeys(limitBytes: Int, largestBody: Int = .max, limitCount: Int = 1_000_000) -> [String] {
        guard limitBytes > 0, limitCount > 0 else { return [] }
        var keys: [String] = []
        var seen: Set<String> = []
        var bytes = 0
        do {
            try pool.read { database in
                let rows = try Row.fetchCursor(
                    database, sql: "SELECT key, body_length FROM objects WHERE body_length <= ? ORDER BY last_access DESC, id DESC",
                    arguments: [largestBody])
                while keys.count < limitCount, bytes < limitBytes, let row = try rows.next() {
                    let key: String = row["key"]
                    let length: Int = row["body_length"]
                    guard bytes + length <= limitBytes else { break }
                    bytes += length
                    if seen.insert(key).inserted { keys.append(key) }
                }
            }
        } catch {
            logger?.warning("disk cache recency read failed; memory is not warmed", metadata: ["error": "\(error)"])
            return []
        }
        return keys
    }
}
