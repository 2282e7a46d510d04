// A full disk, injected (no disk is filled): the fill is lost and counted, storing pauses with one
// log line, later fills are skipped without touching the disk, one fill per probe interval tries
// again, and the first that succeeds resumes storing with one log line; a recurrence is logged
// again. A failing index (SQLITE_FULL) pauses the same way.
import CachePolicy
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import OutpostTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@testable import CacheStore

@Suite("Disk tier write failures")
struct DiskTierWriteFailureTests {
    /// A tier on a manual clock whose file and index operations fail as `failing` says.
    struct Rig {
        let tier: DiskTier
        let directory: String
        let records = LogRecords()
        let clock = Shared<Double>(1_000)
        /// The errno each operation fails with; operations not listed succeed.
        let failing = Shared<[DiskTier.Seams.Operation: Int32]>([:])
        /// How many times each operation reached the disk (or its injected failure).
        let attempts = Shared<[DiskTier.Seams.Operation: Int]>([:])

        init() throws {
            directory = makeTemporaryDirectory()
            let seams = DiskTier.Seams()
            let (clock, failing, attempts, records) = (clock, failing, attempts, records)
            seams.setClock { clock.value }
            seams.injectFailures { operation in
                attempts.value[operation, default: 0] += 1
                return failing.value[operation]
            }
            let logger = records.logger(label: "write-failure-test")
            tier = try DiskTier(directory: directory, capacityBytes: 1 << 20, reconcile: .beforeOpening, inlineBodyLimit: 0, logger: logger, seams: seams)
        }

        func temporaryFiles() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: directory + "/bodies/tmp")
        }
    }

    @Test("ENOSPC: the fill is lost, storing pauses with one log line, fills are skipped, a probe every 5 s, resumed once")
    func diskFull() throws {
        let rig = try Rig()
        let tier = rig.tier
        #expect(store(tier, makeResponse(key: "before"), body: "before"))

        rig.failing.value = [.write: ENOSPC]
        #expect(store(tier, makeResponse(key: "a"), body: "a") == false)
        #expect(tier.writeFailures == 1)
        #expect(tier.storingPaused)
        #expect(rig.records.messages(at: .error) == ["disk cache write failed"])
        #expect(try rig.temporaryFiles().isEmpty)

        // Paused: fills are skipped without opening a file.
        let opensBefore = rig.attempts.value[.open]
        #expect(store(tier, makeResponse(key: "b"), body: "b") == false)
        rig.clock.value += 4.5
        #expect(store(tier, makeResponse(key: "c"), body: "c") == false)
        #expect(rig.attempts.value[.open] == opensBefore)
        #expect(tier.storesSkipped == 2)
        #expect(tier.writeFailures == 1)

        // The probe interval has passed: one fill tries, fails the same way, and is not logged again.
        rig.clock.value += 0.5
        #expect(store(tier, makeResponse(key: "d"), body: "d") == false)
        #expect(store(tier, makeResponse(key: "e"), body: "e") == false)
        #expect(tier.writeFailures == 2)
        #expect(tier.storesSkipped == 3)
        #expect(tier.storingPaused)
        #expect(rig.records.messages(at: .error).count == 1)
        #expect(rig.records.messages(at: .notice).filter { $0.contains("resumed") }.isEmpty)

        // Space is back: the next probe stores, and storing resumes by itself, said once.
        rig.failing.value = [:]
        #expect(store(tier, makeResponse(key: "skipped"), body: "skipped") == false, "still before the next probe")
        rig.clock.value += DiskTier.storingProbeInterval
        #expect(store(tier, makeResponse(key: "f"), body: "f"))
        #expect(!tier.storingPaused)
        #expect(store(tier, makeResponse(key: "g"), body: "g"))
        #expect(rig.records.messages(at: .notice).filter { $0 == "disk cache storing resumed" }.count == 1)
        #expect(tier.storesSkipped == 4)
        for key in ["a", "b", "c", "d", "e", "skipped"] { #expect(tier.variants(for: key).isEmpty, "\(key)") }
        for key in ["before", "f", "g"] { #expect(tier.variants(for: key).map { String(buffer: $0.body) } == [key]) }
        #expect(try committedBodyFiles(in: rig.directory).count == 3)
        #expect(try rig.temporaryFiles().isEmpty)

        // A recurrence is a new episode: logged again.
        rig.failing.value = [.fsync: ENOSPC]
        #expect(store(tier, makeResponse(key: "h"), body: "h") == false)
        #expect(tier.storingPaused)
        #expect(rig.records.messages(at: .error) == ["disk cache write failed", "disk cache write failed"])
    }

    @Test("SQLITE_FULL on the index write pauses storing too, and leaves no body file behind")
    func indexFull() throws {
        let rig = try Rig()
        let tier = rig.tier
        rig.failing.value = [.indexWrite: ENOSPC]
        #expect(store(tier, makeResponse(key: "a"), body: "a") == false)
        #expect(tier.writeFailures == 1)
        #expect(tier.storingPaused)
        #expect(try committedBodyFiles(in: rig.directory).isEmpty)
        #expect(store(tier, makeResponse(key: "b"), body: "b") == false)
        #expect(tier.storesSkipped == 1)

        rig.failing.value = [:]
        rig.clock.value += DiskTier.storingProbeInterval
        #expect(store(tier, makeResponse(key: "c"), body: "c"))
        #expect(!tier.storingPaused)
        #expect(tier.usage.objects == 1)
    }

    @Test("a failure that is not the disk's (permission denied) loses the fill but does not pause storing")
    func otherFailure() throws {
        let rig = try Rig()
        rig.failing.value = [.rename: EACCES]
        #expect(store(rig.tier, makeResponse(key: "a"), body: "a") == false)
        #expect(rig.tier.writeFailures == 1)
        #expect(!rig.tier.storingPaused)
        rig.failing.value = [:]
        #expect(store(rig.tier, makeResponse(key: "b"), body: "b"))
        #expect(rig.tier.storesSkipped == 0)
        #expect(try committedBodyFiles(in: rig.directory).count == 1)
        #expect(try rig.temporaryFiles().isEmpty)
    }
}
