// DiskTier: the persistent cache tier — a SQLite index (GRDB, WAL) of what it holds, with small
// bodies inline in the index and larger ones in body files under fan-out directories. See DiskTier+Index.swift for the schema, DiskTier+Bodies.swift
// for the file layout, DiskTier+Writer.swift for commits and eviction, DiskTier+Reconciliation
// for start-up, DiskTier+WriteFailures.swift for a full disk.
//
// EVERY METHOD BLOCKS on SQLite and file I/O, including `variants(for:)` and the fill's
// `append`/`commit`. Callers run them on a thread pool (e.g. NIOThreadPool), never on an event
// loop.
//
// Invariants:
// - A variant is visible only once its body is complete (inline in its row's transaction, or a
//   body file written and renamed into place) and its row is committed; a body whose length or CRC-32 does not match its row is never
//   returned — its row and file are deleted and it is counted in `corruptBodiesDetected`.
// - The bodies counted in the index never exceed `capacityBytes` once a commit returns
//   (least recently used rows are evicted first). SQLite's own files are not counted.
// - One process owns a directory at a time: body ids are allocated in memory from the largest
//   id found at start-up; every id above it is this run's (a fill's, or claimed by the orphan sweep).
// - The tier serves as soon as `init` returns, even while reconciliation runs in the background:
//   every body is verified on read, so nothing damaged is served meanwhile.
import CachePolicy
import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A byte-bounded, least-recently-used cache on disk that survives restarts.
public final class DiskTier: CacheStorage {
    public let directory: String
    /// The bound on the body bytes held.
    public let capacityBytes: Int
    /// Bodies of at most this many bytes are stored inline in the index; larger ones in files.
    public let inlineBodyLimit: Int

    let pool: DatabasePool
    let bodies: BodyFiles
    let logger: Logger?
    let state: NIOLockedValueBox<State>
    let commits = CommitQueue()
    /// Hashes of the keys the tier may hold (see DiskTier+KeyFilter.swift).
    let keyFilter = NIOLockedValueBox(KeyFilter())
    let seams: Seams
    /// Entered while reconciliation runs; `waitForReconciliation()` waits on it.
    let reconciling = DispatchGroup()

    /// Mutable bookkeeping, changed only under the `state` lock and never across I/O.
    struct State: Sendable {
        var nextID: Int64
        var corruptBodiesDetected = 0
        var writeFailures = 0
        var storesSkipped = 0
        var storingPause: StoringPause?
        var evictions = 0
        /// What reconciliation found, once it has finished.
        var reconciliation: ReconciliationReport?
        var reconciliationStopRequested = false
        /// Conditions already logged, so a full disk is reported once, not once per fill.
        var loggedConditions: Set<String> = []
        /// Uses not yet written to the index; the next write transaction applies them.
        var touches: [Int64: Touch] = [:]
    }

    struct Touch: Sendable {
        var hits: Int
        var lastAccess: Double
    }

    /// Opens (or creates) the tier in `directory`: `index.sqlite` and `bodies/`. A corrupt index
    /// is moved aside and the tier starts empty; half-written files of a previous run are
    /// deleted. The rest of reconciling the index with the files (see `ReconciliationReport`)
    /// runs before returning or, with `.inBackground`, on a thread of its own while the tier is
    /// used. Throws `DiskTierError.indexTooNew` for an index written by a newer schema, and
    /// file-system errors (e.g. the directory cannot be created).
    /// Bodies of up to `inlineBodyLimit` bytes are kept inline in the index (0: every body in a
    /// file of its own).
    public convenience init(
        directory: String, capacityBytes: Int, reconcile mode: ReconciliationMode = .beforeOpening,
        inlineBodyLimit: Int = DiskTier.defaultInlineBodyLimit, logger: Logger? = nil
    ) throws {
        try self.init(
            directory: directory, capacityBytes: capacityBytes, reconcile: mode, inlineBodyLimit: inlineBodyLimit,
            logger: logger, seams: Seams())
    }

    /// Opens the tier with the seams a test replaces (see `Seams`).
    init(directory: String, capacityBytes: Int, reconcile mode: ReconciliationMode,
         inlineBodyLimit: Int = DiskTier.defaultInlineBodyLimit, logger: Logger?, seams: Seams) throws {
        precondition(capacityBytes >= 0, "a negative capacity")
        precondition(inlineBodyLimit >= 0, "a negative inline body limit")
        self.seams = seams
        self.directory = directory
        self.capacityBytes = capacityBytes
        self.inlineBodyLimit = inlineBodyLimit
        self.logger = logger
        let began = ContinuousClock.now
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (pool, opening) = try Index.open(path: directory + "/index.sqlite", logger: logger)
        self.pool = pool
        bodies = BodyFiles(directory: directory, seams: seams)
        let temporaryFilesRemoved = bodies.removeTemporaryFiles()
        if opening.movedAside != nil {
            // The bodies of the lost index are all orphans now, and their ids would clash with
            // this run's: set them aside in one rename; reconciliation deletes them.
            try? FileManager.default.moveItem(
                atPath: bodies.root, toPath: directory + "/" + Self.orphanedBodiesPrefix + opening.suffix)
        }
        try bodies.createDirectories()
        let largestID = try pool.read { try Int64.fetchOne($0, sql: "SELECT MAX(id) FROM objects") } ?? 0
        state = NIOLockedValueBox(State(nextID: largestID + 1))
        let start = ReconciliationStart(
            largestID: largestID, temporaryFilesRemoved: temporaryFilesRemoved, indexMovedAside: opening.movedAside,
            began: began)
        logger?.info(
            "disk cache index open",
            metadata: [
                "cache-dir": "\(directory)", "largest-id": "\(largestID)", "schema-version": "\(opening.migration)",
                "open": "\(opening.openDuration)", "quick-check": "\(opening.checkDuration)",
                "total": "\(ContinuousClock.now - began)", "reconcile": "\(mode)",
            ])
        reconciling.enter()
        switch mode {
        case .beforeOpening:
            loadKeyFilter()
            try runReconciliation(start)
        case .inBackground:
            let thread = Thread { [self] in
                loadKeyFilter()
                do {
                    try runReconciliation(start)
                } catch {
                    logger?.error("disk cache reconciliation failed; bodies are still verified on read",
                                  metadata: ["error": "\(error)"])
                }
            }
            thread.name = "outpost.disk-reconciliation"
            thread.start()
        }
    }

    deinit {
        let touches = state.withLockedValue { $0.touches }
        if !touches.isEmpty { try? pool.write { try Self.apply(touches, in: $0) } }
    }

    /// The schema version (`PRAGMA user_version`) of the index this build writes.
    public static var indexSchemaVersion: Int { Index.schemaVersion }

    /// Bodies found damaged or missing (and so removed) since the tier was opened.
    public var corruptBodiesDetected: Int { state.withLockedValue { $0.corruptBodiesDetected } }
    /// Fills lost to I/O errors (disk full, …) since the tier was opened.
    public var writeFailures: Int { state.withLockedValue { $0.writeFailures } }
    /// What start-up reconciliation found and repaired; nil until it has finished.
    public var reconciliation: ReconciliationReport? { state.withLockedValue { $0.reconciliation } }
    /// Whether start-up reconciliation has finished (see `ReconciliationMode.inBackground`).
    public var reconciliationFinished: Bool { reconciliation != nil }

    /// Every stored variant of `key`, most recently stored first, each body verified against its
    /// length and checksum. Counts as a use (recorded in memory, written with the next write).
    public func variants(for key: String) -> [StoredEntry] {
        variants(for: key, countingUse: true)
    }

    /// The same, with a body file longer than `limit` verified in parts and left open in the
    /// entry's `bodyFile` rather than read into memory.
    public func variants(for key: String, readingWholeUpTo limit: Int) -> [StoredEntry] {
        variants(for: key, countingUse: true, readingWholeUpTo: limit)
    }

    /// The same; with `countingUse: false` (warming memory at start-up) neither the hit count
    /// nor the last access changes.
    public func variants(for key: String, countingUse: Bool, readingWholeUpTo limit: Int = .max) -> [StoredEntry] {
        let rows: [ObjectRow]
        do {
            rows = try pool.read { database in
                try ObjectRow.fetch(
                    database,
                    sql: """
                        SELECT id, head, body_length, checksum, body_path, soft_purged_at, inline_bodies.body AS inline_body
                        FROM objects LEFT JOIN inline_bodies ON inline_bodies.object_id = objects.id
                        WHERE key = ? ORDER BY id DESC
                        """,
                    arguments: [key])
            }
        } catch {
            logOnce(condition: "read", "disk cache index read failed", error: error)
            return []
        }
        var found: [StoredEntry] = []
        for row in rows {
            var response: StoredResponse
            do {
                response = try StoredResponse.decodeHead(row.head)
                // The column is authoritative: a bulk soft purge sets it without rewriting heads.
                response.softPurgedAt = row.softPurgedAt.map { Timestamp(seconds: $0) }
            } catch let error as StoredResponse.HeadDecodingError {
                // Written by a newer build: not ours to serve, nor to delete.
                logOnce(condition: "head version", "disk cache entry has a newer head format; skipped", error: error)
                continue
            } catch {
                discardCorrupt(row, reason: "unreadable head")
                continue
            }
            if !row.bodyPath.isEmpty && row.bodyLength > limit {
                // Verified here, in parts; streamed later, in parts.
                switch BodyFile.openVerified(path: bodies.absolutePath(row.bodyPath), length: row.bodyLength, checksum: row.checksum) {
                case .success(let file):
                    found.append(StoredEntry(response: response, bodyFile: file))
                case .failure(.damaged):
                    discardCorrupt(row, reason: "body file missing, of the wrong length or failing its checksum")
                case .failure(.unavailable(let code)):
                    // Not the object's fault (out of descriptors, say): this request goes without it.
                    logOnce(condition: "body open", "disk cache body file could not be read now; not served, kept",
                            error: BodyFile.ReadError(offset: 0, code: code))
                }
                continue
            }
            guard let body = body(of: row) else {
                discardCorrupt(row, reason: row.bodyPath.isEmpty ? "inline body missing or of the wrong length"
                    : "body file missing or of the wrong length")
                continue
            }
            guard CRC32.checksum(body) == row.checksum else {
                discardCorrupt(row, reason: "body checksum mismatch")
                continue
            }
            found.append(StoredEntry(response: response, body: body))
        }
        guard countingUse else { return found }
        let now = Date().timeIntervalSince1970
        state.withLockedValue { state in
            for row in rows {
                let hits = state.touches[row.id]?.hits ?? 0
                state.touches[row.id] = Touch(hits: hits + 1, lastAccess: now)
            }
        }
        return found
    }

    /// The body of `row`, if it has the recorded length (its checksum is for the caller to check).
    private func body(of row: ObjectRow) -> ByteBuffer? {
        guard row.bodyPath.isEmpty else { return bodies.read(row.bodyPath, expectedLength: row.bodyLength) }
        guard let inline = row.inlineBody, inline.count == row.bodyLength else { return nil }
        return ByteBuffer(bytes: inline)
    }

    /// The default for `inlineBodyLimit`: bodies up to 16 KiB are stored inline in the index,
    /// with their row, rather than in a file of their own — one row write instead of a file
    /// created, written, renamed and later unlinked. 16 KiB keeps an inline body within a few
    /// SQLite pages; larger bodies are cheaper as files (SQLite would chain overflow pages).
    public static let defaultInlineBodyLimit = 16 * 1024

    /// A new body id; every id handed out is above every id of an earlier run.
    func allocateID() -> Int64 {
        state.withLockedValue { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    /// Starts a fill; its body is kept in memory up to `inlineBodyLimit`, then goes to a
    /// temporary file (see `DiskTier.Fill`). While storing is paused (see `storingPaused`) the
    /// fill is skipped: it stores nothing and touches no file.
    public func beginFill(_ response: StoredResponse) -> any CacheFill {
        Fill(response: response, tier: self)
    }

    /// Replaces the metadata of a stored variant, keeping its body (`bodyLength` is set to the
    /// stored body's length). Counts as a use. Returns false when the variant is absent.
    @discardableResult
    public func update(_ response: StoredResponse) -> Bool {
        let now = Date().timeIntervalSince1970
        do {
            return try pool.write { database in
                let sql = "SELECT id, body_length FROM objects WHERE key = ? AND variant_key = ?"
                guard let row = try Row.fetchOne(database, sql: sql, arguments: [response.key, response.variantKey])
                else { return false }
                let id: Int64 = row["id"]
                var updated = response
                updated.bodyLength = row["body_length"]
                try database.execute(
                    sql: """
                        UPDATE objects SET url = ?, host = ?, status = ?, head = ?, etag = ?, last_modified = ?,
                            response_time = ?, soft_purged_at = ?, last_access = ? WHERE id = ?
                        """,
                    arguments: [
                        updated.url, updated.host, updated.status, try updated.encodedHead(), updated.entityTag,
                        updated.lastModified, updated.responseTime.seconds, updated.softPurgedAt?.seconds, now, id,
                    ])
                try Self.replaceTags(of: id, with: updated.tags, in: database)
                return true
            }
        } catch {
            recordWriteFailure(error, count: 0)
            return false
        }
    }

    /// Records when a stored variant stops being fresh, in the `fresh_until` column, so listing
    /// and purging can select fresh or stale entries in SQL; nil clears it. The tier itself
    /// never reads it (freshness is the policy's verdict). Returns false when the variant is
    /// absent.
    @discardableResult
    public func recordFreshUntil(_ time: Timestamp?, key: String, variantKey: String) -> Bool {
        do {
            return try pool.write { database in
                try database.execute(
                    sql: "UPDATE objects SET fresh_until = ? WHERE key = ? AND variant_key = ?",
                    arguments: [time?.seconds, key, variantKey])
                return database.changesCount > 0
            }
        } catch {
            recordWriteFailure(error, count: 0)
            return false
        }
    }

    /// Removes every variant of `key`, rows first, then their files; returns how many went.
    @discardableResult
    public func remove(key: String) -> Int {
        deleteRows(where: "key = ?", arguments: [key])
    }

    /// Removes every entry; returns how many went. Does not count as evictions.
    @discardableResult
    public func removeAll() -> Int {
        deleteRows(where: "1", arguments: [])
    }

    /// Objects and body bytes in the index, and evictions since the tier was opened. `bytes`
    /// counts bodies only (what `capacityBytes` bounds), not metadata as the memory tier does.
    public var usage: StorageUsage {
        let evictions = state.withLockedValue { $0.evictions }
        let totals = try? pool.read { database in
            try Row.fetchOne(database, sql: "SELECT objects, bytes FROM totals WHERE id = 1")
                .map { (objects: $0["objects"] as Int, bytes: $0["bytes"] as Int) }
        }
        return StorageUsage(objects: totals?.objects ?? 0, bytes: totals?.bytes ?? 0, evictions: evictions)
    }

    /// The metadata of every stored variant, for listing, most recently stored first. Bodies are
    /// not read or verified; does not count as a use.
    public func entries() -> [StoredResponse] {
        let heads = (try? pool.read { try Data.fetchAll($0, sql: "SELECT head FROM objects ORDER BY id DESC") }) ?? []
        return heads.compactMap { try? StoredResponse.decodeHead($0) }
    }

    /// Deletes the rows matching `condition` and then their body files; returns how many went.
    private func deleteRows(where condition: String, arguments: StatementArguments) -> Int {
        do {
            let paths = try durableWrite { database in
                let paths = try String.fetchAll(
                    database, sql: "SELECT body_path FROM objects WHERE \(condition)", arguments: arguments)
                try database.execute(sql: "DELETE FROM objects WHERE \(condition)", arguments: arguments)
                return paths
            }
            for path in paths { bodies.remove(path) }
            return paths.count
        } catch {
            recordWriteFailure(error, count: 0)
            return 0
        }
    }

    /// Drops a row whose body cannot be served, unless a writer already replaced or removed it
    /// (then the mismatch was a race, not damage). Rare, so it writes synchronously.
    private func discardCorrupt(_ row: ObjectRow, reason: String) {
        let deleted = try? pool.write { database in
            try database.execute(
                sql: "DELETE FROM objects WHERE id = ? AND body_path = ?", arguments: [row.id, row.bodyPath])
            return database.changesCount > 0
        }
        guard deleted == true else { return }
        bodies.remove(row.bodyPath)
        state.withLockedValue { $0.corruptBodiesDetected += 1 }
        logger?.error(
            "disk cache body is damaged; removed it instead of serving it",
            metadata: ["reason": "\(reason)", "object": "\(row.id)", "path": "\(row.bodyPath.isEmpty ? "(inline)" : bodies.absolutePath(row.bodyPath))"])
    }
}

extension StoredResponse {
    /// The validators the index keeps in columns of their own, for listing and conditional use.
    var entityTag: String? { fields.fieldValues("etag").first }
    var lastModified: String? { fields.fieldValues("last-modified").first }
}
