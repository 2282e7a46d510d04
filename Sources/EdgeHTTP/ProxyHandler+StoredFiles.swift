// Answers whose body the disk tier left in its file (`StoredEntry.bodyFile`, bodies over the disk
// access's `wholeBodyLimit`): the body is read in parts on the disk threads and written one part
// at a time, the next read starting once the previous part has reached the socket. A response
// under way holds one part in memory, however large the body and however slow the client.
//
// Invariants: only the current exchange is written to (each step checks); the response ends
// (`finishResponse`) after the last byte and never before; a read that fails after the head has
// gone ends the connection without another byte, the only way left to say the body is short.
// Ranges: one range streams its bytes; several get the whole response (RFC 9110 §14.2 lets a
// server ignore Range), since a multipart body would have to be assembled.
import CachePolicy
import CacheStore
import EdgeCache
import NIOCore
import NIOHTTP1

extension ProxyHandler {
    /// Serves a range request from a body in its file. Returns false, having written nothing,
    /// when the whole response is to be sent.
    func serveRange(of file: BodyFile, _ answer: StoredAnswer, exchange: Exchange, context: ChannelHandlerContext) -> Bool {
        let stored = answer.entry.response
        let outcome = ByteRanges.evaluate(method: exchange.head.method.rawValue, request: exchange.head.headers,
                                          storedStatus: stored.status, stored: stored.fields, length: file.length)
        var headers = storedHeaders(stored, bodyLength: file.length, notModified: false)
        headers.replaceOrAdd(name: "age", value: ResponseAge.fieldValue(currentAge: answer.currentAge))
        switch outcome {
        case .whole:
            return false
        case .partial(let ranges) where ranges.count > 1:
            return false
        case .unsatisfiable:
            Self.describeUnsatisfiable(&headers, length: file.length)
            guard writeHead(status: .rangeNotSatisfiable, headers: &headers, source: .store, sendsBody: false,
                            for: exchange, context: context) else { return true }
            finishResponse(exchange, context: context)
        case .partial(let ranges):
            Self.describePart(&headers, range: ranges[0], length: file.length)
            let sendsBody = exchange.head.method != .HEAD
            guard writeHead(status: .partialContent, headers: &headers, source: .store, sendsBody: sendsBody,
                            for: exchange, context: context) else { return true }
            if sendsBody {
                streamStoredBody(file, range: ranges[0], exchange: exchange, context: context)
            } else {
                finishResponse(exchange, context: context)
            }
        }
        return true
    }

    /// Writes `range` of `file` as the body of the exchange whose head was just written, then
    /// ends the response.
    func streamStoredBody(_ file: BodyFile, range: ClosedRange<Int>, exchange: Exchange, context: ChannelHandlerContext) {
        guard let disk = engine.disk else {
            // Only the disk tier leaves bodies in files; without it there is nothing to read with.
            failStoredBody("no disk tier to read it with", exchange: exchange, context: context)
            return
        }
        // Later steps find the exchange as the current one while its body streams.
        state = .forwarding(exchange)
        engine.stats.count(.diskStreams)
        streamPart(of: file, from: range.lowerBound, through: range.upperBound, disk: disk, exchange: exchange, eventLoop: context.eventLoop)
    }

    private func streamPart(of file: BodyFile, from offset: Int, through last: Int, disk: DiskAccess, exchange: Exchange,
                            eventLoop: any EventLoop) {
        let count = min(BodyFile.partSize, last + 1 - offset)
        disk.readBodyPart(file, offset: offset, count: count, on: eventLoop).assumeIsolated().whenComplete { [self] result in
            guard let context = isCurrent(exchange) else { return }
            switch result {
            case .failure(let error):
                failStoredBody("\(error)", exchange: exchange, context: context)
            case .success(let part):
                exchange.responseBytes += part.readableBytes
                engine.stats.count(.bytesFromCache, by: part.readableBytes)
                let next = offset + count
                let written = context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(part))))
                guard next <= last else {
                    finishResponse(exchange, context: context)
                    return
                }
                written.assumeIsolated().whenSuccess { [self] in
                    guard isCurrent(exchange) != nil else { return }
                    streamPart(of: file, from: next, through: last, disk: disk, exchange: exchange, eventLoop: eventLoop)
                }
            }
        }
    }

    private func failStoredBody(_ reason: String, exchange: Exchange, context: ChannelHandlerContext) {
        exchange.failureNote = "stored body read failed: \(reason)"
        logger.error("stored body read failed mid-response; closing the connection", metadata: [
            "target": "\(exchange.head.uri)", "reason": "\(reason)",
        ])
        if case .closeAbruptly = exchange.lifecycle.failed() { closeAbruptly(exchange, context: context) }
    }
}
