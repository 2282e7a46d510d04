// The hit path's fast lane: a stored response's head is encoded once, as every hit sends it up
// to the fields that change per hit, and kept with the stored entry (`keepEncodedHead`). A hit
// then costs one buffer: the kept head, `age` and `cache-status` (RFC 9111 §5.1, RFC 9211), the
// blank line, and the body copied behind them when it is small (larger bodies follow as stored,
// uncopied). The bytes go past NIO's encoder through `EncodedResponseWriter`.
//
// Invariants: the bytes sent are the head the general path would send, field for field, except
// for order (age and cache-status come last); anything the general path treats specially (HEAD,
// HTTP/1.0, a closing connection, 1xx/204/304, a stored Cache-Status to append to) takes the
// general path. An empty kept head marks a response that always takes the general path.
import CachePolicy
import CacheStore
import EdgeCache
import NIOCore
import NIOHTTP1

extension ProxyHandler {
    /// Bodies up to this size are copied behind the head, so the hit is one write of one buffer:
    /// the size the memory tier keeps inside its objects, so a larger body is one it keeps in a
    /// buffer of its own and is written as it is.
    static var inlineBodyLimit: Int { StoredEntry.inlineBodyLimit }

    /// Serves `answer` as encoded bytes. Returns false, having written nothing, when the request
    /// or the stored response needs the general path.
    func serveEncoded(_ answer: StoredAnswer, exchange: Exchange, context: ChannelHandlerContext) -> Bool {
        let request = exchange.head
        let entry = answer.entry
        guard request.method == .GET, request.version == .http1_1, encodedWriter.isAvailable, request.isKeepAlive,
              entry.bodyFile == nil else {
            return false
        }
        // The kept head is copied from the stored object into this hit's buffer; the first hit
        // encodes it and asks the store to keep it.
        let bodyLength = entry.bodyLength
        var encoded: ByteBuffer?
        if entry.encodedHeadLength == nil {
            let head = encodedHead(of: entry.response, bodyLength: bodyLength, allocator: context.channel.allocator)
            engine.storage.keepEncodedHead(head, for: entry)
            encoded = head
        }
        let headLength = encoded?.readableBytes ?? entry.encodedHeadLength!
        guard headLength > 0 else { return false }

        let inline = bodyLength <= Self.inlineBodyLimit
        var bytes = context.channel.allocator.buffer(capacity: headLength + 96 + (inline ? bodyLength : 0))
        if let encoded { bytes.writeImmutableBuffer(encoded) } else { entry.writeEncodedHead(into: &bytes) }
        bytes.writeStaticString("age: ")
        bytes.writeString(ResponseAge.fieldValue(currentAge: answer.currentAge))
        bytes.writeStaticString("\r\ncache-status: ")
        bytes.writeString(exchange.cacheStatusText ?? answer.cacheStatus.description)
        bytes.writeStaticString("\r\n\r\n")
        if inline { entry.writeBody(into: &bytes) }

        // The kept head is never a closing one (the guard above): keep-alive unless the lifecycle says not.
        guard case .write = exchange.lifecycle.responseHeadReady(from: .store, closing: false, unframed: false) else { return false }
        exchange.responseStatus = UInt(entry.response.status)
        exchange.responseBytes = bodyLength
        engine.stats.count(.bytesFromCache, by: bodyLength)
        encodedWriter.stage(bytes)
        context.write(wrapOutboundOut(.head(EncodedResponseWriter.standInHead)), promise: nil)
        if encodedWriter.unstage() {
            // The head never reached the writer: nothing was sent, and the connection cannot be trusted.
            if case .closeAbruptly = exchange.lifecycle.failed() { closeAbruptly(exchange, context: context) }
            return true
        }
        if !inline && bodyLength > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(entry.body))), promise: nil) }
        finishResponse(exchange, context: context)
        return true
    }

    /// The head of `stored` as hits send it, without `age` and `cache-status` and without the
    /// blank line; empty when the response must take the general path.
    func encodedHead(of stored: StoredResponse, bodyLength: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard (200..<600).contains(stored.status), stored.status != 204, stored.status != 304 else { return ByteBuffer() }
        var headers = storedHeaders(stored, bodyLength: bodyLength, notModified: false)
        rewriteForClients(&headers, receivedVersion: .http1_1)
        headers.remove(name: "age")
        guard !headers.contains(name: "cache-status") else { return ByteBuffer() }
        var bytes = allocator.buffer(capacity: 512)
        bytes.writeString("HTTP/1.1 \(stored.status) \(HTTPResponseStatus(statusCode: stored.status).reasonPhrase)\r\n")
        for (name, value) in headers {
            bytes.writeString(name)
            bytes.writeStaticString(": ")
            bytes.writeString(value)
            bytes.writeStaticString("\r\n")
        }
        // Kept for the entry's lifetime: exactly as large as it needs to be.
        var kept = allocator.buffer(capacity: bytes.readableBytes)
        kept.writeImmutableBuffer(bytes)
        return kept
    }
}
