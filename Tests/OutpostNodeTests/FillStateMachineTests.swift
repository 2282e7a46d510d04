// FillStateMachine as a table: each story is a fill's origin side from its request to its end —
// the head's verdict, body parts with what the stores said, the end or a failure — and the
// action the machine must return for each event. No origin, no store, no event loop.
import CachePolicy
import Testing

@testable import EdgeCache

@Suite("FillStateMachine: events and the actions they return")
struct FillStateMachineTests {
    typealias Machine = FillStateMachine

    enum FillEvent {
        case head(Machine.HeadVerdict, Machine.HeadAction)
        /// A part: whether memory took it, whether the body is still within the bound, whether a
        /// disk tier exists, whether the disk fill gave up.
        case part(memoryTook: Bool = true, withinBound: Bool = true, disk: Bool = true, diskGaveUp: Bool = false, Machine.PartAction)
        case end(incomplete: NotCachedReason? = nil, purged: Bool = false, Machine.EndAction)
        case failed(headDelivered: Bool, Machine.FailureAction)
        case stopped
    }

    struct Story: Sendable, CustomTestStringConvertible {
        let name: String
        let validating: Bool
        nonisolated(unsafe) let events: [FillEvent]
        let finalState: Machine.State
        var testDescription: String { name }

        init(_ name: String, validating: Bool = false, _ events: [FillEvent], ends finalState: Machine.State) {
            self.name = name
            self.validating = validating
            self.events = events
            self.finalState = finalState
        }
    }

    static let deliver = Machine.PartAction.deliver(storeChange: nil, releaseHeldHead: false)

    static let stories: [Story] = [
        Story("a small storable response: the head waits for the body, which is committed to memory", [
            .head(.fetched(.memory, holdable: true), .holdHead), .part(.holdPart), .part(.holdPart), .end(.commit(.memory)),
        ], ends: .finished),
        Story("a held head whose body ends short: abandoned, never committed", [
            .head(.fetched(.memory, holdable: true), .holdHead), .part(.holdPart), .end(incomplete: .bodyIncomplete, .abandon(.bodyIncomplete)),
        ], ends: .finished),
        Story("purged while filling: abandoned", [
            .head(.fetched(.memory, holdable: false), .streamHead), .part(deliver), .end(purged: true, .abandon(.purgedWhileFilling)),
        ], ends: .finished),
        Story("memory refuses a held body: the head is released and the disk takes the body", [
            .head(.fetched(.memory, holdable: true), .holdHead), .part(.holdPart),
            .part(memoryTook: false, .deliver(storeChange: .memoryToDisk, releaseHeldHead: true)), .part(deliver), .end(.commit(.disk)),
        ], ends: .finished),
        Story("memory refuses and there is no disk: released, remembered as too large, nothing committed", [
            .head(.fetched(.memory, holdable: true), .holdHead),
            .part(memoryTook: false, disk: false, .deliver(storeChange: .memoryRefused, releaseHeldHead: true)), .part(deliver),
            .end(.commit(.none)),
        ], ends: .finished),
        Story("an unsized body past the rules' bound: memory gives it up and the disk is not asked", [
            .head(.fetched(.memory, holdable: false), .streamHead), .part(deliver),
            .part(withinBound: false, .deliver(storeChange: .memoryRefused, releaseHeldHead: false)), .end(.commit(.none)),
        ], ends: .finished),
        Story("a declared-large body streams to the disk; past the bound it is abandoned as too large", [
            .head(.fetched(.disk, holdable: false), .streamHead), .part(deliver),
            .part(withinBound: false, .deliver(storeChange: .stopStoring(.tooLarge), releaseHeldHead: false)), .part(deliver),
            .end(incomplete: .bodyIncomplete, .commit(.none)),
        ], ends: .finished),
        Story("a disk fill that gives up is dropped, and the body still reaches the clients", [
            .head(.fetched(.disk, holdable: true), .streamHead),
            .part(diskGaveUp: true, .deliver(storeChange: .dropDiskFill, releaseHeldHead: false)), .end(.commit(.none)),
        ], ends: .finished),
        Story("not storable: streamed, nothing committed", [
            .head(.fetched(.none, holdable: true), .streamHead), .part(deliver), .end(.commit(.none)),
        ], ends: .finished),
        Story("revalidated by a 304 that selects the stored response: the rest is ignored", validating: true, [
            .head(.notModified(selectsStored: true), .answerRevalidated), .part(.ignore), .end(.none),
        ], ends: .finished),
        Story("a 304 that selects nothing: ignored, then asked again unconditionally, then a plain fetch", validating: true, [
            .head(.notModified(selectsStored: false), .awaitRefetch), .part(.ignore), .end(.refetch),
            .head(.fetched(.memory, holdable: true), .holdHead), .part(.holdPart), .end(.commit(.memory)),
        ], ends: .finished),
        Story("a 304 that selects nothing and then breaks: asked again all the same", validating: true, [
            .head(.notModified(selectsStored: false), .awaitRefetch), .failed(headDelivered: true, .refetch),
            .head(.notModified(selectsStored: true), .streamHead), .end(.commit(.none)),
        ], ends: .finished),
        Story("an origin error answered stale (stale-if-error); its body is ignored", validating: true, [
            .head(.staleIfError, .answerStale), .part(.ignore), .failed(headDelivered: true, .none), .end(.none),
        ], ends: .finished),
        Story("an unconditional fetch is never answered from the store", [
            .head(.staleIfError, .streamHead), .end(.commit(.none)),
        ], ends: .finished),
        Story("a revalidation that fails before any head may be answered stale", validating: true, [
            .failed(headDelivered: false, .fail(mayServeStale: true)), .part(.ignore), .end(.none),
        ], ends: .finished),
        Story("a fetch that fails mid-body fails every subscriber, never stale", validating: true, [
            .head(.fetched(.memory, holdable: false), .streamHead), .part(deliver), .failed(headDelivered: true, .fail(mayServeStale: false)),
            .part(.ignore), .end(.none),
        ], ends: .finished),
        Story("a second head is ignored", [
            .head(.fetched(.none, holdable: false), .streamHead), .head(.fetched(.memory, holdable: true), .ignore),
        ], ends: .streaming(.none)),
        Story("stopped (nobody listens, nothing stored): later events do nothing", [
            .head(.fetched(.none, holdable: false), .streamHead), .stopped, .part(.ignore), .end(.none),
        ], ends: .finished),
    ]

    @Test("each story: the action of every event and the state it ends in", arguments: stories)
    func story(_ story: Story) {
        var machine = Machine(validating: story.validating)
        for (index, event) in story.events.enumerated() {
            switch event {
            case .head(let verdict, let expected):
                #expect(machine.headReceived(verdict) == expected, "event \(index)")
            case .part(let memoryTook, let withinBound, let disk, let diskGaveUp, let expected):
                let action = machine.bodyPartReceived(memoryTook: memoryTook, withinBound: withinBound, diskAvailable: disk,
                                                      diskGaveUp: diskGaveUp)
                #expect(action == expected, "event \(index)")
            case .end(let incomplete, let purged, let expected):
                #expect(machine.responseEnded(incomplete: incomplete, purged: purged) == expected, "event \(index)")
            case .failed(let headDelivered, let expected):
                #expect(machine.failed(headDelivered: headDelivered) == expected, "event \(index)")
            case .stopped:
                machine.stopped()
            }
        }
        #expect(machine.state == story.finalState)
    }

    @Test("the store target only moves memory → disk → none, and decides whether an unheard fill reads on")
    func targets() {
        var machine = Machine(validating: false)
        #expect(!machine.streamsUnstored)
        _ = machine.headReceived(.fetched(.memory, holdable: false))
        #expect(machine.target == .memory && !machine.streamsUnstored)
        _ = machine.bodyPartReceived(memoryTook: false, withinBound: true, diskAvailable: true, diskGaveUp: false)
        #expect(machine.target == .disk && !machine.streamsUnstored)
        _ = machine.bodyPartReceived(memoryTook: true, withinBound: true, diskAvailable: true, diskGaveUp: true)
        #expect(machine.target == .none && machine.streamsUnstored)
        // Memory taking a part now changes nothing: the target never moves back.
        #expect(machine.bodyPartReceived(memoryTook: true, withinBound: true, diskAvailable: true, diskGaveUp: false) == Self.deliver)
        #expect(machine.target == .none)
    }
}
