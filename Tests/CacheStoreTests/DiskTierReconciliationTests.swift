// Reconciliation in the background: the tier serves and stores while it runs; the orphan sweep
// never deletes a body a fill of this run wrote, even one committed mid-sweep or one renamed into
// place whose row is not yet written; stopping it
// leaves the work for the next start-up; a lowered capacity is enforced; its report and its
// log line arrive when it is done.
import CachePolicy
import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
import NIOCore
import OutpostTesting
import Testing

@testable import CacheStore

@Suite("Disk tier reconciliation")
struct DiskTierReconciliationTests {
    /// A directory whose tier holds `kept` objects, one row whose body is gone ("lost"), an
    /// orphan body, an unparseable file and a half-written temporary file.
    func damagedDirectory(kept: Int) throws -> String {
        let directory = makeTemporaryDirectory()
        do {
            // The orphan first: its id is below the largest, so no fill of the next run reuses it.
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 22, inlineBodyLimit: 0)
            #expect(store(tier, makeResponse(key: "orphan"), body: "orphan"))
            for number in 0..<kept { #expect(store(tier, makeResponse(key: "kept \(number)"), body: "body \(number)")) }
            #expect(store(tier, makeResponse(key: "lost"), body: "lost"))
        }
        try FileManager.default.removeItem(atPath: try #require(try bodyFile(of: "lost", in: directory)))
        let orphan = try #require(try bodyFile(of: "orphan", in: directory))
        try DatabaseQueue(path: directory + "/index.sqlite").write { try $0.execute(sql: "DELETE FROM objects WHERE key = 'orphan'") }
        #expect(FileManager.default.fileExists(atPath: orphan))
        try FileManager.default.createDirectory(atPath: directory + "/bodies/00/00", withIntermediateDirectories: true)
        try Data("junk".utf8).write(to: URL(fileURLWithPath: directory + "/bodies/00/00/not-a-body"))
        try Data("half".utf8).write(to: URL(fileURLWithPath: directory + "/bodies/tmp/half.tmp"))
        return directory
    }

    @Test("in the background: the tier serves and stores at once; when done, the report is complete and logged")
    func background() throws {
        let directory = try damagedDirectory(kept: 40)
        let records = LogRecords()
        let logger = records.logger(label: "reconciliation-test")
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 22, reconcile: .inBackground, inlineBodyLimit: 0, logger: logger)
        #expect(tier.variants(for: "kept 7").map { String(buffer: $0.body) } == ["body 7"])
        for number in 0..<20 { #expect(store(tier, makeResponse(key: "new \(number)"), body: "new \(number)")) }
        #expect(tier.variants(for: "lost").isEmpty)

        let report = try #require(tier.waitForReconciliation())
        #expect(tier.reconciliationFinished)
        #expect(report.temporaryFilesRemoved == 1)
        #expect(report.orphanBodiesRemoved == 2)
        // The read above may have found the missing body first.
        #expect(report.rowsWithoutBody + tier.corruptBodiesDetected == 1)
        #expect(records.messages(at: .notice).contains("disk cache reconciled"))
        for number in 0..<20 {
            #expect(tier.variants(for: "new \(number)").map { String(buffer: $0.body) } == ["new \(number)"])
        }
        #expect(tier.usage.objects == 60)
        #expect(try committedBodyFiles(in: directory).count == 60)
    }

    @Test("a fill committed after the rows were read, before the orphan sweep, keeps its body")
    func fillDuringSweep() throws {
        let directory = try damagedDirectory(kept: 3)
        let seams = DiskTier.Seams()
        let opened = Shared<DiskTier?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let committed = Shared(false)
        seams.onOrphanSweep {
            // On the reconciliation thread, between reading the rows and walking the files.
            ready.wait()
            guard let tier = opened.value else { return }
            committed.value = store(tier, makeResponse(key: "mid-sweep"), body: "mid-sweep")
        }
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 22, reconcile: .inBackground, inlineBodyLimit: 0, logger: nil, seams: seams)
        opened.value = tier
        ready.signal()
        #expect(tier.waitForReconciliation()?.orphanBodiesRemoved == 2)
        #expect(committed.value)
        #expect(tier.variants(for: "mid-sweep").map { String(buffer: $0.body) } == ["mid-sweep"])
        #expect(try committedBodyFiles(in: directory).count == 4)
    }

    @Test("a fill whose body is in place but whose row is not yet committed when the sweep runs keeps its body")
    func fillBetweenRenameAndRow() throws {
        let directory = try damagedDirectory(kept: 3)
        let seams = DiskTier.Seams()
        let opened = Shared<DiskTier?>(nil)
        let (ready, published, release, done) = (
            DispatchSemaphore(value: 0), DispatchSemaphore(value: 0), DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)
        )
        let committed = Shared(false)
        // The fill's index write waits until the sweep is over: its body file is renamed into
        // place, its row not written.
        seams.injectFailures { operation in
            if operation == .indexWrite {
                published.signal()
                release.wait()
            }
            return nil
        }
        seams.onOrphanSweep {
            ready.wait()
            guard let tier = opened.value else { return }
            Thread.detachNewThread {
                committed.value = store(tier, makeResponse(key: "in the window"), body: "in the window")
                done.signal()
            }
            published.wait()
        }
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 22, reconcile: .inBackground, inlineBodyLimit: 0, logger: nil, seams: seams)
        opened.value = tier
        ready.signal()
        #expect(tier.waitForReconciliation()?.orphanBodiesRemoved == 2)
        release.signal()
        done.wait()
        #expect(committed.value)
        #expect(tier.variants(for: "in the window").map { String(buffer: $0.body) } == ["in the window"])
        #expect(tier.corruptBodiesDetected == 0)
    }

    @Test("an orphan whose id is above the largest indexed one is removed, and no later fill reuses its id")
    func orphanAboveLargestID() throws {
        let directory = makeTemporaryDirectory()
        do {
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
            #expect(store(tier, makeResponse(key: "kept"), body: "kept"))
        }
        // A body of id 5, left by a run whose row for it never committed (the largest row is 1).
        let orphan = directory + "/bodies/" + DiskTier.BodyFiles.relativePath(for: 5)
        try FileManager.default.createDirectory(
            atPath: (orphan as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data("orphan".utf8).write(to: URL(fileURLWithPath: orphan))

        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
        #expect(tier.reconciliation?.orphanBodiesRemoved == 1)
        #expect(!FileManager.default.fileExists(atPath: orphan))
        #expect(store(tier, makeResponse(key: "next"), body: "next"))
        let path = try #require(try bodyFile(of: "next", in: directory))
        #expect(DiskTier.BodyFiles.id(inFileName: (path as NSString).lastPathComponent) == 6)
    }

    @Test("stopped part-way, it reports nothing and leaves the orphans; the next start-up removes them")
    func stopped() throws {
        let directory = try damagedDirectory(kept: 3)
        let seams = DiskTier.Seams()
        let reached = DispatchSemaphore(value: 0)
        let proceed = DispatchSemaphore(value: 0)
        seams.onOrphanSweep {
            reached.signal()
            proceed.wait()
        }
        let tier = try DiskTier(directory: directory, capacityBytes: 1 << 22, reconcile: .inBackground, inlineBodyLimit: 0, logger: nil, seams: seams)
        reached.wait()
        tier.state.withLockedValue { $0.reconciliationStopRequested = true }
        proceed.signal()
        #expect(tier.waitForReconciliation() == nil)
        #expect(!tier.reconciliationFinished)
        #expect(FileManager.default.fileExists(atPath: directory + "/bodies/00/00/not-a-body"))
        #expect(try committedBodyFiles(in: directory).count == 3 + 1, "the orphan is still there")

        let reopened = try DiskTier(directory: directory, capacityBytes: 1 << 22, inlineBodyLimit: 0)
        #expect(reopened.reconciliation?.orphanBodiesRemoved == 2)
        #expect(try committedBodyFiles(in: directory).count == 3)
        #expect(!FileManager.default.fileExists(atPath: directory + "/bodies/00/00/not-a-body"))
    }

    @Test("a capacity lowered since the last run is enforced in the background, least recently used first")
    func loweredCapacity() throws {
        let directory = makeTemporaryDirectory()
        do {
            let tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, inlineBodyLimit: 0)
            for number in 0..<10 { #expect(store(tier, makeResponse(key: "k\(number)"), body: bytes(1_000))) }
        }
        let tier = try DiskTier(directory: directory, capacityBytes: 4_000, reconcile: .inBackground, inlineBodyLimit: 0)
        let report = try #require(tier.waitForReconciliation())
        #expect(report.evictedOverCapacity == 6)
        #expect(tier.usage == StorageUsage(objects: 4, bytes: 4_000, evictions: 6))
        #expect(tier.variants(for: "k0").isEmpty)
        #expect(tier.variants(for: "k9").count == 1)
        #expect(try committedBodyFiles(in: directory).count == 4)
    }
}

/// A value shared with a hook running on another thread.
final class Shared<Value: Sendable>: Sendable {
    private let box: NIOLockedValueBox<Value>
    init(_ value: Value) { box = NIOLockedValueBox(value) }
    var value: Value {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }
}
