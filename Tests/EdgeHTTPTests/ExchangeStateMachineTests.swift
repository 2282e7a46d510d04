// The client exchange's lifecycle on its own, without sockets: each row drives the machine
// through a path of events and checks the action each event returns and where it ends. The
// paths are the ones the connection handler takes (ProxyHandler, Exchange): a hit, a refusal, a
// miss that leads a fill, a waiter that times out or is declined, a pass with a request body,
// failures before and after the head, and the client leaving.
@testable import EdgeHTTP
import Testing

@Suite("ExchangeStateMachine: events and the actions they return")
struct ExchangeStateMachineTests {
    typealias Machine = ExchangeStateMachine

    /// One event of a path, and the action the machine must answer with.
    enum Step {
        case accepted, requestEnded, credentialsNeeded, credentialsChecked
        case diskConsulted, diskAnswered(Bool)
        case fillJoined(leading: Bool), passStarted
        case stopWaiting(Machine.WaitAction)
        case fillStarted(Machine.FillStartAction)
        case head(Machine.Source, closing: Bool, unframed: Bool, sendsBody: Bool, Machine.HeadAction)
        case end(Machine.EndAction)
        case failed(Machine.FailureAction)
        case abandoned(Machine.FailureAction)
        case gone(Machine.GoneAction)

        static func head(_ source: Machine.Source, _ action: Machine.HeadAction) -> Step {
            .head(source, closing: false, unframed: false, sendsBody: true, action)
        }

        func apply(to machine: inout Machine) {
            switch self {
            case .accepted: machine.requestAccepted()
            case .requestEnded: machine.requestEnded()
            case .credentialsNeeded: machine.credentialsNeeded()
            case .credentialsChecked: machine.credentialsChecked()
            case .diskConsulted: machine.diskConsulted()
            case .diskAnswered(let expected): #expect(machine.diskAnswered() == expected)
            case .fillJoined(let leading): machine.fillJoined(leading: leading)
            case .passStarted: machine.passStarted()
            case .stopWaiting(let expected): #expect(machine.stopWaiting() == expected)
            case .fillStarted(let expected): #expect(machine.fillStarted() == expected)
            case .head(let source, let closing, let unframed, let sendsBody, let expected):
                #expect(machine.responseHeadReady(from: source, closing: closing, unframed: unframed, sendsBody: sendsBody) == expected)
            case .end(let expected): #expect(machine.responseEnded() == expected)
            case .failed(let expected): #expect(machine.failed() == expected)
            case .abandoned(let expected): #expect(machine.abandoned() == expected)
            case .gone(let expected): #expect(machine.clientGone() == expected)
            }
        }
    }

    struct Path: Sendable, CustomTestStringConvertible {
        let name: String
        let keepAliveRequested: Bool
        nonisolated(unsafe) let steps: [Step]
        let finalState: Machine.State
        var testDescription: String { name }

        init(_ name: String, keepAlive: Bool = true, _ steps: [Step], ends finalState: Machine.State) {
            self.name = name
            self.keepAliveRequested = keepAlive
            self.steps = steps
            self.finalState = finalState
        }
    }

    static let paths: [Path] = [
        Path("a hit: answered here, kept alive before the request's end is read",
             [.accepted, .head(.store, .write(closing: false)), .end(.finish(keepAlive: true))],
             ends: .finished(keepAlive: true)),
        Path("a hit for a client that asked to close", keepAlive: false,
             [.accepted, .head(.store, .write(closing: true)), .end(.finish(keepAlive: false))],
             ends: .finished(keepAlive: false)),
        Path("a refused head that breaks framing: the page closes the connection",
             [.head(.node, closing: true, unframed: false, sendsBody: true, .write(closing: true)), .end(.finish(keepAlive: false))],
             ends: .finished(keepAlive: false)),
        Path("an HTTP/1.0 body with no length ends with the connection",
             [.accepted, .passStarted, .requestEnded, .head(.origin, closing: false, unframed: true, sendsBody: true, .write(closing: true)),
              .end(.finish(keepAlive: false))],
             ends: .finished(keepAlive: false)),
        Path("a disk hit: consulting the disk, then answered from the store",
             [.accepted, .diskConsulted, .diskAnswered(true), .head(.store, .write(closing: false)), .end(.finish(keepAlive: true))],
             ends: .finished(keepAlive: true)),
        Path("the client leaves while the disk is read: the answer that comes later is dropped",
             [.accepted, .diskConsulted, .gone(.stopAndRecord(answered: false)), .diskAnswered(false), .head(.store, .ignore),
              .end(.none)],
             ends: .closed),
        Path("a miss leading its fill, request read whole: kept alive",
             [.accepted, .fillJoined(leading: true), .requestEnded, .fillStarted(.respond(collapsed: false)),
              .head(.origin, .write(closing: false)), .end(.finish(keepAlive: true))],
             ends: .finished(keepAlive: true)),
        Path("a waiter on another request's fill: collapsed, and a second start is ignored",
             [.accepted, .requestEnded, .fillJoined(leading: false), .fillStarted(.respond(collapsed: true)),
              .head(.origin, .write(closing: false)), .fillStarted(.ignore), .end(.finish(keepAlive: true))],
             ends: .finished(keepAlive: true)),
        Path("a declined waiter (timed out, or not shareable) fetches alone; a second decline changes nothing",
             [.accepted, .requestEnded, .fillJoined(leading: false), .stopWaiting(.fetchAlone), .stopWaiting(.none),
              .fillStarted(.respond(collapsed: false)), .head(.origin, .write(closing: false)), .end(.finish(keepAlive: true))],
             ends: .finished(keepAlive: true)),
        Path("a leader is never sent alone",
             [.accepted, .fillJoined(leading: true), .stopWaiting(.none), .requestEnded,
              .fillStarted(.respond(collapsed: false)), .head(.origin, .write(closing: false)), .end(.finish(keepAlive: true))],
             ends: .finished(keepAlive: true)),
        Path("a revalidated body from a fill counts as served from the store; HEAD sends no body",
             [.accepted, .requestEnded, .fillJoined(leading: true), .fillStarted(.respond(collapsed: false)),
              .head(.store, closing: false, unframed: false, sendsBody: false, .write(closing: false)), .end(.finish(keepAlive: true))],
             ends: .finished(keepAlive: true)),
        Path("a pass whose response ends before the request body was read: the connection closes",
             [.accepted, .passStarted, .head(.origin, .write(closing: false)), .end(.finish(keepAlive: false))],
             ends: .finished(keepAlive: false)),
        Path("a pass with its body read whole: kept alive",
             [.accepted, .passStarted, .requestEnded, .head(.origin, .write(closing: false)), .end(.finish(keepAlive: true))],
             ends: .finished(keepAlive: true)),
        Path("the origin fails before the head, request read whole: an error page, kept alive",
             [.accepted, .passStarted, .requestEnded, .failed(.writeErrorPage(closing: false)),
              .head(.node, .write(closing: false)), .end(.finish(keepAlive: true))],
             ends: .finished(keepAlive: true)),
        Path("the origin fails before the head, request body still coming: the page closes the connection",
             [.accepted, .passStarted, .failed(.writeErrorPage(closing: true)),
              .head(.node, closing: true, unframed: false, sendsBody: true, .write(closing: true)), .end(.finish(keepAlive: false))],
             ends: .finished(keepAlive: false)),
        Path("a waiter's fill fails: an error page",
             [.accepted, .requestEnded, .fillJoined(leading: false), .failed(.writeErrorPage(closing: false)),
              .head(.node, .write(closing: false)), .end(.finish(keepAlive: true))],
             ends: .finished(keepAlive: true)),
        Path("the origin fails after the head: closed abruptly, once",
             [.accepted, .requestEnded, .fillJoined(leading: true), .fillStarted(.respond(collapsed: false)),
              .head(.origin, .write(closing: false)), .failed(.closeAbruptly), .failed(.none), .end(.none), .gone(.none)],
             ends: .closed),
        Path("a request body too large before any answer: a closing error page",
             [.accepted, .passStarted, .abandoned(.writeErrorPage(closing: true)),
              .head(.node, closing: true, unframed: false, sendsBody: true, .write(closing: true)), .end(.finish(keepAlive: false))],
             ends: .finished(keepAlive: false)),
        Path("a request body too slow after the head: closed abruptly",
             [.accepted, .passStarted, .head(.origin, .write(closing: false)), .abandoned(.closeAbruptly), .end(.none)],
             ends: .closed),
        Path("the client leaves mid-response: recorded as answered",
             [.accepted, .passStarted, .head(.origin, .write(closing: false)), .gone(.stopAndRecord(answered: true)), .end(.none)],
             ends: .closed),
        Path("the client leaves after the exchange finished: nothing more is recorded",
             [.accepted, .head(.store, .write(closing: false)), .end(.finish(keepAlive: true)), .gone(.none), .failed(.none)],
             ends: .finished(keepAlive: true)),
        Path("credentials checked off the loop, then the request goes on",
             [.credentialsNeeded, .credentialsChecked, .accepted, .passStarted, .requestEnded, .head(.origin, .write(closing: false)),
              .end(.finish(keepAlive: true))],
             ends: .finished(keepAlive: true)),
    ]

    @Test("each path: the action of every event and the state it ends in", arguments: paths)
    func path(_ path: Path) {
        var machine = Machine(keepAliveRequested: path.keepAliveRequested)
        for step in path.steps { step.apply(to: &machine) }
        #expect(machine.state == path.finalState)
    }

    @Test("the queries the handler asks: head sent, body sent, source, interim responses, request body held")
    func queries() {
        var machine = Machine(keepAliveRequested: true)
        #expect(!machine.headSent && machine.source == nil && !machine.mayForwardInterim)
        machine.credentialsNeeded()
        #expect(machine.holdsRequestBody)
        machine.credentialsChecked()
        #expect(!machine.holdsRequestBody)
        machine.requestAccepted()
        #expect(machine.isReadingRequestBody)
        machine.fillJoined(leading: false)
        #expect(machine.mayForwardInterim && !machine.headSent)
        _ = machine.fillStarted()
        _ = machine.responseHeadReady(from: .store, closing: false, unframed: false, sendsBody: false)
        #expect(machine.headSent && !machine.mayForwardInterim && !machine.sendsBody && machine.source == .store)
        #expect(machine.isReadingRequestBody)
        machine.requestEnded()
        #expect(!machine.isReadingRequestBody)
        #expect(machine.responseEnded() == .finish(keepAlive: true))
        // The source outlives the response: the access log and per-host figures read it after.
        #expect(machine.isOver && machine.source == .store && !machine.sendsBody)
    }

    @Test("the request body is not read past the exchange's end, and stays read once read")
    func requestSide() {
        var machine = Machine(keepAliveRequested: true)
        machine.requestEnded()  // before acceptance: not this exchange's body
        #expect(machine.request == .notAccepted)
        machine.requestAccepted()
        machine.passStarted()
        #expect(machine.failed() == .writeErrorPage(closing: true))
        _ = machine.responseHeadReady(from: .node, closing: true, unframed: false)
        _ = machine.responseEnded()
        #expect(!machine.isReadingRequestBody)
        machine.requestAccepted()
        #expect(machine.request == .receivingBody)  // accepted once only; over, so not being read
    }
}
