// DiskTier's write failures: counting them, logging each condition once, and pausing stores
// while the disk is full or failing, so a full disk costs one log line and a counter, not a
// failed write per fill. Also the seams tests use to fail the disk without filling one.
//
// The storing pause is a small state machine kept in `State.storingPause`:
//   storing --(write fails with a disk condition)--> paused
//   paused  --(a fill begins before the next probe)--> paused, the fill skipped (storesSkipped + 1)
//   paused  --(a fill begins at or after the next probe)--> paused, that fill admitted as the probe
//   paused  --(a fill's rows commit)--> storing, logged once ("disk cache storing resumed")
//
// Invariants:
// - While paused, at most one fill per `storingProbeInterval` touches the disk.
// - A condition is logged once until storing resumes; resuming forgets the conditions logged
//   while paused, so a later recurrence is logged again.
// - Reads, updates and removals are never paused: purging is how space comes back.
import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension DiskTier {
    /// How long stores stay paused after a disk-full or I/O failure before the next fill probes.
    public static let storingProbeInterval: Double = 5

    /// Stores are paused since `since` because of the disk conditions in `conditions`.
    struct StoringPause: Sendable {
        var conditions: Set<String>
        var since: Double
        var nextProbe: Double
        var skippedBefore: Int
    }

    /// Whether fills are being skipped because the disk was full or failing (see
    /// `storingProbeInterval`); it clears itself once a store succeeds again.
    public var storingPaused: Bool { state.withLockedValue { $0.storingPause != nil } }
    /// Fills not attempted because storing was paused, since the tier was opened.
    public var storesSkipped: Int { state.withLockedValue { $0.storesSkipped } }

    /// Whether a fill beginning now may write: always while storing, once per probe interval
    /// while paused. A fill refused here is counted in `storesSkipped`.
    func admitsFill() -> Bool {
        let now = seams.now()
        return state.withLockedValue { state in
            guard var pause = state.storingPause else { return true }
            guard now >= pause.nextProbe else {
                state.storesSkipped += 1
                return false
            }
            pause.nextProbe = now + Self.storingProbeInterval
            state.storingPause = pause
            return true
        }
    }

    /// Counts a write failure (`count` fills lost), logs it the first time its condition shows,
    /// and pauses storing when the condition is the disk's (full, quota, read-only, I/O error).
    func recordWriteFailure(_ error: any Error, count: Int = 1) {
        let condition = Self.condition(of: error)
        let pauses = Self.pausesStoring(error)
        let now = seams.now()
        state.withLockedValue { state in
            state.writeFailures += count
            guard pauses else { return }
            var pause = state.storingPause
                ?? StoringPause(conditions: [], since: now, nextProbe: now, skippedBefore: state.storesSkipped)
            pause.conditions.insert(condition)
            pause.nextProbe = now + Self.storingProbeInterval
            state.storingPause = pause
        }
        logOnce(
            condition: condition, "disk cache write failed", error: error,
            extra: pauses ? ["storing": "paused", "probe-interval": "\(Self.storingProbeInterval) s"] : [:])
    }

    /// Ends a pause after a fill's rows committed, logging once that storing resumed.
    func storeSucceeded() {
        let now = seams.now()
        let ended = state.withLockedValue { state -> (StoringPause, skipped: Int)? in
            guard let pause = state.storingPause else { return nil }
            state.storingPause = nil
            state.loggedConditions.subtract(pause.conditions)
            return (pause, state.storesSkipped - pause.skippedBefore)
        }
        guard let ended else { return }
        let (pause, skipped) = ended
        logger?.notice(
            "disk cache storing resumed",
            metadata: [
                "paused-for": "\(String(format: "%.1f", now - pause.since)) s", "stores-skipped": "\(skipped)",
                "conditions": "\(pause.conditions.sorted().joined(separator: ", "))",
            ])
    }

    func logOnce(condition: String, _ message: Logger.Message, error: any Error, extra: Logger.Metadata = [:]) {
        let isNew = state.withLockedValue { $0.loggedConditions.insert(condition).inserted }
        guard isNew else { return }
        logger?.error(message, metadata: extra.merging(["error": "\(error)", "condition": "\(condition)"]) { $1 })
    }

    /// A name for the kind of failure: the same disk-full error on every fill is one condition.
    static func condition(of error: any Error) -> String {
        switch error {
        case let error as FileError: "\(error.operation) errno \(error.code)"
        case let error as DatabaseError: "sqlite \(error.resultCode.rawValue)"
        default: String(describing: type(of: error))
        }
    }

    /// Whether `error` says the disk itself cannot take writes now, so the next fills would fail
    /// the same way: out of space or quota, mounted read-only, or an I/O error.
    static func pausesStoring(_ error: any Error) -> Bool {
        switch error {
        case let error as FileError: [ENOSPC, EDQUOT, EROFS, EIO].contains(error.code)
        case let error as DatabaseError:
            [ResultCode.SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY].contains(error.resultCode.primaryResultCode)
        default: false
        }
    }
}

extension DiskTier {
    /// The tier's seams to the outside world that tests replace: the clock of the storing pause,
    /// failures injected into the file and index writes (an `errno` per operation, nil to let
    /// it run), and a call as reconciliation reaches its orphan sweep. Production leaves them
    /// alone; each costs one uncontended lock.
    final class Seams: Sendable {
        enum Operation: String, Sendable {
            case open, write, fsync, rename
            /// The index transaction of a batch of committed fills.
            case indexWrite = "index write"
        }

        private struct Values: Sendable {
            var now: @Sendable () -> Double = { Date().timeIntervalSince1970 }
            var failure: (@Sendable (Operation) -> Int32?)?
            var orphanSweepReached: (@Sendable () -> Void)?
        }

        private let values = NIOLockedValueBox(Values())

        func now() -> Double { values.withLockedValue { $0.now }() }

        func setClock(_ now: @escaping @Sendable () -> Double) { values.withLockedValue { $0.now = now } }

        func injectFailures(_ failure: (@Sendable (Operation) -> Int32?)?) {
            values.withLockedValue { $0.failure = failure }
        }

        func onOrphanSweep(_ call: (@Sendable () -> Void)?) { values.withLockedValue { $0.orphanSweepReached = call } }

        func reachedOrphanSweep() { values.withLockedValue { $0.orphanSweepReached }?() }

        /// Throws the failure injected for `operation`, if any: a `FileError` for file
        /// operations, a `DatabaseError` (SQLITE_FULL for ENOSPC, SQLITE_IOERR otherwise) for the
        /// index.
        func check(_ operation: Operation, path: String) throws {
            guard let failure = values.withLockedValue({ $0.failure }), let code = failure(operation) else { return }
            if operation == .indexWrite {
                throw DatabaseError(resultCode: code == ENOSPC ? .SQLITE_FULL : .SQLITE_IOERR, message: "injected")
            }
            throw FileError(operation: operation.rawValue, path: path, code: code)
        }
    }
}
