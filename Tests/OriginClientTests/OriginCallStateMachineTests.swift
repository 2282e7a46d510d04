// OriginCallStateMachine as a table: each story is a call's events from its first attempt, with
// the action the machine must return for each; no channel, no timer, no origin.
import NIOCore
import Testing

@testable import OriginClient

@Suite("OriginCallStateMachine: events and the actions they return")
struct OriginCallStateMachineTests {
    typealias Machine = OriginCallStateMachine
    typealias CallAction = OriginCallStateMachine.Action

    enum CallEvent {
        case attempt(Int)
        case sent, informational, head, part, written, headTimer
        case bodyTimer(idleLongEnough: Bool)
        case end
        case failed(OriginFailure, bodyStarted: Bool = false)
        case cancelled
    }

    struct Story: Sendable, CustomTestStringConvertible {
        let name: String
        let idempotent: Bool
        let origins: Int
        nonisolated(unsafe) let steps: [(CallEvent, CallAction)]
        let finalState: Machine.State
        var testDescription: String { name }

        init(_ name: String, idempotent: Bool = true, origins: Int = 2, _ steps: [(CallEvent, CallAction)], ends finalState: Machine.State) {
            self.name = name
            self.idempotent = idempotent
            self.origins = origins
            self.steps = steps
            self.finalState = finalState
        }
    }

    static func apply(_ event: CallEvent, to machine: inout Machine) -> CallAction {
        switch event {
        case .attempt(let origin): machine.attemptStarted(origin: origin); return .none
        case .sent: return machine.requestSent()
        case .informational: return machine.informationalReceived()
        case .head: return machine.headReceived()
        case .part: return machine.bodyPartReceived()
        case .written: machine.bodyPartWritten(); return .none
        case .headTimer: return machine.headTimerFired()
        case .bodyTimer(let idle): return machine.bodyTimerFired(idleLongEnough: idle)
        case .end: return machine.completed()
        case .failed(let failure, let bodyStarted): return machine.failed(failure, bodyStarted: bodyStarted)
        case .cancelled: return machine.cancelled()
        }
    }

    static let refused = OriginFailure.connectFailed("connection refused")

    static let stories: [Story] = [
        Story("a response read to its end", [
            (.attempt(0), .none), (.sent, .armHeadTimer), (.informational, .deliver), (.head, .deliverHead),
            (.part, .deliver), (.written, .none), (.part, .deliver), (.end, .complete), (.end, .none), (.cancelled, .none),
        ], ends: .finished),
        Story("the origin answers before the request is all sent (RFC 9112 §9.5)", [
            (.attempt(1), .none), (.head, .deliverHead), (.sent, .none), (.end, .complete),
        ], ends: .finished),
        Story("a resend on a fresh connection re-arms the head timer", [
            (.attempt(0), .none), (.sent, .armHeadTimer), (.sent, .armHeadTimer), (.head, .deliverHead), (.end, .complete),
        ], ends: .finished),
        Story("no head in time", [
            (.attempt(0), .none), (.sent, .armHeadTimer), (.headTimer, .timeOut(.responseHeadTimedOut, headDelivered: false)),
            (.head, .none), (.failed(.connectionClosed), .none),
        ], ends: .finished),
        Story("the head timer of an answered request changes nothing", [
            (.attempt(0), .none), (.sent, .armHeadTimer), (.head, .deliverHead), (.headTimer, .none), (.end, .complete),
        ], ends: .finished),
        Story("the body timer waits while a part is being written to the client, then times out", [
            (.attempt(0), .none), (.sent, .armHeadTimer), (.head, .deliverHead), (.part, .deliver),
            (.bodyTimer(idleLongEnough: true), .armBodyTimerAgain), (.written, .none),
            (.bodyTimer(idleLongEnough: false), .armBodyTimerAgain),
            (.bodyTimer(idleLongEnough: true), .timeOut(.bodyIdleTimedOut, headDelivered: true)), (.end, .none),
        ], ends: .finished),
        Story("an idempotent request refused by its origin goes once to another", [
            (.attempt(0), .none), (.failed(refused), .retry(refused, markingDown: 0)), (.attempt(1), .none),
            (.failed(refused), .fail(refused, markingDown: 1, headDelivered: false)),
        ], ends: .finished),
        Story("a retried request answered by the second origin", [
            (.attempt(0), .none), (.failed(.connectTimedOut), .retry(.connectTimedOut, markingDown: 0)), (.attempt(1), .none),
            (.sent, .armHeadTimer), (.head, .deliverHead), (.end, .complete),
        ], ends: .finished),
        Story("no retry for a POST", idempotent: false, [
            (.attempt(0), .none), (.failed(refused), .fail(refused, markingDown: 0, headDelivered: false)),
        ], ends: .finished),
        Story("no retry with a single origin", origins: 1, [
            (.attempt(0), .none), (.failed(refused), .fail(refused, markingDown: 0, headDelivered: false)),
        ], ends: .finished),
        Story("no retry once the body started to stream", [
            (.attempt(0), .none), (.failed(refused, bodyStarted: true), .fail(refused, markingDown: 0, headDelivered: false)),
        ], ends: .finished),
        Story("a request that reached the origin is never retried, nor its origin marked down", [
            (.attempt(0), .none), (.sent, .armHeadTimer), (.failed(.connectionClosed), .fail(.connectionClosed, markingDown: nil, headDelivered: false)),
        ], ends: .finished),
        Story("a failure after the head tells the consumer it had one", [
            (.attempt(0), .none), (.sent, .armHeadTimer), (.head, .deliverHead), (.part, .deliver),
            (.failed(.connectionClosed), .fail(.connectionClosed, markingDown: nil, headDelivered: true)),
        ], ends: .finished),
        Story("cancelled mid-body: nothing is reported after", [
            (.attempt(0), .none), (.sent, .armHeadTimer), (.head, .deliverHead), (.cancelled, .cancel), (.part, .none),
            (.end, .none), (.failed(.connectionClosed), .none), (.bodyTimer(idleLongEnough: true), .none),
        ], ends: .finished),
        Story("cancelled while choosing the retry's origin", [
            (.attempt(0), .none), (.failed(refused), .retry(refused, markingDown: 0)), (.cancelled, .cancel), (.attempt(1), .none),
            (.sent, .none),
        ], ends: .finished),
    ]

    @Test("each story: the action of every event and the state it ends in", arguments: stories)
    func story(_ story: Story) {
        var machine = Machine(isIdempotent: story.idempotent, originCount: story.origins)
        for (index, (event, expected)) in story.steps.enumerated() {
            let action = Self.apply(event, to: &machine)
            #expect(action == expected, "step \(index): \(event)")
        }
        #expect(machine.state == story.finalState)
    }

    @Test("the origin reported is the last attempt's, also after the call ended")
    func lastOrigin() {
        var machine = Machine(isIdempotent: true, originCount: 3)
        #expect(machine.origin == nil)
        machine.attemptStarted(origin: 2)
        _ = machine.failed(Self.refused, bodyStarted: false)
        machine.attemptStarted(origin: 0)
        _ = machine.failed(.connectionClosed, bodyStarted: false)
        #expect(machine.origin == 0 && machine.state == .finished)
    }
}
