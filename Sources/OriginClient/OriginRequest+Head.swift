// The request head an origin receives, built once per call from the client's request: the
// origin-form target as received (no URL is parsed or rebuilt), the forwarded fields, and message
// framing chosen here. Only Host may change per attempt (when the origin's own name is wanted).
import NIOHTTP1

extension OriginRequest {
    /// The head to send, with framing fields set for the body (RFC 9112 §6.1–§6.2):
    /// a declared length → Content-Length; a body of unknown length → chunked; no body →
    /// Content-Length: 0 for methods whose requests usually carry content, nothing otherwise.
    func originHead() -> HTTPRequestHead {
        var headers = self.headers
        if headers.contains(name: "content-length") { headers.remove(name: "content-length") }
        if headers.contains(name: "transfer-encoding") { headers.remove(name: "transfer-encoding") }
        if let body {
            if let length = body.length {
                headers.add(name: "content-length", value: String(length))
            } else {
                headers.add(name: "transfer-encoding", value: "chunked")
            }
        } else if Self.announcesEmptyContent(method) {
            // RFC 9110 §8.6: a user agent should send Content-Length for a POST or PUT without
            // content; some origins refuse such requests without it (411).
            headers.add(name: "content-length", value: "0")
        }
        return HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: headers)
    }

    private static func announcesEmptyContent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .DELETE, .CONNECT, .TRACE, .OPTIONS: return false
        default: return true
        }
    }
}
