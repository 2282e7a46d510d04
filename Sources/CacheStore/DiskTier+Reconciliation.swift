// DiskTier's start-up reconciliation: makes the index and the body files agree. `init` does the
// fast part itself (a corrupt index and its bodies moved aside, bodies/tmp emptied); the rest —
// one `stat` per row, one directory walk — runs before `init` returns or, for a node, on a
// thread of its own while the tier already serves and stores.
//
// After it:
// - every row it saw with a body file names one of exactly `body_length` bytes (checksums, and
//   inline bodies, are verified on read, not here, to keep start-up proportional to the number
//   of rows, not of bytes);
// - every body file is named by a row, except those of fills of this run that failed between
//   allocating their id and publishing their file (a later start-up removes them);
// - the body bytes are within the capacity (it may have been lowered since the last run);
// - the bodies of a moved-aside index are gone.
//
// Safe beside fills, reads and purges, because:
// - rows are read in pages by id and only rows with an id up to the largest at start-up are
//   examined; a row is deleted only by its id and body path, so a row a purge already removed
//   is not counted twice;
// - a fill of this run gets an id above the largest at start-up and writes `<id>.body`; the
//   sweep considers a file with such an id only after claiming the id (moving the allocator past
//   it, under the lock), which fails once a fill may hold it — so it never touches a fill's file,
//   even between its rename and its row's commit; and each candidate is looked up in the index
//   again just before it is deleted;
// - eviction goes in small transactions, so commits are not held up behind it.
import Foundation
import GRDB
import Logging

/// When a disk tier reconciles its index with its files.
public enum ReconciliationMode: Sendable, CustomStringConvertible {
    /// In `init`, before the tier is returned: simple, and what tests want.
    case beforeOpening
    /// On a thread of its own, while the tier is used: what a node with a large cache wants.
    case inBackground

    public var description: String {
        switch self {
        case .beforeOpening: "before opening"
        case .inBackground: "in background"
        }
    }
}

/// What start-up found and repaired in a disk tier's directory.
public struct ReconciliationReport: Sendable, Hashable {
    /// Rows dropped because their body file was missing or of the wrong size.
    public var rowsWithoutBody = 0
    /// Body files deleted because no row named them (including files of the dropped rows and
    /// the bodies of a moved-aside index).
    public var orphanBodiesRemoved = 0
    /// Half-written files deleted from bodies/tmp.
    public var temporaryFilesRemoved = 0
    /// Rows evicted because the bodies exceeded the capacity.
    public var evictedOverCapacity = 0
    /// Where a corrupt index was moved, if it was.
    public var indexMovedAside: String?

    public init() {}

    var metadata: Logger.Metadata {
        [
            "rows-without-body": "\(rowsWithoutBody)", "orphan-bodies-removed": "\(orphanBodiesRemoved)",
            "temporary-files-removed": "\(temporaryFilesRemoved)", "evicted-over-capacity": "\(evictedOverCapacity)",
            "index-moved-aside": "\(indexMovedAside ?? "no")",
        ]
    }
}

extension DiskTier {
    /// What `init` did and learnt before the reconciliation proper.
    struct ReconciliationStart: Sendable {
        /// Every id up to this one was allocated by an earlier run; every id above, by this one.
        var largestID: Int64
        var temporaryFilesRemoved: Int
        var indexMovedAside: String?
        var began: ContinuousClock.Instant
    }

    /// Rows examined per read, and rows evicted per transaction.
    static let reconciliationPageSize = 5_000
    /// Where the bodies of a moved-aside index go until reconciliation deletes them.
    static let orphanedBodiesPrefix = "bodies.orphaned-"

    /// Blocks until reconciliation has finished or was stopped; returns its report (nil if it
    /// was stopped or failed).
    @discardableResult
    public func waitForReconciliation() -> ReconciliationReport? {
        reconciling.wait()
        return reconciliation
    }

    /// Asks a background reconciliation to stop and waits until it has (at shutdown); the next
    /// start-up reconciles again.
    public func stopReconciliation() {
        state.withLockedValue { $0.reconciliationStopRequested = true }
        reconciling.wait()
    }

    /// `CacheStorage`: at shutdown, the reconciliation stops.
    public func stopBackgroundWork() { stopReconciliation() }

    var reconciliationStopRequested: Bool { state.withLockedValue { $0.reconciliationStopRequested } }

    /// Runs the reconciliation, records its report and logs it (or why it did not finish).
    /// Leaves `reconciling` whatever happens.
    func runReconciliation(_ start: ReconciliationStart) throws {
        defer { reconciling.leave() }
        guard let report = try reconcile(start) else {
            logger?.notice("disk cache reconciliation stopped; the next start-up does it again")
            return
        }
        state.withLockedValue { $0.reconciliation = report }
        var metadata = report.metadata
        metadata["duration"] = "\(ContinuousClock.now - start.began)"
        logger?.notice("disk cache reconciled", metadata: metadata)
    }

    /// The reconciliation proper; nil when stopped before the end.
    private func reconcile(_ start: ReconciliationStart) throws -> ReconciliationReport? {
        var report = ReconciliationReport()
        report.temporaryFilesRemoved = start.temporaryFilesRemoved
        report.indexMovedAside = start.indexMovedAside

        guard let named = try dropRowsWithoutBody(upTo: start.largestID, report: &report),
            try evictOverCapacity(report: &report)
        else { return nil }
        seams.reachedOrphanSweep()
        guard try removeOrphans(upTo: start.largestID, named: named, report: &report),
            removeOrphanedDirectories(report: &report)
        else { return nil }
        return report
    }

    /// Drops the rows (id up to `largestID`) whose body file is missing or of the wrong size;
    /// returns the body paths of the rows kept, or nil when stopped.
    private func dropRowsWithoutBody(upTo largestID: Int64, report: inout ReconciliationReport) throws -> Set<String>? {
        var named = Set<String>()
        var after: Int64 = 0
        while after < largestID {
            if reconciliationStopRequested { return nil }
            let page = try pool.read { database in
                try Row.fetchAll(
                    database,
                    sql: "SELECT id, body_path, body_length FROM objects WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                    arguments: [after, largestID, Self.reconciliationPageSize]
                ).map { (id: $0["id"] as Int64, path: $0["body_path"] as String, length: $0["body_length"] as Int) }
            }
            guard let last = page.last else { break }
            after = last.id
            var missing: [(id: Int64, path: String)] = []
            for row in page {
                if row.path.isEmpty { continue }  // inline: its length and checksum are checked on read
                if bodies.size(of: row.path) == row.length {
                    named.insert(row.path)
                } else {
                    missing.append((row.id, row.path))
                }
            }
            guard !missing.isEmpty else { continue }
            report.rowsWithoutBody += try pool.write { database in
                var deleted = 0
                for row in missing {
                    try database.execute(
                        sql: "DELETE FROM objects WHERE id = ? AND body_path = ?", arguments: [row.id, row.path])
                    deleted += database.changesCount
                }
                return deleted
            }
        }
        return named
    }

    /// Evicts least recently used rows, a page per transaction, until the bodies fit the
    /// capacity; false when stopped.
    private func evictOverCapacity(report: inout ReconciliationReport) throws -> Bool {
        let capacity = capacityBytes
        while true {
            if reconciliationStopRequested { return false }
            let victims = try pool.write { try Self.evict(downTo: capacity, in: $0, limit: Self.reconciliationPageSize) }
            for path in victims { bodies.remove(path) }
            report.evictedOverCapacity += victims.count
            state.withLockedValue { $0.evictions += victims.count }
            if victims.count < Self.reconciliationPageSize { return true }
        }
    }

    /// Deletes the body files no row names and no fill of this run may own: ids up to
    /// `largestID`, ids above it that can still be claimed, names that are no body's; false
    /// when stopped.
    private func removeOrphans(upTo largestID: Int64, named: Set<String>, report: inout ReconciliationReport) throws
        -> Bool
    {
        var stopped = false
        try bodies.forEachDirectory { directory, names in
            if reconciliationStopRequested {
                stopped = true
                return false
            }
            var candidates: [(path: String, id: Int64?)] = []
            for name in names {
                let path = directory + "/" + name
                guard !named.contains(path) else { continue }
                let id = BodyFiles.id(inFileName: name)
                if let id, id > largestID, !claim(id) { continue }  // may be a fill's of this run
                candidates.append((path, id))
            }
            guard !candidates.isEmpty else { return true }
            // Just before deleting: a row naming the file after all keeps it.
            let stillNamed = try pool.read { database in
                try Set(
                    candidates.compactMap { candidate -> String? in
                        guard let id = candidate.id else { return nil }
                        let path = try String.fetchOne(
                            database, sql: "SELECT body_path FROM objects WHERE id = ?", arguments: [id])
                        return path == candidate.path ? path : nil
                    })
            }
            for candidate in candidates where !stillNamed.contains(candidate.path) {
                bodies.remove(candidate.path)
                report.orphanBodiesRemoved += 1
            }
            return true
        }
        return !stopped
    }

    /// Makes sure no fill of this run is ever given `id`; false when one may already have been.
    private func claim(_ id: Int64) -> Bool {
        state.withLockedValue { state in
            guard id >= state.nextID else { return false }
            state.nextID = id + 1
            return true
        }
    }

    /// Deletes the body directories set aside with a corrupt index, counting their files as
    /// orphans; false when stopped.
    private func removeOrphanedDirectories(report: inout ReconciliationReport) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() where name.hasPrefix(Self.orphanedBodiesPrefix) {
            let orphaned = BodyFiles(root: directory + "/" + name, seams: seams)
            var stopped = false
            orphaned.forEachDirectory { directory, files in
                if reconciliationStopRequested {
                    stopped = true
                    return false
                }
                for file in files where BodyFiles.remove(path: orphaned.absolutePath(directory + "/" + file)) {
                    report.orphanBodiesRemoved += 1
                }
                return true
            }
            if stopped { return false }
            try? FileManager.default.removeItem(atPath: orphaned.root)
        }
        return true
    }
}
