// Any token method passes through (RFC 9110 §9.1: "the method token is case-sensitive"; methods
// are extensible), although the HTTP/1.1 decoder (llhttp inside NIOHTTP1) knows a fixed list and
// refuses any other token. Two handlers around the decoder close that gap without a second parser:
//
//   ExtensionMethodAdapter (raw bytes, before the decoder): where a request is known to begin,
//     a method that is a token the decoder does not know is replaced by GET, and remembered.
//   ExtensionMethodRestorer (right after the decoder): gives the next decoded head its method back,
//     and tells the adapter where the decoder stands.
//
// A request is known to begin at the first byte of the connection, and at the first byte of a read
// that follows a read in which the decoder ended a request exactly at the end of its bytes (the
// read ended with CRLF, or with the last body part it delivered). Elsewhere nothing is touched, so
// a method split across reads, or a pipelined one that shares a read with the previous request,
// still gets 400: the rewrite is an addition, never a second reading of the framing.
// Invariant: only the method token changes, and the framing of a request never depends on its
// method (RFC 9112 §6.3), so decoding the rest as a GET is exact.
//
// NIO also spells the decoder's M-SEARCH as `MSEARCH`; `HTTPMethod.wireName` spells every method
// as it appears on the wire.
import NIOCore
import NIOHTTP1

/// For any HTTP/1.1 request pipeline (the public listener's, and the test origin's).
public enum ExtensionMethods {
    /// The two handlers to place immediately before and after an HTTPRequestDecoder.
    public static func makeHandlers() -> (beforeDecoder: any ChannelHandler, afterDecoder: any ChannelHandler) {
        let restorer = ExtensionMethodRestorer()
        return (ExtensionMethodAdapter(restorer: restorer), restorer)
    }
}

final class ExtensionMethodAdapter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let restorer: ExtensionMethodRestorer
    private var atRequestStart = true
    /// The longest method token rewritten; longer ones are refused by the decoder as before.
    static let maximumMethodLength = 32

    init(restorer: ExtensionMethodRestorer) {
        self.restorer = restorer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if atRequestStart, let method = Self.unknownMethod(at: buffer) {
            restorer.pendingMethods.append(method)
            buffer.moveReaderIndex(forwardBy: method.utf8.count)
            var rewritten = context.channel.allocator.buffer(capacity: buffer.readableBytes + 3)
            rewritten.writeStaticString("GET")
            rewritten.writeImmutableBuffer(buffer)
            buffer = rewritten
        }
        restorer.readStarted()
        context.fireChannelRead(wrapInboundOut(buffer))
        atRequestStart = restorer.endedRequestExactly(atEndOf: buffer)
    }

    /// The method at the start of `buffer` when it is a token (RFC 9110 §5.6.2) followed by a space
    /// that the decoder does not know; nil otherwise.
    static func unknownMethod(at buffer: ByteBuffer) -> String? {
        buffer.withUnsafeReadableBytes { bytes -> String? in
            guard let space = bytes.prefix(maximumMethodLength + 1).firstIndex(of: UInt8(ascii: " ")), space > 0 else {
                return nil
            }
            let token = bytes[..<space]
            // Nearly every request: a method the decoder knows, found without building a String.
            if Self.isCommonMethod(UnsafeRawBufferPointer(rebasing: token)) { return nil }
            guard token.allSatisfy(isTokenCharacter) else { return nil }
            let method = String(decoding: token, as: UTF8.self)
            return decoderMethods.contains(method) ? nil : method
        }
    }

    /// GET, HEAD, POST or PUT, spelled exactly (methods are case-sensitive).
    static func isCommonMethod(_ token: UnsafeRawBufferPointer) -> Bool {
        switch token.count {
        case 3:
            let word = UInt32(token[0]) << 16 | UInt32(token[1]) << 8 | UInt32(token[2])
            return word == 0x47_45_54 || word == 0x50_55_54  // GET, PUT
        case 4:
            let word = token.loadUnaligned(as: UInt32.self).bigEndian
            return word == 0x48_45_41_44 || word == 0x50_4F_53_54  // HEAD, POST
        default:
            return false
        }
    }

    /// The methods llhttp decodes in its HTTP request mode.
    static let decoderMethods: Set<String> = [
        "DELETE", "GET", "HEAD", "POST", "PUT", "CONNECT", "OPTIONS", "TRACE", "COPY", "LOCK", "MKCOL", "MOVE",
        "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL", "REPORT", "MKACTIVITY",
        "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PATCH", "PURGE", "MKCALENDAR",
        "LINK", "UNLINK", "SOURCE", "QUERY",
    ]

    /// tchar (RFC 9110 §5.6.2).
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

final class ExtensionMethodRestorer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    /// Methods replaced by the adapter, in the order their heads will be decoded.
    fileprivate var pendingMethods: [String] = []
    private var lastPartWasEnd = false
    private var lastBodyPart: ByteBuffer?

    fileprivate func readStarted() {
        lastBodyPart = nil
    }

    /// Whether the decoder's last output for the read just made was a request's end, reached with
    /// the last bytes of `buffer`.
    fileprivate func endedRequestExactly(atEndOf buffer: ByteBuffer) -> Bool {
        guard lastPartWasEnd else { return false }
        let view = buffer.readableBytesView
        if view.count >= 2, view[view.endIndex - 2] == UInt8(ascii: "\r"), view[view.endIndex - 1] == UInt8(ascii: "\n") {
            return true
        }
        guard let body = lastBodyPart, body.readableBytes <= view.count else { return false }
        return view.suffix(body.readableBytes).elementsEqual(body.readableBytesView)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(var head):
            lastPartWasEnd = false
            if !pendingMethods.isEmpty {
                head.method = HTTPMethod(rawValue: pendingMethods.removeFirst())
                context.fireChannelRead(wrapInboundOut(.head(head)))
                return
            }
        case .body(let body):
            lastPartWasEnd = false
            lastBodyPart = body
        case .end:
            lastPartWasEnd = true
        }
        context.fireChannelRead(data)
    }
}

extension HTTPMethod {
    /// The method as it is written on the wire (NIO's `rawValue` spells M-SEARCH `MSEARCH`).
    public var wireName: String {
        self == .MSEARCH ? "M-SEARCH" : rawValue
    }

    /// The same method, spelled for an encoder that writes `rawValue`.
    public var forWire: HTTPMethod {
        self == .MSEARCH ? .RAW(value: "M-SEARCH") : self
    }
}
