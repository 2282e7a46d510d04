// DiskTier's start-up reconciliation: makes the index and the body files agree before anything
// is served. Runs once, in `init`, before any fill can start; blocks on SQLite and file I/O
// (one `stat` per row, one directory walk).
//
// After it:
// - bodies/tmp/ is empty (half-written fills of a previous run are gone);
// - every row names a body file of exactly `body_length` bytes (checksums are verified on read,
//   not here, to keep start-up proportional to the number of rows, not of bytes);
// - every body file is named by a row;
// - the body bytes are within the capacity (it may have been lowered since the last run).
import GRDB
import Logging

/// What start-up found and repaired in a disk tier's directory.
public struct ReconciliationReport: Sendable, Hashable {
    /// Rows dropped because their body file was missing or of the wrong size.
    public var rowsWithoutBody = 0
    /// Body files deleted because no row named them (including files of the dropped rows).
    public var orphanBodiesRemoved = 0
    /// Half-written files deleted from bodies/tmp.
    public var temporaryFilesRemoved = 0
    /// Rows evicted because the bodies exceeded the capacity.
    public var evictedOverCapacity = 0
    /// Where a corrupt index was moved, if it was.
    public var indexMovedAside: String?

    public init() {}

    var changedAnything: Bool {
        rowsWithoutBody + orphanBodiesRemoved + temporaryFilesRemoved + evictedOverCapacity > 0 || indexMovedAside != nil
    }

    var metadata: Logger.Metadata {
        [
            "rows-without-body": "\(rowsWithoutBody)", "orphan-bodies-removed": "\(orphanBodiesRemoved)",
            "temporary-files-removed": "\(temporaryFilesRemoved)", "evicted-over-capacity": "\(evictedOverCapacity)",
            "index-moved-aside": "\(indexMovedAside ?? "no")",
        ]
    }
}

extension DiskTier {
    static func reconcile(pool: DatabasePool, bodies: BodyFiles, capacityBytes: Int) throws -> ReconciliationReport {
        var report = ReconciliationReport()
        report.temporaryFilesRemoved = bodies.removeTemporaryFiles()

        let rows = try pool.read { database in
            try Row.fetchAll(database, sql: "SELECT id, body_path, body_length FROM objects").map { row in
                (id: row["id"] as Int64, path: row["body_path"] as String, length: row["body_length"] as Int)
            }
        }
        var named = Set<String>()
        var dropped: [Int64] = []
        for row in rows {
            if bodies.size(of: row.path) == row.length {
                named.insert(row.path)
            } else {
                dropped.append(row.id)
            }
        }
        let evicted = try pool.write { database in
            for id in dropped { try database.execute(sql: "DELETE FROM objects WHERE id = ?", arguments: [id]) }
            return try evict(downTo: capacityBytes, in: database)
        }
        report.rowsWithoutBody = dropped.count
        report.evictedOverCapacity = evicted.count
        for path in evicted {
            named.remove(path)
            bodies.remove(path)
        }

        for path in bodies.committedFiles() where !named.contains(path) {
            bodies.remove(path)
            report.orphanBodiesRemoved += 1
        }
        return report
    }
}
