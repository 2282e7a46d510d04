// PackedResponse: one stored variant at rest in the memory tier, in one allocation of exactly
// its size: fixed fields in the header, then the key, the other strings, the packed header
// fields, the encoded head once a hit kept one, and the body when it is small. Nothing of it is
// a separate object (no String, array or ByteBuffer storage per field), so an object costs its
// bytes and one allocation; a body above `inlineBodyLimit` stays in its ByteBuffer (`external`),
// where a hit sends it without a copy.
//
// Layout of the tail, in order: key (without its `GET ` when the `retrievalKey` flag says it had
// one), variant key, URL (only when it is not read back from the key), host, the vary names (a count, then each), the tags (a count, then each) — each string
// as a LEB128 length and its UTF-8 bytes — then the packed fields (a LEB128 length and the bytes
// `HeaderFields.withPackedBytes` gives), then `headLength` bytes of encoded head and
// `bodyLength` bytes of body, which end the tail.
//
// Invariants: the tail is written once, by `make`; afterwards only the header's bookkeeping
// (`hits`, `nextInChain`, `softPurgedAt`) changes, and only under the owning shard's lock.
// `response(key:)` gives back exactly the StoredResponse `make` was given (bodyLength and
// fields as stored; reuse facts whose Age or stale-while-revalidate do not fit 32 bits are left
// out, to be derived again), and `body` exactly its body.
import CachePolicy
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The allocation: a ManagedBuffer, which cannot itself be Sendable; `PackedResponse` holds it.
final class PackedStorage: ManagedBuffer<PackedResponse.Header, UInt8> {}

/// A packed object, by reference. Sendable because its tail is never written after `make` and
/// its header only under the owning shard's lock (readers of a stored entry read the tail).
struct PackedResponse: @unchecked Sendable {
    private let storage: PackedStorage

    /// The fixed fields, in place in the allocation: `header.hits` reads that field alone,
    /// which matters where the tail is read outside the shard's lock while the lock's holder
    /// writes the bookkeeping fields.
    var header: Header {
        unsafeAddress { UnsafePointer(storage.withUnsafeMutablePointerToHeader { $0 }) }
        nonmutating unsafeMutableAddress { storage.withUnsafeMutablePointerToHeader { $0 } }
    }

    /// Whether both are the same stored object.
    static func === (lhs: PackedResponse, rhs: PackedResponse) -> Bool { lhs.storage === rhs.storage }

    /// Bodies up to this size are kept in the tail; larger ones in their own buffer.
    static var inlineBodyLimit: Int { StoredEntry.inlineBodyLimit }

    struct Flags: OptionSet {
        let rawValue: UInt8
        static let hasFacts = Flags(rawValue: 1)
        static let noCacheUnqualified = Flags(rawValue: 2)
        static let forbidsStale = Flags(rawValue: 4)
        static let hasURL = Flags(rawValue: 8)
        static let headKept = Flags(rawValue: 16)
        static let retrievalKey = Flags(rawValue: 32)
    }

    /// A body kept outside the tail.
    final class ExternalBody: Sendable {
        let buffer: ByteBuffer
        init(_ buffer: ByteBuffer) { self.buffer = buffer }
    }

    /// 80 bytes, in this order (no padding).
    struct Header {
        var external: ExternalBody?
        var requestTime: Double
        var responseTime: Double
        /// NaN when never soft-purged.
        var softPurgedAt: Double
        /// ReuseFacts, when `flags` has `hasFacts`: the lifetime, the Date (NaN when absent),
        /// the Age in whole seconds, stale-while-revalidate's seconds (`UInt32.max` when absent).
        var lifetime: Double
        var dateValue: Double
        var ageValue: UInt32
        var staleWhileRevalidate: UInt32
        /// Lookups since stored.
        var hits: UInt32
        /// The next slot holding a variant of this key, or of another key in the same index
        /// bucket; -1 at the end of the chain.
        var nextInChain: Int32
        var tailLength: UInt32
        var bodyLength: UInt32
        var headLength: UInt16
        var fieldCount: UInt16
        var status: UInt16
        var flags: Flags
        var formatVersion: UInt8
    }

    /// The key prefix of a retrieval (`PrimaryKey`): not stored, `flags` says it was there.
    private static let retrievalPrefix: StaticString = "GET "

    /// Packs `response` with `body` and, when given, the encoded head hits send (at most 64 KiB).
    /// Returns nil when a length does not fit the layout (a tail of 4 GiB, 65,536 field lines):
    /// the caller stores nothing.
    static func make(_ response: StoredResponse, body: ByteBuffer, encodedHead: ByteBuffer? = nil) -> PackedResponse? {
        var strings: [UInt8] = []
        strings.reserveCapacity(response.key.utf8.count + response.host.utf8.count + 8)
        func append(_ text: some Collection<UInt8>) {
            LEB128.append(UInt64(text.count), to: &strings)
            strings.append(contentsOf: text)
        }
        let retrieval = hasRetrievalPrefix(response.key)
        append(retrieval ? response.key.utf8.dropFirst(retrievalPrefix.utf8CodeUnitCount) : response.key.utf8[...])
        append(response.variantKey.utf8)
        if let url = response.urlUnlikeKey { append(url.utf8) }
        append(response.host.utf8)
        LEB128.append(UInt64(response.varyFieldNames.count), to: &strings)
        for name in response.varyFieldNames { append(name.utf8) }
        LEB128.append(UInt64(response.tags.count), to: &strings)
        for tag in response.tags { append(tag.utf8) }
        response.fields.withPackedBytes { fields in
            LEB128.append(UInt64(fields.count), to: &strings)
            strings.append(contentsOf: fields)
        }
        let inline = body.readableBytes <= inlineBodyLimit
        let headLength = encodedHead?.readableBytes ?? 0
        let bodyLength = inline ? body.readableBytes : 0
        let tailLength = strings.count + headLength + bodyLength
        guard tailLength <= Int(UInt32.max), response.fields.count <= Int(UInt16.max), headLength <= Int(UInt16.max),
              (0...Int(UInt16.max)).contains(response.status) else { return nil }

        var flags: Flags = []
        if retrieval { flags.insert(.retrievalKey) }
        if response.urlUnlikeKey != nil { flags.insert(.hasURL) }
        if encodedHead != nil { flags.insert(.headKept) }
        // Facts whose values the layout cannot hold exactly are left out (derived again when read).
        let facts = response.reuseFacts.flatMap { facts -> ReuseFacts? in
            guard let age = UInt32(exactly: facts.age.ageValue),
                  (facts.staleWhileRevalidate ?? 0) >= 0, (facts.staleWhileRevalidate ?? 0) < Int(UInt32.max)
            else { return nil }
            return age == UInt32.max ? nil : facts
        }
        if let facts {
            flags.insert(.hasFacts)
            if facts.noCacheUnqualified { flags.insert(.noCacheUnqualified) }
            if facts.forbidsStale { flags.insert(.forbidsStale) }
        }
        let header = Header(
            external: inline ? nil : ExternalBody(body),
            requestTime: response.requestTime.seconds, responseTime: response.responseTime.seconds,
            softPurgedAt: response.softPurgedAt?.seconds ?? .nan, lifetime: facts?.lifetime ?? .nan,
            dateValue: facts?.age.dateValue?.seconds ?? .nan, ageValue: facts.map { UInt32($0.age.ageValue) } ?? 0,
            staleWhileRevalidate: facts?.staleWhileRevalidate.map(UInt32.init) ?? .max,
            hits: 0, nextInChain: -1, tailLength: UInt32(tailLength), bodyLength: UInt32(bodyLength),
            headLength: UInt16(headLength), fieldCount: UInt16(response.fields.count), status: UInt16(response.status),
            flags: flags, formatVersion: UInt8(clamping: response.formatVersion))
        let storage = unsafeDowncast(PackedStorage.create(minimumCapacity: tailLength) { _ in header }, to: PackedStorage.self)
        storage.withUnsafeMutablePointerToElements { tail in
            let bytes = UnsafeMutableRawBufferPointer(start: tail, count: tailLength)
            bytes.copyBytes(from: strings)
            var offset = strings.count
            if let encodedHead {
                encodedHead.withUnsafeReadableBytes { bytes[offset..<offset + headLength].copyBytes(from: $0) }
                offset += headLength
            }
            if inline { body.withUnsafeReadableBytes { bytes[offset..<offset + bodyLength].copyBytes(from: $0) } }
        }
        return PackedResponse(storage: storage)
    }

    /// The same object with `head` kept as the encoded head: a new allocation with the same
    /// strings and body, made without the shard's lock, so it reads only fields that never
    /// change and leaves the bookkeeping fields (`hits`, `nextInChain`, `softPurgedAt`) for the
    /// shard to carry over. Nil when it would not fit the layout.
    func keeping(encodedHead head: ByteBuffer) -> PackedResponse? {
        // A head the layout cannot hold is kept empty: the response then takes the general path.
        let head = head.readableBytes <= Int(UInt16.max) ? head : ByteBuffer()
        let bodyLength = Int(header.bodyLength)
        let stringsLength = Int(header.tailLength) - Int(header.headLength) - bodyLength
        let tailLength = stringsLength + head.readableBytes + bodyLength
        guard tailLength <= Int(UInt32.max) else { return nil }
        var flags = header.flags
        flags.insert(.headKept)
        let kept = Header(
            external: header.external, requestTime: header.requestTime, responseTime: header.responseTime,
            softPurgedAt: .nan, lifetime: header.lifetime, dateValue: header.dateValue, ageValue: header.ageValue,
            staleWhileRevalidate: header.staleWhileRevalidate, hits: 0, nextInChain: -1, tailLength: UInt32(tailLength),
            bodyLength: header.bodyLength, headLength: UInt16(head.readableBytes), fieldCount: header.fieldCount,
            status: header.status, flags: flags, formatVersion: header.formatVersion)
        let storage = unsafeDowncast(PackedStorage.create(minimumCapacity: tailLength) { _ in kept }, to: PackedStorage.self)
        withTail { old in
            storage.withUnsafeMutablePointerToElements { tail in
                let bytes = UnsafeMutableRawBufferPointer(start: tail, count: tailLength)
                bytes.copyBytes(from: old[0..<stringsLength])
                head.withUnsafeReadableBytes { bytes[stringsLength..<stringsLength + $0.count].copyBytes(from: $0) }
                bytes[(tailLength - bodyLength)...].copyBytes(from: old[(old.count - bodyLength)...])
            }
        }
        return PackedResponse(storage: storage)
    }

    private static func hasRetrievalPrefix(_ key: String) -> Bool {
        key.utf8.starts(with: UnsafeBufferPointer(start: retrievalPrefix.utf8Start, count: retrievalPrefix.utf8CodeUnitCount))
    }

    // MARK: reading

    /// The bytes of the tail written by `make`.
    private func withTail<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let length = Int(header.tailLength)
        return try storage.withUnsafeMutablePointerToElements { try body(UnsafeRawBufferPointer(start: $0, count: length)) }
    }

    /// The tail's first string (the key) or second (the variant key).
    private func withString<Result>(at position: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withTail { tail in
            var offset = 0
            for _ in 0..<position { offset += Int(LEB128.read(tail, at: &offset)!) }
            let length = Int(LEB128.read(tail, at: &offset)!)
            return body(UnsafeRawBufferPointer(rebasing: tail[offset..<offset + length]))
        }
    }

    /// Whether the stored key is exactly `key`'s bytes.
    func hasKey(_ key: String) -> Bool {
        let prefix = header.flags.contains(.retrievalKey) ? Self.retrievalPrefix.utf8CodeUnitCount : 0
        guard prefix == 0 || Self.hasRetrievalPrefix(key) else { return false }
        return withString(at: 0) { Self.equal(key.utf8.dropFirst(prefix), $0) }
    }

    /// Whether the stored variant key is exactly `variantKey`'s bytes.
    func hasVariantKey(_ variantKey: String) -> Bool {
        withString(at: 1) { Self.equal(variantKey.utf8[...], $0) }
    }

    private static func equal(_ text: Substring.UTF8View, _ stored: UnsafeRawBufferPointer) -> Bool {
        guard text.count == stored.count else { return false }
        return text.withContiguousStorageIfAvailable { bytes in
            bytes.isEmpty || memcmp(bytes.baseAddress!, stored.baseAddress!, bytes.count) == 0
        } ?? text.elementsEqual(stored)
    }

    /// The stored key's `indexHash`.
    var keyHash: Int {
        let prefix = header.flags.contains(.retrievalKey) ? Self.retrievalPrefix.utf8CodeUnitCount : 0
        return withString(at: 0) { stored in
            withUnsafeTemporaryAllocation(byteCount: prefix + stored.count, alignment: 1) { key in
                if prefix > 0 {
                    key.copyMemory(from: UnsafeRawBufferPointer(start: Self.retrievalPrefix.utf8Start, count: prefix))
                }
                UnsafeMutableRawBufferPointer(rebasing: key[prefix...]).copyMemory(from: stored)
                return Self.indexHash(UnsafeRawBufferPointer(key))
            }
        }
    }

    /// The memory shard's index hash of a key: its UTF-8 bytes through `Hasher`, whose seed is
    /// new in every process, so requests cannot be aimed at one chain of the index.
    static func indexHash(of key: String) -> Int {
        var key = key
        return key.withUTF8 { indexHash(UnsafeRawBufferPointer($0)) }
    }

    private static func indexHash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: bytes)
        return hasher.finalize()
    }

    /// The stored response, with `key` as its key when the caller has that String already
    /// (it must equal the stored key; `hasKey`), else read from the tail.
    /// Under the shard's lock, or outside it with `softPurgedAt` as read under it (the one
    /// bookkeeping field a response shows).
    func response(key: String? = nil, softPurgedAt: Double? = nil) -> StoredResponse {
        let softPurgedAt = softPurgedAt ?? header.softPurgedAt
        return withTail { tail in
            var offset = 0
            func string() -> String {
                let length = Int(LEB128.read(tail, at: &offset)!)
                defer { offset += length }
                return String(decoding: UnsafeRawBufferPointer(rebasing: tail[offset..<offset + length]), as: UTF8.self)
            }
            func strings() -> [String] {
                let count = Int(LEB128.read(tail, at: &offset)!)
                return count == 0 ? [] : (0..<count).map { _ in string() }
            }
            let storedKey: String
            if let key {
                storedKey = key
                offset += Int(LEB128.read(tail, at: &offset)!)
            } else {
                storedKey = header.flags.contains(.retrievalKey) ? "GET " + string() : string()
            }
            let variantKey = string()
            let url = header.flags.contains(.hasURL) ? string() : nil
            let host = string()
            let varyFieldNames = strings()
            let tags = strings()
            let fieldsLength = Int(LEB128.read(tail, at: &offset)!)
            let fields = HeaderFields(borrowing: UnsafeRawBufferPointer(rebasing: tail[offset..<offset + fieldsLength]),
                                      count: Int(header.fieldCount), owner: storage)
            var response = StoredResponse(
                key: storedKey, variantKey: variantKey, varyFieldNames: varyFieldNames, urlUnlikeKey: url, host: host,
                status: Int(header.status), fields: fields, requestTime: Timestamp(seconds: header.requestTime),
                responseTime: Timestamp(seconds: header.responseTime),
                softPurgedAt: softPurgedAt.isNaN ? nil : Timestamp(seconds: softPurgedAt), tags: tags,
                bodyLength: bodyLength)
            response.formatVersion = Int(header.formatVersion)
            if header.flags.contains(.hasFacts) {
                let age = ResponseAge(
                    dateValue: header.dateValue.isNaN ? nil : Timestamp(seconds: header.dateValue),
                    ageValue: Double(header.ageValue),
                    requestTime: response.requestTime, responseTime: response.responseTime)
                response.reuseFacts = ReuseFacts(
                    noCacheUnqualified: header.flags.contains(.noCacheUnqualified), forbidsStale: header.flags.contains(.forbidsStale),
                    staleWhileRevalidate: header.staleWhileRevalidate == .max ? nil : Int(header.staleWhileRevalidate),
                    lifetime: header.lifetime, age: age)
            }
            return response
        }
    }

    /// The body's length, wherever it is kept.
    var bodyLength: Int { header.external?.buffer.readableBytes ?? Int(header.bodyLength) }

    /// The body: the kept buffer, or a new buffer with a copy of the tail's bytes.
    var body: ByteBuffer {
        if let external = header.external { return external.buffer }
        var buffer = ByteBufferAllocator().buffer(capacity: Int(header.bodyLength))
        writeBody(into: &buffer)
        return buffer
    }

    /// Appends the body to `buffer`.
    func writeBody(into buffer: inout ByteBuffer) {
        if let external = header.external {
            buffer.writeImmutableBuffer(external.buffer)
            return
        }
        let length = Int(header.bodyLength)
        withTail { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[$0.count - length..<$0.count])) }
    }

    /// The kept encoded head's length, or nil when none was kept (an empty one is kept too:
    /// it marks a response hits do not encode).
    var encodedHeadLength: Int? { header.flags.contains(.headKept) ? Int(header.headLength) : nil }

    /// Appends the kept encoded head to `buffer` (nothing when none was kept).
    func writeEncodedHead(into buffer: inout ByteBuffer) {
        let head = Int(header.headLength), body = Int(header.bodyLength)
        guard head > 0 else { return }
        withTail { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[$0.count - body - head..<$0.count - body])) }
    }

    /// What the memory tier charges for this object: `fixedCost`, its tail and a body kept
    /// outside it — the same as `StoredEntry.cost` of the entry it was made from.
    var memoryCost: Int {
        Self.fixedCost + Int(header.tailLength) + (header.external?.buffer.readableBytes ?? 0)
    }

    /// The tier's bookkeeping for one object beside the object itself, as an estimate: its slot
    /// (8 bytes), its share of the index (4 to 8), its eviction link (24) and malloc's header
    /// and rounding of the allocation (8 to 24), rounded up.
    static let bookkeepingCost = 64

    /// The cost of every object besides its tail: the allocation's own header (16 bytes), the
    /// fixed fields and the bookkeeping.
    static var fixedCost: Int { 16 + MemoryLayout<Header>.stride + bookkeepingCost }

    /// The bytes `make` writes for `response` before the head and the body.
    static func stringsLength(of response: StoredResponse) -> Int {
        func length(_ count: Int) -> Int {
            var size = 1, rest = count >> 7
            while rest > 0 {
                size += 1
                rest >>= 7
            }
            return size
        }
        func string(_ text: String) -> Int { length(text.utf8.count) + text.utf8.count }
        func strings(_ texts: [String]) -> Int { texts.reduce(length(texts.count)) { $0 + string($1) } }
        let fields = response.fields.packedByteCount
        let keyBytes = response.key.utf8.count - (hasRetrievalPrefix(response.key) ? retrievalPrefix.utf8CodeUnitCount : 0)
        return length(keyBytes) + keyBytes + string(response.variantKey) + (response.urlUnlikeKey.map(string) ?? 0)
            + string(response.host) + strings(response.varyFieldNames) + strings(response.tags) + length(fields) + fields
    }
}
