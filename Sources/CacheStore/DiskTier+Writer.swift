// DiskTier's write side for fills: the group commit that writes the rows of committed fills,
// and eviction. Blocks on SQLite and file I/O.
//
// Group commit: a committing fill queues its row and waits. If no batch is being written, the
// fill becomes the leader: it takes everything queued (up to `CommitQueue.batchLimit` rows) and
// writes it in one transaction, then wakes the others. Fills arriving meanwhile queue up for the
// next batch. So one fill alone pays one transaction, and under load many fills share one
// fsync, without a timer adding latency.
//
// Invariants:
// - `commit()` returns true only after the transaction holding its row (and an inline body) has
//   committed (atomic; durable against power loss only once a later sync of the log, see
//   `Index`), and false only when its row is not in the index and its body file, if it had one,
//   has been deleted.
// - After each batch, the body bytes in the index are at most `capacityBytes`: the least
//   recently used rows (by `last_access`, oldest id first on ties) are deleted in the same
//   transaction, and their files once it has committed.
// - `store(_:)` makes room before it writes bodies (for them and for the index's own files),
//   in groups of at most a sixteenth of the capacity (or one body): the body files on disk pass
//   `capacityBytes` by no more than the fills under way through `beginFill` and a replaced
//   variant or two.
// - Replaced and evicted body files are deleted only after the transaction that dropped their
//   rows has committed; a crash in between leaves orphans, which start-up removes.
import Foundation
import GRDB
import NIOCore

extension DiskTier {
    /// The index row of one committed fill, its body already in place.
    struct CommittedBody: Sendable {
        var response: StoredResponse
        var id: Int64
        /// Empty when the body is inline.
        var relativePath: String
        /// The body itself, to be written with the row, when it is held inline.
        var inlineBody: ByteBuffer?
        var checksum: UInt32
        var storedAt: Double
    }

    /// The queue of rows waiting to be written, and the leader election of the group commit.
    ///
    /// `@unchecked Sendable`: `pending` and `flushing` are read and written only while
    /// `condition` is locked; an item's `outcome` is set under the lock by the leader and read
    /// under the lock by the item's own waiter.
    final class CommitQueue: @unchecked Sendable {
        static let batchLimit = 256

        private final class Item {
            let body: CommittedBody
            var outcome: Bool?
            init(_ body: CommittedBody) { self.body = body }
        }

        private let condition = NSCondition()
        private var pending: [Item] = []
        private var flushing = false

        /// Queues `body` and returns once a batch holding it has been written by `write`, which
        /// answers one outcome per row, in order. `write` runs on the calling thread of whichever
        /// waiter leads, without the lock held.
        func submit(_ body: CommittedBody, write: ([CommittedBody]) -> [Bool]) -> Bool {
            let item = Item(body)
            condition.lock()
            defer { condition.unlock() }
            pending.append(item)
            while item.outcome == nil {
                if flushing {
                    condition.wait()
                    continue
                }
                flushing = true
                let batch = Array(pending.prefix(Self.batchLimit))
                pending.removeFirst(batch.count)
                condition.unlock()
                let outcomes = write(batch.map(\.body))
                condition.lock()
                precondition(outcomes.count == batch.count, "one outcome per row")
                for (member, outcome) in zip(batch, outcomes) { member.outcome = outcome }
                flushing = false
                condition.broadcast()
            }
            return item.outcome!
        }
    }

    /// Writes one batch of rows, evicts down to capacity, then deletes the files no row names
    /// any more. On failure no row of the batch is stored and their body files are deleted.
    func writeBatch(_ batch: [CommittedBody]) -> [Bool] {
        let touches = takeTouches()
        let capacity = capacityBytes
        do {
            let (seams, index) = (self.seams, directory + "/index.sqlite")
            let (replaced, evicted) = try pool.write { database in
                try seams.check(.indexWrite, path: index)
                try Self.apply(touches, in: database)
                var replaced: [String] = []
                for body in batch { replaced += try Self.insert(body, in: database) }
                let evicted = try Self.evict(downTo: capacity, in: database)
                return (replaced, evicted)
            }
            for path in replaced + evicted { bodies.remove(path) }
            state.withLockedValue { $0.evictions += evicted.count }
            storeSucceeded()
            return Array(repeating: true, count: batch.count)
        } catch {
            for body in batch { bodies.remove(body.relativePath) }
            recordWriteFailure(error, count: batch.count)
            return Array(repeating: false, count: batch.count)
        }
    }

    /// The uses recorded since the last write, to be written by the caller's transaction.
    private func takeTouches() -> [Int64: Touch] {
        state.withLockedValue { state in
            defer { state.touches = [:] }
            return state.touches
        }
    }

    /// Evicts least recently used rows until `bytes` more fit within the capacity, and deletes
    /// their files, before those bytes are written. Room is also left for the index's own
    /// files (up to a sixteenth of the capacity), so the whole cache directory, not only its
    /// bodies, stays near `capacityBytes`. A failure here is left to the batch's own write,
    /// which meets the same condition and records it.
    func makeRoom(for bytes: Int) {
        let touches = takeTouches()
        let target = max(0, capacityBytes - bytes - min(indexFileBytes(), capacityBytes / 16))
        guard let evicted = try? pool.write({ database in
            try Self.apply(touches, in: database)
            return try Self.evict(downTo: target, in: database)
        }) else { return }
        for path in evicted { bodies.remove(path) }
        state.withLockedValue { $0.evictions += evicted.count }
    }

    /// The bytes SQLite's own files take now: the index, its write-ahead log and shared memory.
    func indexFileBytes() -> Int {
        ["", "-wal", "-shm"].reduce(0) { total, suffix in
            var status = stat()
            return total + (stat(directory + "/index.sqlite" + suffix, &status) == 0 ? Int(status.st_size) : 0)
        }
    }

    /// Inserts the row of `body` (and its inline body), replacing the variant with the same key
    /// and variant key; returns the body paths of the rows it replaced (empty for inline ones).
    static func insert(_ body: CommittedBody, in database: Database) throws -> [String] {
        let response = body.response
        let identity: StatementArguments = [response.key, response.variantKey]
        // Cached statements: a batch inserts many rows, and compiling each statement anew (parser
        // and authorizer) cost more than running it.
        let replaced = try String.fetchAll(
            database.cachedStatement(sql: "SELECT body_path FROM objects WHERE key = ? AND variant_key = ?"), arguments: identity)
        if !replaced.isEmpty {
            try database.cachedStatement(sql: "DELETE FROM objects WHERE key = ? AND variant_key = ?").execute(arguments: identity)
        }
        try database.cachedStatement(
            sql: """
                INSERT INTO objects (id, key, variant_key, url, host, status, head, etag, last_modified, body_length,
                    checksum, body_path, stored_at, response_time, soft_purged_at, last_access)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(
            arguments: [
                body.id, response.key, response.variantKey, response.url, response.host, response.status,
                try response.encodedHead(), response.entityTag, response.lastModified, response.bodyLength,
                Int64(body.checksum), body.relativePath, body.storedAt, response.responseTime.seconds,
                response.softPurgedAt?.seconds, body.storedAt,
            ])
        if let inline = body.inlineBody {
            try database.cachedStatement(sql: "INSERT INTO inline_bodies (object_id, body) VALUES (?, ?)")
                .execute(arguments: [body.id, Data(inline.readableBytesView)])
        }
        // A new id: no tags to delete first (a replaced row's went with it, ON DELETE CASCADE).
        try insertTags(of: body.id, response.tags, in: database)
        return replaced
    }

    static func replaceTags(of id: Int64, with tags: [String], in database: Database) throws {
        try database.cachedStatement(sql: "DELETE FROM tags WHERE object_id = ?").execute(arguments: [id])
        try insertTags(of: id, tags, in: database)
    }

    static func insertTags(of id: Int64, _ tags: [String], in database: Database) throws {
        for tag in Set(tags) {
            try database.cachedStatement(sql: "INSERT INTO tags (object_id, tag) VALUES (?, ?)").execute(arguments: [id, tag])
        }
    }

    /// Writes the uses recorded by `variants(for:)` into `hits` and `last_access`.
    static func apply(_ touches: [Int64: Touch], in database: Database) throws {
        for (id, touch) in touches {
            try database.cachedStatement(sql: "UPDATE objects SET hits = hits + ?, last_access = MAX(last_access, ?) WHERE id = ?")
                .execute(arguments: [touch.hits, touch.lastAccess, id])
        }
    }

    /// Deletes least recently used rows until the body bytes are at most `capacity`, or `limit`
    /// rows went; returns the body paths of the rows deleted.
    static func evict(downTo capacity: Int, in database: Database, limit: Int = .max) throws -> [String] {
        var victims: [String] = []
        while var bytes = try Int.fetchOne(database.cachedStatement(sql: "SELECT bytes FROM totals WHERE id = 1")),
            bytes > capacity, victims.count < limit
        {
            let candidates = try Row.fetchAll(
                database.cachedStatement(sql: "SELECT id, body_path, body_length FROM objects ORDER BY last_access, id LIMIT 64"))
            guard !candidates.isEmpty else { break }
            for candidate in candidates where bytes > capacity && victims.count < limit {
                try database.cachedStatement(sql: "DELETE FROM objects WHERE id = ?").execute(arguments: [candidate["id"] as Int64])
                victims.append(candidate["body_path"])
                bytes -= candidate["body_length"] as Int
            }
        }
        return victims
    }
}

extension DiskTier {
    /// Stores complete responses together: in groups of at most a sixteenth of the capacity and
    /// 256 KiB of bodies kept inline (at least one response each; the group's copies of its
    /// inline bodies are what the writer holds at once; larger bodies go to their files as they
    /// are written), room is made for a group, its larger bodies are written and
    /// published to their files, then their rows (with the small bodies inline) are written together (one transaction per
    /// `CommitQueue.batchLimit` rows). Returns how many were stored. Skipped while storing is
    /// paused, like any fill.
    @discardableResult
    public func store(_ entries: [StoredEntry]) -> Int {
        var stored = 0
        let groups = Self.groups(of: entries, bytesEach: max(capacityBytes / 16, 1),
                                 inlineBytesEach: Self.groupInlineBytesLimit, inlineBodyLimit: inlineBodyLimit)
        for group in groups {
            if !storingPaused { makeRoom(for: group.reduce(0) { $0 + $1.bodyLength }) }
            var published: [CommittedBody] = []
            for entry in group {
                let fill = Fill(response: entry.response, tier: self)
                if fill.append(entry.body), let body = fill.publish() { published.append(body) } else { fill.abandon() }
            }
            for start in stride(from: 0, to: published.count, by: CommitQueue.batchLimit) {
                let batch = Array(published[start..<min(start + CommitQueue.batchLimit, published.count)])
                stored += writeBatch(batch).filter { $0 }.count
            }
        }
        return stored
    }

    /// The most bytes of inline bodies (at most `inlineBodyLimit` each) one group of `store` holds.
    static let groupInlineBytesLimit = 256 * 1024

    /// `entries` in order, cut into runs whose bodies add up to at most `bytesEach` and whose
    /// bodies of at most `inlineBodyLimit` bytes add up to at most `inlineBytesEach`; an entry
    /// past either alone is a run of its own.
    static func groups(of entries: [StoredEntry], bytesEach: Int, inlineBytesEach: Int = .max,
                       inlineBodyLimit: Int = 0) -> [ArraySlice<StoredEntry>] {
        var groups: [ArraySlice<StoredEntry>] = []
        var start = entries.startIndex, bytes = 0, inlineBytes = 0
        for (index, entry) in entries.enumerated() {
            let size = entry.bodyLength
            let inline = size <= inlineBodyLimit ? size : 0
            if index > start, bytes + size > bytesEach || inlineBytes + inline > inlineBytesEach {
                groups.append(entries[start..<index])
                start = index
                bytes = 0
                inlineBytes = 0
            }
            bytes += size
            inlineBytes += inline
        }
        if start < entries.endIndex { groups.append(entries[start...]) }
        return groups
    }
}
