// Fixtures shared by the microbenchmarks: the shipped default rules, a typical browser request
// and a typical cacheable origin response, stored responses with bodies, and a runner for work
// split over threads.
import CachePolicy
import CacheStore
import Foundation
import NIOCore
import PolicyFile

enum Fixtures {
    /// The rules every node starts with (`cache-policy/default.yaml`): sorted queries, utm_*,
    /// gclid and fbclid dropped, Accept-Encoding normalised.
    static let rules: PolicyRules = {
        do { return try PolicyFile.defaultRules() } catch { fatalError("the embedded default rules: \(error)") }
    }()

    static let settings = rules.settings(host: "www.example.com", path: "/assets/app.js")

    /// A request as a current browser sends it.
    static let request: HeaderFields = [
        ("Host", "www.example.com"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-GB,en;q=0.5"),
        ("Accept-Encoding", "gzip, deflate, br, zstd"),
        ("Connection", "keep-alive"),
        ("Upgrade-Insecure-Requests", "1"),
    ]

    static let responseTime = Timestamp(seconds: 1_764_000_000)

    /// A cacheable static asset: explicit freshness, validators, Vary on Accept-Encoding.
    static let response: HeaderFields = [
        ("Date", "Mon, 24 Nov 2025 16:00:00 GMT"),
        ("Server", "nginx"),
        ("Content-Type", "application/javascript; charset=utf-8"),
        ("Content-Length", "1024"),
        ("Cache-Control", "public, max-age=3600, stale-while-revalidate=60"),
        ("ETag", "\"6744ff00-400\""),
        ("Last-Modified", "Mon, 24 Nov 2025 12:00:00 GMT"),
        ("Vary", "Accept-Encoding"),
        ("Accept-Ranges", "bytes"),
    ]

    /// The response as stored, one minute old at `now`.
    static let cached = CachedResponse(
        status: 200, fields: response, requestTime: responseTime - 0.05, responseTime: responseTime)
    static let now = responseTime + 60

    static let body = makeBody()

    /// A new 1 KiB body.
    static func makeBody() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 1024)
        buffer.writeRepeatingByte(UInt8(ascii: "x"), count: 1024)
        return buffer
    }

    /// The primary key of the `index`th distinct URL.
    static func key(_ index: Int) -> String {
        "GET https://www.example.com/assets/\(index).js"
    }

    /// A stored response for the `index`th URL, varying on Accept-Encoding, with its reuse facts
    /// derived as the node does when it stores one.
    static func storedResponse(_ index: Int) -> StoredResponse {
        var stored = StoredResponse(
            key: key(index), variantKey: "accept-encoding=br", varyFieldNames: ["accept-encoding"],
            url: "https://www.example.com/assets/\(index).js", host: "www.example.com", status: 200,
            fields: response, requestTime: responseTime - 0.05, responseTime: responseTime,
            bodyLength: body.readableBytes)
        stored.reuseFacts = ReuseFacts(cached: stored.cached, settings: settings)
        return stored
    }

    /// Fills `storage` with the response and body of the `index`th URL; whether it was stored.
    @discardableResult
    static func fill(_ storage: some CacheStorage, _ index: Int) -> Bool {
        let fill = storage.beginFill(storedResponse(index))
        fill.append(body)
        return fill.commit()
    }

    /// Runs `work(thread)` on `threads` new threads at once and returns when all have finished.
    static func onThreads(_ threads: Int, _ work: @escaping @Sendable (Int) -> Void) {
        let done = DispatchGroup()
        for thread in 0..<threads {
            done.enter()
            let worker = Thread {
                work(thread)
                done.leave()
            }
            worker.start()
        }
        done.wait()
    }
}
