// Range requests answered from a complete stored body (RFC 9110 §14): 206 with one part, 206
// `multipart/byteranges` for several (§14.6), or 416 with `Content-Range: bytes */length`.
// ByteRanges decides; this writes. A hit reads only the bytes asked for out of the stored buffer
// (slices, no copy), or streams them from a body left in its file (ProxyHandler+StoredFiles). A fill streams its body through `RangeWindow`, which passes on only the bytes of
// one range as they arrive.
//
// Limits (documented in docs/CACHING.md): a miss answers one range (several get the whole 200,
// which §14.2 allows); a response whose length is not known when its head arrives is sent whole.
import CachePolicy
import CacheStore
import EdgeCache
import NIOCore
import NIOHTTP1

extension ProxyHandler {
    /// Serves the part of a stored response a range request asks for. Returns false, having
    /// written nothing, when the whole response is to be sent.
    func serveRanges(_ answer: StoredAnswer, exchange: Exchange, context: ChannelHandlerContext) -> Bool {
        if let file = answer.entry.bodyFile { return serveRange(of: file, answer, exchange: exchange, context: context) }
        let stored = answer.entry.response
        let length = answer.entry.bodyLength
        let outcome = ByteRanges.evaluate(method: exchange.head.method.rawValue, request: exchange.head.headers,
                                          storedStatus: stored.status, stored: stored.fields, length: length)
        guard outcome != .whole else { return false }
        // Read only now: from the memory tier's object a small body is copied on each read.
        let body = answer.entry.body
        var headers = storedHeaders(stored, bodyLength: length, notModified: false)
        headers.replaceOrAdd(name: "age", value: ResponseAge.fieldValue(currentAge: answer.currentAge))
        let (status, content) = Self.rangedResponse(outcome, headers: &headers, body: body, allocator: context.channel.allocator)
        guard writeHead(status: status, headers: &headers, source: .store, for: exchange, context: context) else { return true }
        exchange.responseBytes = content.readableBytes
        engine.stats.count(.bytesFromCache, by: content.readableBytes)
        if content.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(content))), promise: nil) }
        finishResponse(exchange, context: context)
        return true
    }

    /// The status, fields and body of a 206 or 416 cut from `body`; `headers` come in as the whole
    /// response's and leave describing the part(s).
    static func rangedResponse(_ outcome: ByteRanges.Outcome, headers: inout HTTPHeaders, body: ByteBuffer,
                               allocator: ByteBufferAllocator) -> (HTTPResponseStatus, ByteBuffer) {
        let length = body.readableBytes
        switch outcome {
        case .whole:
            return (.ok, body)
        case .unsatisfiable:
            describeUnsatisfiable(&headers, length: length)
            return (.rangeNotSatisfiable, allocator.buffer(capacity: 0))
        case .partial(let ranges) where ranges.count == 1:
            let range = ranges[0]
            describePart(&headers, range: range, length: length)
            return (.partialContent, body.getSlice(at: body.readerIndex + range.lowerBound, length: range.count)!)
        case .partial(let ranges):
            // §14.6: each part carries the representation's Content-Type and its own Content-Range.
            let boundary = Self.multipartBoundary(for: body)
            let partType = headers.first(name: "content-type")
            var content = allocator.buffer(capacity: ranges.reduce(0) { $0 + $1.count + 128 })
            for (index, range) in ranges.enumerated() {
                content.writeString(index == 0 ? "--\(boundary)\r\n" : "\r\n--\(boundary)\r\n")
                if let partType { content.writeString("content-type: \(partType)\r\n") }
                content.writeString("content-range: \(ByteRanges.contentRange(range, length: length))\r\n\r\n")
                var slice = body.getSlice(at: body.readerIndex + range.lowerBound, length: range.count)!
                content.writeBuffer(&slice)
            }
            content.writeString("\r\n--\(boundary)--\r\n")
            headers.remove(name: "content-range")
            headers.replaceOrAdd(name: "content-type", value: "multipart/byteranges; boundary=\(boundary)")
            headers.replaceOrAdd(name: "content-length", value: String(content.readableBytes))
            return (.partialContent, content)
        }
    }

    /// A 416's fields (§15.5.17: it says the current length in Content-Range; it has no content).
    static func describeUnsatisfiable(_ headers: inout HTTPHeaders, length: Int) {
        for name in ["content-type", "content-encoding", "etag", "last-modified"] { headers.remove(name: name) }
        headers.replaceOrAdd(name: "content-range", value: ByteRanges.unsatisfiedRange(length: length))
        headers.replaceOrAdd(name: "content-length", value: "0")
    }

    /// A single-part 206's fields (§14.4, §15.3.7).
    static func describePart(_ headers: inout HTTPHeaders, range: ClosedRange<Int>, length: Int) {
        headers.replaceOrAdd(name: "content-range", value: ByteRanges.contentRange(range, length: length))
        headers.replaceOrAdd(name: "content-length", value: String(range.count))
    }

    /// A boundary that does not occur in the body (RFC 2046 §5.1.1: at most 70 characters).
    static func multipartBoundary(for body: ByteBuffer) -> String {
        var counter = 0
        while true {
            let boundary = "outpost-byteranges-\(String(UInt64(truncatingIfNeeded: body.readableBytes &* 2_654_435_761 &+ counter), radix: 36))"
            if body.readableBytesView.firstRange(of: Array(boundary.utf8)) == nil { return boundary }
            counter += 1
        }
    }
}

/// The bytes of one range out of a body that streams in parts (a fill answering a range request).
struct RangeWindow {
    let range: ClosedRange<Int>
    private var offset = 0

    init(range: ClosedRange<Int>) {
        self.range = range
    }

    /// The part of `part` that falls inside the range, if any; advances past `part`.
    mutating func slice(_ part: ByteBuffer) -> ByteBuffer? {
        let start = offset, end = offset + part.readableBytes
        offset = end
        let lower = max(start, range.lowerBound), upper = min(end, range.upperBound + 1)
        guard lower < upper else { return nil }
        return part.getSlice(at: part.readerIndex + lower - start, length: upper - lower)
    }
}
