// Checks on a decoded request head before anything is forwarded: target length, Host, framing
// (RFC 9112 §6.3, §11.2) and the declared body size. The HTTP decoder already refuses the worst
// framing (both Transfer-Encoding and Content-Length, duplicate or invalid Content-Length, obs-fold,
// whitespace before a colon); these checks repeat what it lets through so no ambiguity reaches the
// origin. Pure: a head in, a verdict out.
import NIOHTTP1

public enum RequestHeadVerdict: Equatable, Sendable {
    /// Forward it; `bodyLength` is the declared Content-Length (nil: chunked or none),
    /// `hasBody` whether any body follows the head.
    case accept(bodyLength: Int?, hasBody: Bool, expectsContinue: Bool)
    case reject(HTTPResponseStatus, reason: String)
}

public struct RequestHeadGuard: Sendable {
    public var maximumRequestTargetLength: Int
    public var maximumRequestBodyBytes: Int
    public var maximumHeaderBytes: Int
    public var maximumHeaderCount: Int

    public init(configuration: EdgeConfiguration) {
        self.maximumRequestTargetLength = configuration.maximumRequestTargetLength
        self.maximumRequestBodyBytes = configuration.maximumRequestBodyBytes
        self.maximumHeaderBytes = configuration.maximumHeaderBytes
        self.maximumHeaderCount = configuration.maximumHeaderCount
    }

    public func check(_ head: HTTPRequestHead) -> RequestHeadVerdict {
        // Purging is for the admin listener only: no client can purge through the public one.
        if head.method == .PURGE {
            return .reject(.methodNotAllowed, reason: "PURGE is accepted only on the admin listener")
        }
        if head.uri.utf8.count > maximumRequestTargetLength {
            return .reject(.uriTooLong, reason: "request target longer than \(maximumRequestTargetLength) bytes")
        }
        // HTTP/1 heads are bounded by the decoder; an HTTP/2 header list is bounded by NIOHTTP2
        // only once the client has acknowledged the SETTINGS that announce the limit, so the
        // listener's limits are applied here too (RFC 9113 §6.5.2 counts 32 bytes per field).
        if head.version.major == 2 {
            let size = head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 32 }
            if size > maximumHeaderBytes || head.headers.count > maximumHeaderCount {
                return .reject(.requestHeaderFieldsTooLarge, reason: "HTTP/2 header list over the listener's limits")
            }
        }
        // RFC 9112 §3.2: origin-form targets only (absolute-form is for forward proxies).
        guard head.uri.hasPrefix("/") || (head.method == .OPTIONS && head.uri == "*") else {
            return .reject(.badRequest, reason: "request target is not in origin-form")
        }
        // RFC 9112 §3.2: a 1.1 request without exactly one Host is answered 400.
        let hosts = head.headers["host"]
        if head.version.major == 1 && head.version.minor >= 1 && hosts.count != 1 {
            return .reject(.badRequest, reason: hosts.isEmpty ? "missing Host" : "more than one Host")
        }
        if hosts.count > 1 { return .reject(.badRequest, reason: "more than one Host") }

        // RFC 9110 §7.6.1 lets Connection name only hop-by-hop fields; naming Host would have the
        // node forward a request without the authority its cache key was computed from.
        if head.headers["connection"].contains(where: { value in
            value.split(separator: ",").contains { $0.trimmingASCIIWhitespace().lowercased() == "host" }
        }) {
            return .reject(.badRequest, reason: "Connection names Host")
        }

        let transferCodings = head.headers["transfer-encoding"]
        // RFC 9112 §6.1: "A server or client that receives an HTTP/1.0 message containing a
        // Transfer-Encoding header field MUST treat the message as if the framing is faulty ... and
        // close the connection after processing the message."
        if !transferCodings.isEmpty && head.version.major == 1 && head.version.minor == 0 {
            return .reject(.badRequest, reason: "Transfer-Encoding in an HTTP/1.0 request")
        }
        let lengths = head.headers["content-length"]
        if !transferCodings.isEmpty && !lengths.isEmpty {
            return .reject(.badRequest, reason: "both Transfer-Encoding and Content-Length")
        }
        var expectsContinue = false
        for expectation in head.headers["expect"] {
            if expectation.lowercased() == "100-continue" { expectsContinue = true }
            else { return .reject(.expectationFailed, reason: "unsupported expectation") }
        }
        if !transferCodings.isEmpty {
            // RFC 9112 §6.3: in a request, chunked must be the final coding or the length is unknowable.
            let codings = transferCodings.flatMap { $0.split(separator: ",") }
                .map { $0.trimmingASCIIWhitespace().lowercased() }
            guard codings.last == "chunked", codings.filter({ $0 == "chunked" }).count == 1 else {
                return .reject(.badRequest, reason: "Transfer-Encoding does not end in chunked")
            }
            // §6.1: "A server that receives a request message with a transfer coding it does not
            // understand SHOULD respond with 501"; only chunked is understood here, and removing
            // another coding silently would change the body the origin gets.
            if codings.count > 1 {
                return .reject(.notImplemented, reason: "Transfer-Encoding \(codings.joined(separator: ", ")) is not supported")
            }
            return .accept(bodyLength: nil, hasBody: true, expectsContinue: expectsContinue)
        }
        if !lengths.isEmpty {
            // RFC 9110 §8.6: several values are acceptable only if all are the same valid number.
            let values = lengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
                .map { $0.trimmingASCIIWhitespace() }
            guard let first = values.first, values.allSatisfy({ $0 == first }),
                  !first.isEmpty, first.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), first.utf8.count <= 18,
                  let length = Int(first)
            else {
                return .reject(.badRequest, reason: "invalid or differing Content-Length")
            }
            if length > maximumRequestBodyBytes {
                return .reject(.payloadTooLarge, reason: "declared body larger than \(maximumRequestBodyBytes) bytes")
            }
            return .accept(bodyLength: length, hasBody: length > 0, expectsContinue: expectsContinue)
        }
        return .accept(bodyLength: nil, hasBody: false, expectsContinue: false)
    }
}

extension Substring {
    func trimmingASCIIWhitespace() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
