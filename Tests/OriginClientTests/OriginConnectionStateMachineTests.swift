// OriginConnectionStateMachine as a table: each case is a story of events from a fresh
// connection, and the actions the machine must return, one per event. No channel, no clock.
import NIOCore
import NIOHTTP1
import Testing

@testable import OriginClient

/// One event fed to the machine, as a value the table can hold.
enum ConnectionEvent {
    case established
    case requestStarted(HTTPMethod, hasBody: Bool)
    case bodyPart(String)
    case bodyFinished
    case bodyFailed
    case head(UInt, version: HTTPVersion = .http1_1, fields: [(String, String)] = [("content-length", "5")])
    case part(String)
    case end
    case delivered
    case deliveryFailed
    case channelClosed
    case error(OriginFailure)
    case cancelled
    case closeRequested
    case readCompleted
}

typealias Action = OriginConnectionStateMachine.Action

func requestHead(_ method: HTTPMethod) -> HTTPRequestHead {
    HTTPRequestHead(version: .http1_1, method: method, uri: "/a")
}

func responseHead(_ code: UInt, version: HTTPVersion = .http1_1, fields: [(String, String)]) -> HTTPResponseHead {
    HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: Int(code)), headers: HTTPHeaders(fields))
}

extension OriginConnectionStateMachine {
    mutating func apply(_ event: ConnectionEvent) -> Action {
        switch event {
        case .established: return connectionEstablished()
        case .requestStarted(let method, let hasBody): return requestStarted(requestHead(method), hasBody: hasBody)
        case .bodyPart(let text): return requestBodyPartSubmitted(ByteBuffer(string: text))
        case .bodyFinished: return requestBodyFinished()
        case .bodyFailed: return requestBodyFailed()
        case .head(let code, let version, let fields): return responseHeadReceived(responseHead(code, version: version, fields: fields))
        case .part(let text): return responseBodyPartReceived(ByteBuffer(string: text))
        case .end: return responseEndReceived()
        case .delivered: return deliveryCompleted()
        case .deliveryFailed: return deliveryFailed(.other("client gone"))
        case .channelClosed: return channelClosed()
        case .error(let failure): return errorCaught(failure)
        case .cancelled: return cancelled()
        case .closeRequested: return closeRequested()
        case .readCompleted: return channelReadCompleted()
        }
    }
}

struct Story: CustomTestStringConvertible, Sendable {
    let name: String
    /// Events after the connection was established and a first GET started (unless `fromStart`).
    let steps: [(ConnectionEvent, Action)]
    var fromStart = false
    var finalState: OriginConnectionStateMachine.State
    var testDescription: String { name }
}

let ok = responseHead(200, fields: [("content-length", "5")])

let stories: [Story] = [
    Story(name: "a GET answered with Content-Length goes back to the pool", steps: [
        (.head(200), .forwardHead(ok)), (.part("hello"), .none), (.end, .none),
        (.delivered, .forwardBodyPart(ByteBuffer(string: "hello"))), (.delivered, .forwardEnd(.release)),
    ], finalState: .idle),
    Story(name: "reading resumes only when the consumer took everything", steps: [
        (.head(200), .forwardHead(ok)), (.delivered, .read), (.part("he"), .forwardBodyPart(ByteBuffer(string: "he"))),
        (.part("llo"), .none), (.delivered, .forwardBodyPart(ByteBuffer(string: "llo"))), (.delivered, .read),
        (.end, .forwardEnd(.release)),
    ], finalState: .idle),
    Story(name: "interim responses are forwarded before the final head (RFC 9110 §15.2)", steps: [
        (.head(103, fields: [("link", "</a>")]), .forwardInformational(responseHead(103, fields: [("link", "</a>")]))),
        (.head(102, fields: []), .forwardInformational(responseHead(102, fields: []))),
        (.head(200), .forwardHead(ok)),
    ], finalState: .inRequest),
    Story(name: "a read that held no whole message, or only interim ones, is followed by another read", steps: [
        (.readCompleted, .read), (.head(103, fields: []), .forwardInformational(responseHead(103, fields: []))),
        (.readCompleted, .read), (.head(200), .forwardHead(ok)), (.readCompleted, .none),
        (.delivered, .read), (.part("hello"), .forwardBodyPart(ByteBuffer(string: "hello"))), (.readCompleted, .none),
        (.delivered, .read), (.end, .forwardEnd(.release)), (.readCompleted, .read),
    ], finalState: .idle),
    Story(name: "101 was never asked for: the request fails", steps: [
        (.head(101, fields: []), .failRequest(.invalidResponse("101 Switching Protocols was not asked for"), staleConnection: false)),
    ], finalState: .closed),
    Story(name: "Connection: close is not reused (RFC 9112 §9.6)", steps: [
        (.head(200, fields: [("content-length", "0"), ("connection", "close")]),
         .forwardHead(responseHead(200, fields: [("content-length", "0"), ("connection", "close")]))),
        (.end, .none), (.delivered, .forwardEnd(.close)),
    ], finalState: .closed),
    Story(name: "an HTTP/1.0 response is not reused", steps: [
        (.head(200, version: .http1_0, fields: [("content-length", "0"), ("connection", "keep-alive")]),
         .forwardHead(responseHead(200, version: .http1_0, fields: [("content-length", "0"), ("connection", "keep-alive")]))),
        (.delivered, .read), (.end, .forwardEnd(.close)),
    ], finalState: .closed),
    Story(name: "a body framed by the close ends with the channel and is still delivered", steps: [
        (.head(200, fields: []), .forwardHead(responseHead(200, fields: []))), (.part("abc"), .none), (.end, .none),
        (.channelClosed, .none), (.delivered, .forwardBodyPart(ByteBuffer(string: "abc"))), (.delivered, .forwardEnd(.close)),
    ], finalState: .closed),
    Story(name: "the origin closes mid-body: failure, not a stale connection", steps: [
        (.head(200), .forwardHead(ok)), (.delivered, .read), (.part("he"), .forwardBodyPart(ByteBuffer(string: "he"))),
        (.channelClosed, .failRequest(.connectionClosed, staleConnection: false)), (.delivered, .none),
    ], finalState: .closed),
    Story(name: "cancelled mid-response: close, never reuse", steps: [
        (.head(200), .forwardHead(ok)), (.cancelled, .close), (.delivered, .none), (.end, .none),
    ], finalState: .closed),
    Story(name: "a delivery the consumer refused fails the request", steps: [
        (.head(200), .forwardHead(ok)), (.deliveryFailed, .failRequest(.other("client gone"), staleConnection: false)),
    ], finalState: .closed),
    Story(name: "the first request on a connection that closes before a response is not stale", steps: [
        (.channelClosed, .failRequest(.connectionClosed, staleConnection: false)),
    ], finalState: .closed),
    Story(name: "a reused connection closed before any response byte is stale", steps: [
        (.head(204, fields: []), .forwardHead(responseHead(204, fields: []))), (.end, .none), (.delivered, .forwardEnd(.release)),
        (.requestStarted(.GET, hasBody: false), .writeRequestHead(requestHead(.GET), startBody: false)),
        (.channelClosed, .failRequest(.connectionClosed, staleConnection: true)),
    ], finalState: .closed),
    Story(name: "a reused connection that sent a 1xx before closing is not stale", steps: [
        (.head(204, fields: []), .forwardHead(responseHead(204, fields: []))), (.delivered, .read), (.end, .forwardEnd(.release)),
        (.requestStarted(.GET, hasBody: false), .writeRequestHead(requestHead(.GET), startBody: false)),
        (.head(103, fields: []), .forwardInformational(responseHead(103, fields: []))),
        (.channelClosed, .failRequest(.connectionClosed, staleConnection: false)),
    ], finalState: .closed),
    Story(name: "a HEAD response with Content-Length has no body and is reused", steps: [
        (.established, .announceEstablished),
        (.requestStarted(.HEAD, hasBody: false), .writeRequestHead(requestHead(.HEAD), startBody: false)),
        (.head(200), .forwardHead(ok)), (.delivered, .read), (.end, .forwardEnd(.release)),
    ], fromStart: true, finalState: .idle),
    Story(name: "an idle connection the origin closes is simply gone", steps: [
        (.established, .announceEstablished), (.channelClosed, .none), (.requestStarted(.GET, hasBody: false),
         .failRequest(.connectionClosed, staleConnection: false)),
    ], fromStart: true, finalState: .closed),
    Story(name: "a connect that fails reports the failure", steps: [
        (.error(.connectTimedOut), .failEstablishment(.connectTimedOut)),
    ], fromStart: true, finalState: .closed),
    Story(name: "an unsolicited response on an idle connection closes it", steps: [
        (.established, .announceEstablished), (.head(200), .close),
    ], fromStart: true, finalState: .closed),
    Story(name: "the idle timeout closes an idle connection", steps: [
        (.established, .announceEstablished), (.closeRequested, .close),
    ], fromStart: true, finalState: .closed),
    Story(name: "a streamed request body, then the response: reused", steps: [
        (.established, .announceEstablished),
        (.requestStarted(.POST, hasBody: true), .writeRequestHead(requestHead(.POST), startBody: true)),
        (.bodyPart("x"), .writeRequestBodyPart(ByteBuffer(string: "x"))), (.bodyFinished, .writeRequestEnd),
        (.bodyPart("late"), .refuseRequestBodyPart), (.head(200), .forwardHead(ok)), (.delivered, .read),
        (.end, .forwardEnd(.release)),
    ], fromStart: true, finalState: .idle),
    Story(name: "an early response while the body still streams closes the connection (RFC 9112 §9.5)", steps: [
        (.established, .announceEstablished),
        (.requestStarted(.POST, hasBody: true), .writeRequestHead(requestHead(.POST), startBody: true)),
        (.head(413, fields: [("content-length", "0")]), .forwardHead(responseHead(413, fields: [("content-length", "0")]))),
        (.end, .none), (.delivered, .forwardEnd(.close)), (.bodyPart("x"), .refuseRequestBodyPart), (.bodyFinished, .none),
    ], fromStart: true, finalState: .closed),
    Story(name: "a request body that fails aborts the request", steps: [
        (.established, .announceEstablished),
        (.requestStarted(.PUT, hasBody: true), .writeRequestHead(requestHead(.PUT), startBody: true)),
        (.bodyFailed, .failRequest(.other("the request body did not finish"), staleConnection: false)),
    ], fromStart: true, finalState: .closed),
    Story(name: "shutdown fails a request in flight", steps: [
        (.closeRequested, .failRequest(.other("the origin client is shutting down"), staleConnection: false)),
    ], finalState: .closed),
]

@Suite("Origin connection state machine")
struct OriginConnectionStateMachineTests {
    @Test("event → action", arguments: stories)
    func story(_ story: Story) {
        var machine = OriginConnectionStateMachine()
        if !story.fromStart {
            #expect(machine.connectionEstablished() == .announceEstablished)
            #expect(machine.requestStarted(requestHead(.GET), hasBody: false) == .writeRequestHead(requestHead(.GET), startBody: false))
        }
        for (index, (event, expected)) in story.steps.enumerated() {
            let action = machine.apply(event)
            #expect(action == expected, "step \(index + 1): \(event)")
        }
        #expect(machine.state == story.finalState)
    }

    @Test("persistence by framing and version (RFC 9112 §6.3, §9.3)")
    func persistence() {
        typealias Machine = OriginConnectionStateMachine
        #expect(Machine.persists(responseHead(200, fields: [("content-length", "3")]), requestMethod: .GET))
        #expect(Machine.persists(responseHead(200, fields: [("transfer-encoding", "chunked")]), requestMethod: .GET))
        #expect(!Machine.persists(responseHead(200, fields: [("transfer-encoding", "gzip")]), requestMethod: .GET))
        #expect(!Machine.persists(responseHead(200, fields: []), requestMethod: .GET))
        #expect(Machine.persists(responseHead(200, fields: []), requestMethod: .HEAD))
        #expect(Machine.persists(responseHead(304, fields: []), requestMethod: .GET))
        #expect(!Machine.persists(responseHead(200, fields: [("content-length", "3"), ("connection", "close")]), requestMethod: .GET))
        #expect(!Machine.persists(responseHead(200, version: .http1_0, fields: [("content-length", "3")]), requestMethod: .GET))
    }
}
