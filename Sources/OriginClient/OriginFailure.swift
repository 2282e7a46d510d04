// What went wrong talking to an origin, classified once so that the front can choose 502 or
// 504, passive health can tell connect failures apart, and logs can say why in plain words.
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum OriginFailure: Sendable, Equatable, CustomStringConvertible {
    /// No connection could be made (refused, unreachable, DNS): the request never reached it.
    case connectFailed(String)
    /// The connection was not established within the connect timeout.
    case connectTimedOut
    /// The origin accepted the request but sent no response head in time.
    case responseHeadTimedOut
    /// The response body stalled longer than the idle-body timeout.
    case bodyIdleTimedOut
    /// The origin closed or reset the connection before the response was complete.
    case connectionClosed
    /// The origin sent something that is not HTTP.
    case invalidResponse(String)
    /// The client's request cannot be expressed to the origin (bad target or field bytes).
    case requestNotForwardable(String)
    /// Anything else, described.
    case other(String)

    /// True when the request certainly never reached the origin, so it may go to another one.
    public var requestNeverSent: Bool {
        switch self {
        case .connectFailed, .connectTimedOut: return true
        default: return false
        }
    }

    /// 504 for timeouts, 400 for a request that cannot be forwarded, 502 for everything else
    /// (RFC 9110 §15.6.3, §15.6.5).
    public var gatewayStatus: HTTPResponseStatus {
        switch self {
        case .connectTimedOut, .responseHeadTimedOut, .bodyIdleTimedOut: return .gatewayTimeout
        case .requestNotForwardable: return .badRequest
        default: return .badGateway
        }
    }

    public var description: String {
        switch self {
        case .connectFailed(let why): return "connect failed: \(why)"
        case .connectTimedOut: return "connect timed out"
        case .responseHeadTimedOut: return "no response head within the timeout"
        case .bodyIdleTimedOut: return "response body idle past the timeout"
        case .connectionClosed: return "origin closed the connection early"
        case .invalidResponse(let why): return "invalid response: \(why)"
        case .requestNotForwardable(let why): return "request not forwardable: \(why)"
        case .other(let why): return why
        }
    }

    /// Maps an error surfaced by NIO or by the origin connection; `headReceived` is kept for
    /// callers that classify timeouts themselves (the call's timers do).
    public init(_ error: any Error, headReceived: Bool) {
        if let wrapped = error as? OriginFailureError { self = wrapped.failure; return }
        if let channel = error as? ChannelError {
            switch channel {
            case .connectTimeout: self = .connectTimedOut
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed: self = .connectionClosed
            default: self = .other(String(describing: channel))
            }
            return
        }
        if error is NIOConnectionError { self = .connectFailed(Self.describeConnect(error)); return }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ETIMEDOUT:
                self = .connectFailed(Self.errnoText(io.errnoCode))
            case ECONNRESET, EPIPE:
                self = .connectionClosed
            default:
                self = .other(Self.errnoText(io.errnoCode))
            }
            return
        }
        if let parser = error as? HTTPParserError {
            // The origin closed in the middle of a message (RFC 9112 §8: an incomplete message).
            self = parser == .invalidEOFState ? .connectionClosed : .invalidResponse(String(describing: parser))
            return
        }
        if error is NIOHTTPDecoderError { self = .invalidResponse(String(describing: error)); return }
        self = .other(String(describing: error))
    }

    private static func describeConnect(_ error: any Error) -> String {
        if let connection = error as? NIOConnectionError, let first = connection.connectionErrors.first,
           let io = first.error as? IOError {
            return errnoText(io.errnoCode)
        }
        if let connection = error as? NIOConnectionError, connection.dnsAError != nil || connection.dnsAAAAError != nil,
           connection.connectionErrors.isEmpty {
            return "name resolution failed"
        }
        return "unreachable"
    }

    static func errnoText(_ code: CInt) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused"
        case EHOSTUNREACH: return "host unreachable"
        case ENETUNREACH: return "network unreachable"
        case ETIMEDOUT: return "timed out"
        case ECONNRESET: return "connection reset"
        case EPIPE: return "broken pipe"
        default: return "errno \(code)"
        }
    }
}
