// The short plain-text responses the node itself produces (4xx for bad requests, 502/504 when an
// origin fails). They never name an origin, an address or an internal error: only the status and
// one sentence, so nothing about the origin leaks to clients.
// Every one carries Cache-Status (RFC 9211), as every other response does: a request refused
// before the cache was consulted says `Outpost; detail=refused` (or `rate-limited`); a gateway
// error of a fill says `fwd=miss` and `detail=origin-error` or `origin-timeout`.
import CachePolicy
import NIOCore
import NIOHTTP1

enum ErrorPage {
    struct Response {
        var head: HTTPResponseHead
        var body: ByteBuffer
    }

    static func sentence(for status: HTTPResponseStatus) -> String {
        switch status.code {
        case 400: return "the request is malformed."
        case 403: return "the access rules do not allow this request."
        case 407: return "this proxy needs credentials (Proxy-Authorization: Basic)."
        case 405: return "this method is not accepted here."
        case 408: return "the request did not arrive in time."
        case 413: return "the request body is too large."
        case 414: return "the request target is too long."
        case 417: return "the expectation cannot be met."
        case 429: return "too many requests from this client; try again after the time in Retry-After."
        case 431: return "the request header fields are too large."
        case 502: return "the origin could not be reached or answered badly."
        case 501: return "the request uses something this server does not implement."
        case 503: return "the service is unavailable."
        case 504: return "the origin did not answer in time."
        default: return "the request could not be served."
        }
    }

    /// The Cache-Status of a page written for `status` when the request has none of its own yet.
    static func cacheStatus(for status: HTTPResponseStatus, cacheName: String = "Outpost") -> CacheStatus {
        switch status.code {
        case 502: CacheStatus(cacheName: cacheName, forward: .miss, detail: "origin-error")
        case 504: CacheStatus(cacheName: cacheName, forward: .miss, detail: "origin-timeout")
        case 429: CacheStatus(cacheName: cacheName, detail: "rate-limited")
        default: CacheStatus(cacheName: cacheName, detail: "refused")
        }
    }

    /// The head's version is a placeholder: the writer sends the request's own version.
    /// `cacheStatus` nil leaves Cache-Status to the writer (the proxy adds the exchange's own).
    /// `explanation` replaces the status's own sentence (the forward proxy names the access rule).
    static func response(status: HTTPResponseStatus, closing: Bool,
                         cacheStatus: CacheStatus? = ErrorPage.cacheStatus(for: .badRequest), explanation: String? = nil) -> Response {
        let text = "\(status.code) \(status.reasonPhrase): \(explanation ?? sentence(for: status))\n"
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(text.utf8.count))
        headers.add(name: "cache-control", value: "no-store")
        if let cacheStatus { headers.add(name: "cache-status", value: cacheStatus.description) }
        if closing { headers.add(name: "connection", value: "close") }
        // RFC 9110 §15.5.6: a 405 lists the methods that are accepted.
        if status == .methodNotAllowed { headers.add(name: "allow", value: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS") }
        return Response(
            head: HTTPResponseHead(version: .http1_1, status: status, headers: headers),
            body: ByteBuffer(string: text))
    }
}
