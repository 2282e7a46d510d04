// The lifecycle of one fill's origin side (Fill) as a value: Fill reports each event of the
// origin's answer, with the verdicts of the policy and of the store it asked, and the machine
// returns what to do. No I/O, no lock, no event loop; Fill performs the actions on its loop.
//
//   awaitingHead ──304 that selects the stored response / stale-if-error──▶ answeredFromStore
//        │   └─────304 that selects none──▶ refetching ──end or failure──▶ awaitingHead (unconditional)
//        │ head, storable and small ──▶ holdingHead(memory) ─memory refuses─▶ streaming(disk | none)
//        │ head ─────────────────────▶ streaming(memory | disk | none)
//        │                                   memory refuses ─▶ streaming(disk | none)
//        │                                   disk gives up, too large ─▶ streaming(none)
//        └── failure ──▶ finished                                │ end: commit the target, or abandon
//                                                                ▼
//                                                             finished
//
// Invariants (RFC 9111 §3.3 and RFC 9211 §2.7):
// - a body is committed to a store only when it ended whole and no purge since the request
//   started supersedes it; everything else abandons the store fill, with a reason;
// - the store target only ever moves memory → disk → none (never back), and a memory fill that
//   was refused goes to the disk only while within the rules' size bound and a disk tier exists;
// - a held head is released exactly once: when the body ends (saying whether it was stored) or
//   as soon as the memory tier refuses it (then without `stored`);
// - after the fill answered from the store, or finished, the rest of the origin's answer is read
//   and ignored (the connection stays reusable); nothing more reaches a subscriber.
import CachePolicy

struct FillStateMachine: Equatable {
    /// Where the body is being stored.
    enum StoreTarget: Equatable { case memory, disk, none }

    enum State: Equatable {
        case awaitingHead(validating: Bool)
        /// A 304 selected no stored response: the rest of it is ignored, then the request goes
        /// again without validators (RFC 9111 §4.3.3).
        case refetching
        /// Answered with the stored body (revalidated, or stale-if-error); the origin's answer is
        /// read to its end and ignored.
        case answeredFromStore
        /// A small storable response's head waits for its body and the store's answer.
        case holdingHead
        case streaming(StoreTarget)
        case finished
    }

    /// What the policy and the store made of the origin's head.
    enum HeadVerdict: Equatable {
        /// A 304 to a conditional request; `selectsStored` when it identifies the stored response.
        case notModified(selectsStored: Bool)
        /// An error status, and the stored response may be served stale instead (RFC 5861 §4).
        case staleIfError
        /// A full response, stored to `target`; `holdable` when its declared length is small
        /// enough for its head to wait for the body.
        case fetched(StoreTarget, holdable: Bool)
    }

    enum HeadAction: Equatable {
        /// Merge the 304 into the stored response and answer every matching waiter with it.
        case answerRevalidated
        case answerStale
        /// Ignore the rest of this answer; ask again when it ends.
        case awaitRefetch
        case holdHead
        /// Deliver the head to the subscribers now.
        case streamHead
        case ignore
    }

    /// For a body part, once the memory tier (when it was the target) said whether it took it.
    enum PartAction: Equatable {
        /// Keep the part with the held head (the memory tier took it).
        case holdPart
        /// Deliver the part to the subscribers (and to the disk fill, when the disk is the target),
        /// after releasing a held head (without `stored`: the memory tier refused the body) and
        /// applying `storeChange`, in that order.
        case deliver(storeChange: StoreChange?, releaseHeldHead: Bool)
        /// Refetching, answered from the store, or finished: the part is dropped.
        case ignore
    }

    enum StoreChange: Equatable {
        /// The memory tier refused the body: abandon its fill and start a disk fill from the parts so far.
        case memoryToDisk
        /// The memory tier refused the body and no disk takes it (larger than the rules allow, or
        /// no disk tier): remember the key as too large, and take no more waiters.
        case memoryRefused
        /// Abandon the store fill for `reason`, counted.
        case stopStoring(NotCachedReason)
        /// Drop the disk fill, which gave up on its own and counted why.
        case dropDiskFill
    }

    enum EndAction: Equatable {
        /// Commit the body to `target` (`.none`: nothing to commit), release a held head with
        /// the commit's outcome, and end every subscriber's response.
        case commit(StoreTarget)
        /// Abandon the store fill for `reason`, release a held head saying so, and end every
        /// subscriber's response.
        case abandon(NotCachedReason)
        /// Send the request again, without validators.
        case refetch
        /// The answer was already given from the store: nothing to do.
        case none
    }

    enum FailureAction: Equatable {
        /// Abandon any store fill (the body did not arrive whole); then, when `mayServeStale` and
        /// the policy allows it (RFC 5861 §4), serve the stored response stale, else fail every
        /// subscriber.
        case fail(mayServeStale: Bool)
        case refetch
        case none
    }

    private(set) var state: State

    init(validating: Bool) {
        state = .awaitingHead(validating: validating)
    }

    var target: StoreTarget {
        switch state {
        case .holdingHead: .memory
        case .streaming(let target): target
        default: .none
        }
    }

    /// The body streams to no store: once nobody listens, reading the rest serves no one (before
    /// the head, or while it may still be stored, the fill goes on).
    var streamsUnstored: Bool { state == .streaming(.none) }

    mutating func headReceived(_ verdict: HeadVerdict) -> HeadAction {
        guard case .awaitingHead(let validating) = state else { return .ignore }
        switch verdict {
        case .notModified(let selectsStored) where validating:
            state = selectsStored ? .answeredFromStore : .refetching
            return selectsStored ? .answerRevalidated : .awaitRefetch
        case .staleIfError where validating:
            state = .answeredFromStore
            return .answerStale
        case .fetched(.memory, holdable: true):
            state = .holdingHead
            return .holdHead
        case .fetched(let target, _):
            state = .streaming(target)
            return .streamHead
        case .notModified, .staleIfError:
            // Only a conditional request can be answered from the store.
            state = .streaming(.none)
            return .streamHead
        }
    }

    /// A body part arrived. `memoryTook`: the memory tier accepted it (asked only when memory
    /// is the target and the part is within `withinBound`); `withinBound`: the body so far is within
    /// the rules' maximum object size; `diskAvailable`: a disk tier exists to take it instead;
    /// `diskGaveUp`: the disk fill stopped (too large for the disk, a failed write, a paused disk).
    mutating func bodyPartReceived(memoryTook: Bool, withinBound: Bool, diskAvailable: Bool, diskGaveUp: Bool) -> PartAction {
        switch state {
        case .holdingHead, .streaming(.memory):
            let holding = state == .holdingHead
            if memoryTook && withinBound {
                return holding ? .holdPart : .deliver(storeChange: nil, releaseHeldHead: false)
            }
            let toDisk = withinBound && diskAvailable
            state = .streaming(toDisk ? .disk : .none)
            return .deliver(storeChange: toDisk ? .memoryToDisk : .memoryRefused, releaseHeldHead: holding)
        case .streaming(.disk):
            if !withinBound {
                state = .streaming(.none)
                return .deliver(storeChange: .stopStoring(.tooLarge), releaseHeldHead: false)
            }
            if diskGaveUp {
                state = .streaming(.none)
                return .deliver(storeChange: .dropDiskFill, releaseHeldHead: false)
            }
            return .deliver(storeChange: nil, releaseHeldHead: false)
        case .streaming(.none):
            return .deliver(storeChange: nil, releaseHeldHead: false)
        case .awaitingHead, .refetching, .answeredFromStore, .finished:
            return .ignore
        }
    }

    /// The origin's answer ended. `incomplete`: why the body cannot be stored (shorter than
    /// declared); `purged`: a purge since the request started supersedes it.
    mutating func responseEnded(incomplete: NotCachedReason?, purged: Bool) -> EndAction {
        switch state {
        case .refetching:
            state = .awaitingHead(validating: false)
            return .refetch
        case .answeredFromStore, .finished, .awaitingHead:
            state = .finished
            return .none
        case .holdingHead, .streaming:
            let target = self.target
            state = .finished
            if target != .none, let incomplete { return .abandon(incomplete) }
            if target != .none, purged { return .abandon(.purgedWhileFilling) }
            return .commit(target)
        }
    }

    /// The origin call failed. `headDelivered`: the failure came after the response head.
    mutating func failed(headDelivered: Bool) -> FailureAction {
        switch state {
        case .refetching:
            state = .awaitingHead(validating: false)
            return .refetch
        case .answeredFromStore, .finished:
            state = .finished
            return .none
        case .awaitingHead(let validating):
            state = .finished
            return .fail(mayServeStale: validating && !headDelivered)
        case .holdingHead, .streaming:
            state = .finished
            return .fail(mayServeStale: false)
        }
    }

    /// The fill stopped early: nobody listened and nothing would be stored.
    mutating func stopped() {
        state = .finished
    }
}
