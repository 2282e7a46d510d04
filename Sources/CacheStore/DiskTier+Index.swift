// DiskTier.Index: the SQLite index of the disk tier — its schema, the ordered migrations that
// build it, and opening it (moving a corrupt file aside). Opening and migrating block on SQLite.
//
// The schema version lives in `PRAGMA user_version`. Migration N takes an index from version
// N - 1 to N inside one transaction that also sets user_version, so a crash leaves the old or the
// new schema, never half of one.
//
// Invariants:
// - `objects` holds one row per stored variant, unique on (key, variant_key). Its body is
//   `body_length` bytes whose CRC-32 is `checksum`: in the `inline_bodies` row of the same id
//   when `body_path` is empty (bodies up to the tier's `inlineBodyLimit`), otherwise in the
//   complete body file `body_path` names. An inline body goes with its row (ON DELETE CASCADE).
// - `totals` holds exactly one row, kept equal to the count and byte sum of `objects` by the
//   triggers, so the tier's usage is one indexed read.
// - An index whose user_version is newer than `Index.schemaVersion` is never opened for writing.
import Foundation
import GRDB
import Logging

/// Why a disk tier could not be opened.
public enum DiskTierError: Error, CustomStringConvertible, Equatable {
    /// The index was written by a newer build; opening it could destroy what that build stored.
    case indexTooNew(path: String, found: Int, supported: Int)

    public var description: String {
        switch self {
        case .indexTooNew(let path, let found, let supported):
            "\(path) has schema version \(found), newer than version \(supported), the newest this build knows; "
                + "refusing to open it (use a newer build, or another directory)"
        }
    }
}

extension DiskTier {
    enum Index {
        /// The schema version this build writes: the number of migrations.
        static var schemaVersion: Int { migrations.count }

        /// Migration `index + 1` takes the schema from version `index` to `index + 1`.
        static let migrations: [String] = [
            // 1: objects, tags, totals.
            """
            CREATE TABLE objects (
                id INTEGER PRIMARY KEY,
                key TEXT NOT NULL,
                variant_key TEXT NOT NULL,
                url TEXT NOT NULL,
                host TEXT NOT NULL,
                status INTEGER NOT NULL,
                head BLOB NOT NULL,
                etag TEXT,
                last_modified TEXT,
                body_length INTEGER NOT NULL,
                checksum INTEGER NOT NULL,
                body_path TEXT NOT NULL,
                stored_at REAL NOT NULL,
                response_time REAL NOT NULL,
                fresh_until REAL,
                soft_purged_at REAL,
                hits INTEGER NOT NULL DEFAULT 0,
                last_access REAL NOT NULL,
                UNIQUE (key, variant_key)
            );
            CREATE INDEX objects_url ON objects (url);
            CREATE INDEX objects_host ON objects (host);
            CREATE INDEX objects_last_access ON objects (last_access);
            CREATE TABLE tags (
                object_id INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
                tag TEXT NOT NULL
            );
            CREATE INDEX tags_tag ON tags (tag);
            CREATE INDEX tags_object_id ON tags (object_id);
            CREATE TABLE totals (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                objects INTEGER NOT NULL,
                bytes INTEGER NOT NULL
            );
            INSERT INTO totals (id, objects, bytes) VALUES (1, 0, 0);
            CREATE TRIGGER objects_inserted AFTER INSERT ON objects BEGIN
                UPDATE totals SET objects = objects + 1, bytes = bytes + NEW.body_length WHERE id = 1;
            END;
            CREATE TRIGGER objects_deleted AFTER DELETE ON objects BEGIN
                UPDATE totals SET objects = objects - 1, bytes = bytes - OLD.body_length WHERE id = 1;
            END;
            """,
            // 2: small bodies inline, in the index itself, instead of one file each.
            """
            CREATE TABLE inline_bodies (
                object_id INTEGER PRIMARY KEY REFERENCES objects (id) ON DELETE CASCADE,
                body BLOB NOT NULL
            );
            """,
        ]

        /// How opening went: where a corrupt index went, the schema versions, and the time taken.
        struct Opening: Sendable {
            var movedAside: String?
            /// What distinguishes this start-up's moved-aside files (a millisecond timestamp).
            var suffix: String
            /// "1", or "0 → 1" when migrations ran.
            var migration: String
            var openDuration: Duration
            var checkDuration: Duration
        }

        /// Opens (creating if needed) and migrates the index at `path`. A file SQLite reports as
        /// not a database or malformed is moved aside with its -wal and -shm, and an empty index
        /// takes its place; `movedAside` is then where it went.
        static func open(path: String, logger: Logger?) throws -> (DatabasePool, Opening) {
            let suffix = String(Int(Date().timeIntervalSince1970 * 1000))
            do {
                let (pool, opening) = try openAndMigrate(path: path, suffix: suffix)
                return (pool, opening)
            } catch let error as DatabaseError where isCorruption(error) {
                let aside = path + ".corrupt-" + suffix
                logger?.critical(
                    "disk cache index is corrupt; moving it aside and starting empty",
                    metadata: ["index": "\(path)", "moved-to": "\(aside)", "error": "\(error)"])
                for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                    try FileManager.default.moveItem(atPath: path + suffix, toPath: aside + suffix)
                }
                var (pool, opening) = try openAndMigrate(path: path, suffix: suffix)
                opening.movedAside = aside
                return (pool, opening)
            }
        }

        static func isCorruption(_ error: DatabaseError) -> Bool {
            let primary = error.resultCode.primaryResultCode
            return primary == .SQLITE_CORRUPT || primary == .SQLITE_NOTADB
        }

        private static func openAndMigrate(path: String, suffix: String) throws -> (DatabasePool, Opening) {
            var configuration = Configuration()
            configuration.label = "outpost.disk-index"
            // A node stopping on the same directory may still be checkpointing its write-ahead
            // log as it closes (up to 1,000 pages): wait for it rather than fail to open.
            configuration.busyMode = .timeout(10)
            // WAL with synchronous=NORMAL: a commit is atomic and the index consistent after any
            // crash, but the last commits before a power loss may be lost — for fills, an entry
            // lost, like a body file that was never fsynced. What is promised to survive power
            // loss (purges, removals) is written with `durableWrite`, which syncs the log.
            // The write-ahead log is checkpointed every 1,000 pages (SQLite's default) and cut
            // back to 4 MiB after each checkpoint, so the pages every fill rewrites (the tails
            // of the table and its indexes, the totals row) reach the index file once per
            // checkpoint rather than once per commit, and the directory stays close to
            // --disk-size, which bounds the bodies.
            // Each connection keeps at most 1 MiB of pages (SQLite's default is 2 MB): enough
            // for the interior pages of the index's B-trees at millions of rows, which every
            // lookup and insert walks; leaves come from the OS page cache, as most would anyway
            // once the index outgrows any per-connection cache.
            configuration.prepareDatabase { database in
                try database.execute(sql: "PRAGMA cache_size = -1024")
                try database.execute(sql: "PRAGMA synchronous = NORMAL")
                try database.execute(sql: "PRAGMA wal_autocheckpoint = 1000")
                try database.execute(sql: "PRAGMA journal_size_limit = 4194304")
            }
            let began = ContinuousClock.now
            let pool = try DatabasePool(path: path, configuration: configuration)
            do {
                let migration = try migrate(pool, path: path)
                let opened = ContinuousClock.now
                // Touch every page of the objects table and its indexes once, so a damaged file
                // is found now rather than on some later request.
                try pool.read { database in
                    let result = try String.fetchOne(database, sql: "PRAGMA quick_check") ?? "no answer"
                    guard result == "ok" else {
                        throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "quick_check: \(result)")
                    }
                }
                let opening = Opening(
                    suffix: suffix, migration: migration, openDuration: opened - began,
                    checkDuration: ContinuousClock.now - opened)
                return (pool, opening)
            } catch {
                try? pool.close()
                throw error
            }
        }

        /// Brings the schema to `schemaVersion`; returns "N", or "M → N" when migrations ran.
        private static func migrate(_ pool: DatabasePool, path: String) throws -> String {
            try pool.writeWithoutTransaction { database in
                var found = 0
                try database.inTransaction(.exclusive) {
                    found = try Int.fetchOne(database, sql: "PRAGMA user_version") ?? 0
                    guard found <= schemaVersion else {
                        throw DiskTierError.indexTooNew(path: path, found: found, supported: schemaVersion)
                    }
                    for version in 1...schemaVersion where version > found {
                        try database.execute(sql: migrations[version - 1])
                        try database.execute(sql: "PRAGMA user_version = \(version)")
                    }
                    return .commit
                }
                return found == schemaVersion ? "\(found)" : "\(found) → \(schemaVersion)"
            }
        }
    }

    /// Runs `body` in a write transaction whose commit is durable (the log synced, as with
    /// synchronous=FULL) — and with it every commit before. For what is promised to survive a
    /// power loss: purges and removals.
    func durableWrite<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { database in
            try database.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? database.execute(sql: "PRAGMA synchronous = NORMAL") }
            var result: T?
            try database.inTransaction(.immediate) {
                result = try body(database)
                return .commit
            }
            return result!
        }
    }

    /// The columns `variants(for:)` needs from one `objects` row.
    struct ObjectRow: Sendable {
        var id: Int64
        var head: Data
        var bodyLength: Int
        var checksum: UInt32
        /// Empty for a body held inline (in `inlineBody`).
        var bodyPath: String
        /// The `inline_bodies` row's body, when the body is held inline and that row exists.
        var inlineBody: Data?
        /// The `soft_purged_at` column, which a bulk soft purge sets without rewriting the head.
        var softPurgedAt: Double?

        static func fetch(_ database: Database, sql: String, arguments: StatementArguments) throws -> [ObjectRow] {
            try Row.fetchAll(database.cachedStatement(sql: sql), arguments: arguments).map { row in
                ObjectRow(
                    id: row["id"], head: row["head"], bodyLength: row["body_length"],
                    checksum: UInt32(truncatingIfNeeded: row["checksum"] as Int64), bodyPath: row["body_path"],
                    inlineBody: row["inline_body"], softPurgedAt: row["soft_purged_at"])
            }
        }
    }
}
