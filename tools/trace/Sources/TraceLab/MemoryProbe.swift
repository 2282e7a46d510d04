// MemoryProbe: how many bytes of memory one stored object costs beyond its body. Stores
// `objects` distinct 1 KiB responses in a fresh MemoryTier, shaped as the node stores them
// (origin fields, policy facts derived, the front's encoded head kept), and reads the process's
// resident set and malloc's in-use bytes before and after. Nothing is evicted: the tier is sized
// to hold them all. The figure is (growth ÷ objects) − body length.
#if canImport(Glibc)
import Glibc
#endif
import CachePolicy
import MallocInfo
import CacheStore
import NIOCore

enum MemoryProbe {
    struct Reading {
        var residentBytes: Int
        var mallocInUseBytes: Int
    }

    static func read() -> Reading {
        #if canImport(Glibc)
        // /proc/self/statm: size and resident, in pages.
        let descriptor = open("/proc/self/statm", O_RDONLY)
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, 255) }
        close(descriptor)
        let text = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        let inUse = Int(outpost_malloc_in_use())
        return Reading(residentBytes: pages * Int(sysconf(Int32(_SC_PAGESIZE))), mallocInUseBytes: inUse)
        #else
        return Reading(residentBytes: 0, mallocInUseBytes: 0)
        #endif
    }

    /// A response as the node stores it for tools/bench's memory scenario (`GET /1k.bin?obj=<n>`
    /// with `Host: bench`, from its nginx origin).
    static func response(_ number: Int, bodyLength: Int) -> StoredResponse {
        let url = "http://bench/1k.bin?obj=\(number)"
        // What nginx sends for a static file (tools/bench/configs/origin.conf), less Connection.
        let fields: HeaderFields = [
            ("Server", "nginx/1.22.1"), ("Date", "Sat, 05 Dec 2026 10:00:00 GMT"), ("Content-Type", "application/octet-stream"),
            ("Content-Length", "\(bodyLength)"), ("Last-Modified", "Fri, 04 Dec 2026 10:00:00 GMT"),
            ("ETag", "\"\(String(number, radix: 16))-400\""), ("Cache-Control", "public, max-age=3600"), ("Accept-Ranges", "bytes"),
        ]
        var response = StoredResponse(
            key: "GET " + url, variantKey: "", varyFieldNames: [], url: url, host: "bench", status: 200,
            fields: fields, requestTime: Timestamp(seconds: 1_796_000_000), responseTime: Timestamp(seconds: 1_796_000_000),
            bodyLength: bodyLength)
        response.reuseFacts = ReuseFacts(cached: response.cached, settings: RuleSettings())
        return response
    }

    /// The head the front keeps for hits: status line and stored fields, as sent.
    static func encodedHead(_ response: StoredResponse) -> ByteBuffer {
        var head = ByteBuffer()
        head.writeString("HTTP/1.1 200 OK\r\n")
        for field in response.fields.fields { head.writeString("\(field.name): \(field.value)\r\n") }
        return head
    }

    static func run(objects: Int, bodyLength: Int, arguments: [String]) {
        let eviction = arguments.compactMap(EvictionChoice.init(rawValue:)).first ?? .threeQueueFIFO
        let keepHeads = !arguments.contains("no-head")
        let tier = makeTier(capacityBytes: 1 << 33, eviction: eviction)
        let body = ByteBuffer(repeating: 0x61, count: bodyLength)
        // Warm up allocator arenas and the tier's arrays a little, as the bench probe does.
        store(0..<100, into: tier, body: body, keepHeads: keepHeads)
        let before = read()
        store(100..<(100 + objects), into: tier, body: body, keepHeads: keepHeads)
        let after = read()
        precondition(tier.usage.objects == objects + 100, "the probe's tier evicted")
        let resident = Double(after.residentBytes - before.residentBytes) / Double(objects) - Double(bodyLength)
        let malloc = Double(after.mallocInUseBytes - before.mallocInUseBytes) / Double(objects) - Double(bodyLength)
        print("memory probe: \(objects) objects × \(bodyLength) B, eviction \(eviction.rawValue), encoded heads \(keepHeads ? "kept" : "not kept")")
        print("  RSS growth beyond the body:    \(Int(resident.rounded())) B per object")
        print("  malloc in use beyond the body: \(Int(malloc.rounded())) B per object")
        print("  tier's own accounting (cost - body): \((tier.usage.bytes / tier.usage.objects) - bodyLength) B per object")
        withExtendedLifetime(tier) {}
    }

    static func store(_ numbers: Range<Int>, into tier: MemoryTier, body: ByteBuffer, keepHeads: Bool) {
        for number in numbers {
            let fill = tier.beginFill(response(number, bodyLength: body.readableBytes))
            fill.append(body)
            fill.commit()
            guard keepHeads else { continue }
            let stored = tier.variants(for: "GET http://bench/1k.bin?obj=\(number)")
            if let entry = stored.first { tier.keepEncodedHead(encodedHead(entry.response), for: entry) }
        }
    }
}
