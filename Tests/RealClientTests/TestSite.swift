// The site the real clients browse: a scripted origin with two small cacheable pages, a 100 KiB
// cacheable object whose bytes differ from offset to offset (so a range's bytes show where they
// came from), and an echo for every method that carries a body.
import OutpostTesting

enum TestSite {
    static let pageA = "alpha page"
    static let pageB = "bravo"
    static let bigSize = 102_400
    /// Printable ASCII cycling with period 94: any 100 bytes say which offset they start at.
    static let big = String(decoding: (0..<bigSize).map { UInt8(33 + $0 % 94) }, as: UTF8.self)

    /// `big`'s bytes in `range`.
    static func big(_ range: Range<Int>) -> String {
        String(decoding: Array(big.utf8)[range], as: UTF8.self)
    }

    /// What the echo answers for `method target` with `body`.
    static func echo(_ method: String, _ target: String, _ body: String) -> String { "\(method) \(target) [\(body)]" }

    static let script: @Sendable (RecordedRequest) -> OriginReply = { request in
        let cacheable: (String, String) -> OriginReply = { body, tag in
            OriginReply(
                headers: [("Cache-Control", "max-age=60"), ("ETag", "\"\(tag)\""), ("Content-Type", "text/plain")],
                body: .bytes(Array(body.utf8)))
        }
        switch (request.method, request.target) {
        case ("GET", "/a"), ("HEAD", "/a"): return cacheable(pageA, "a1")
        case ("GET", "/b"), ("HEAD", "/b"): return cacheable(pageB, "b1")
        case ("GET", "/big"), ("HEAD", "/big"):
            return OriginReply(
                headers: [("Cache-Control", "max-age=60"), ("ETag", "\"big1\""), ("Content-Type", "application/octet-stream")],
                body: .bytes(Array(big.utf8)))
        case ("GET", _), ("HEAD", _):
            return OriginReply(status: 404, headers: [("Cache-Control", "no-store")], body: .bytes(Array("not found".utf8)))
        default:
            return OriginReply(
                status: request.method == "POST" ? 201 : 200,
                headers: [("Cache-Control", "no-store"), ("Content-Type", "text/plain")],
                body: .bytes(Array(echo(request.method, request.target, request.bodyText).utf8)))
        }
    }

    /// A browser's mix on one connection: pages, a form post, HEAD, an upload, a large object, a
    /// range of it, a conditional GET, a chunked post, and repeat visits.
    static let browsing: [ScriptedStep] = [
        ScriptedStep(.get("/a"), .ok(pageA, .storedMiss)),
        ScriptedStep(.send("POST", "/form", "field=1234"),
                     ExpectedResponse(status: 201, body: echo("POST", "/form", "field=1234"), cache: .forwarded("method"))),
        ScriptedStep(.get("/b"), .ok(pageB, .storedMiss)),
        ScriptedStep(.head("/b"), .ok("", .hit, headers: ["content-length": "\(pageB.utf8.count)", "etag": "\"b1\""])),
        ScriptedStep(.send("PUT", "/x", "0123456789"), .ok(echo("PUT", "/x", "0123456789"), .forwarded("method"))),
        ScriptedStep(.get("/a"), .ok(pageA, .hit)),
        ScriptedStep(.get("/big"), .ok(big, .storedMiss, headers: ["content-length": "\(bigSize)"])),
        ScriptedStep(.get("/big", ["Range": "bytes=0-99"]),
                     ExpectedResponse(status: 206, body: big(0..<100), cache: .hit, headers: ["content-range": "bytes 0-99/\(bigSize)"])),
        ScriptedStep(.get("/a", ["If-None-Match": "\"a1\""]),
                     ExpectedResponse(status: 304, body: "", cache: .hit, headers: ["etag": "\"a1\""])),
        ScriptedStep(.send("POST", "/form", "chunk=5678", chunked: true),
                     ExpectedResponse(status: 201, body: echo("POST", "/form", "chunk=5678"), cache: .forwarded("method"))),
        ScriptedStep(.get("/b"), .ok(pageB, .hit)),
    ]

    /// What the origin must have seen for `browsing`: each miss and each body once, and neither the
    /// client's validator nor its range (both answered from the stored responses).
    static let browsingAtOrigin: [(line: String, body: String)] = [
        ("GET /a", ""), ("POST /form", "field=1234"), ("GET /b", ""), ("PUT /x", "0123456789"), ("GET /big", ""),
        ("POST /form", "chunk=5678"),
    ]
}
