// PackedResponse: one stored variant at rest in the memory tier, in one allocation of exactly
// its size: fixed fields in the header, then the key, the other strings, the packed header
// fields, the encoded head once a hit kept one, and the body when it is small. Nothing of it is
// a separate object (no String, array or ByteBuffer storage per field), so an object costs its
// bytes and one allocation; a body above `inlineBodyLimit` stays in its ByteBuffer (`external`),
// where a hit sends it without a copy.
//
// Layout of the tail, in order: the external body's reference (only with `externalBody`), the
// key (without its `GET ` when the `retrievalKey` flag says it had one), the variant key, the
// URL (only when it is not read back from the key), the host (only without `hostInKey`), the
// vary names (a count, then each), the tags (a count, then each) — each string as a LEB128
// length and its UTF-8 bytes — then the packed fields (a LEB128 length and the bytes
// `HeaderFields.withPackedBytes` gives), then `headLength` bytes of encoded head and
// `bodyLength` bytes of body, which end the tail.
//
// Invariants: the tail is written once, by `make`; afterwards only the header's bookkeeping
// (`hits`, `nextInChain`, `softPurgedAt`) changes, and only under the owning shard's lock.
// `response(key:)` gives back exactly the StoredResponse `make` was given (bodyLength and
// fields as stored; reuse facts whose lifetime, Date, Age or stale-while-revalidate are not
// whole seconds in 32 bits are left out, to be derived again when read — a heuristic lifetime
// usually, or Expires less the time received when there is no Date), and `body` exactly its body. A host that is the authority of
// the key's URL is read back from the key; a body kept outside the tail is referred to by the
// tail's first eight bytes (a retained reference that `PackedStorage` releases).
import CachePolicy
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The allocation: a ManagedBuffer, which cannot itself be Sendable; `PackedResponse` holds it.
/// When the body is kept outside the tail, the tail's first eight bytes hold a retained
/// reference to it, released here.
final class PackedStorage: ManagedBuffer<PackedResponse.Header, UInt8> {
    deinit {
        withUnsafeMutablePointers { header, tail in
            if header.pointee.flags.contains(.externalBody) { PackedResponse.externalBody(at: tail).release() }
        }
    }
}

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
        /// The body is kept outside the tail, referred to by the tail's first eight bytes.
        static let externalBody = Flags(rawValue: 64)
        /// The host is not stored: it is the authority of the URL in the key.
        static let hostInKey = Flags(rawValue: 128)
    }

    /// A body kept outside the tail.
    final class ExternalBody: Sendable {
        let buffer: ByteBuffer
        init(_ buffer: ByteBuffer) { self.buffer = buffer }
    }

    /// 64 bytes, in this order (no padding).
    struct Header {
        var requestTime: Double
        var responseTime: Double
        /// NaN when never soft-purged.
        var softPurgedAt: Double
        /// ReuseFacts, when `flags` has `hasFacts`, each in whole seconds: the lifetime, the Date
        /// (`UInt32.max` when absent), the Age, stale-while-revalidate (`UInt32.max` when absent).
        var lifetime: UInt32
        var dateValue: UInt32
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
        let retrieval = hasRetrievalPrefix(response.key)
        let hostInKey = hostIsInKey(response)
        let stringsLength = stringsLength(of: response, hostInKey: hostInKey)
        let inline = body.readableBytes <= inlineBodyLimit
        let headLength = encodedHead?.readableBytes ?? 0
        let bodyLength = inline ? body.readableBytes : 0
        let referenceLength = inline ? 0 : MemoryLayout<UInt>.size
        let tailLength = referenceLength + stringsLength + headLength + bodyLength
        guard tailLength <= Int(UInt32.max), response.fields.count <= Int(UInt16.max), headLength <= Int(UInt16.max),
              (0...Int(UInt16.max)).contains(response.status) else { return nil }

        var flags: Flags = []
        if retrieval { flags.insert(.retrievalKey) }
        if hostInKey { flags.insert(.hostInKey) }
        if !inline { flags.insert(.externalBody) }
        if response.urlUnlikeKey != nil { flags.insert(.hasURL) }
        if encodedHead != nil { flags.insert(.headKept) }
        // Facts whose values the layout cannot hold exactly are left out (derived again when read).
        let facts = response.reuseFacts.flatMap { facts -> ReuseFacts? in
            guard let age = UInt32(exactly: facts.age.ageValue),
                  (facts.staleWhileRevalidate ?? 0) >= 0, (facts.staleWhileRevalidate ?? 0) < Int(UInt32.max),
                  facts.age.dateValue.map({ UInt32(exactly: $0.seconds).map { $0 < .max } ?? false }) ?? true,
                  UInt32(exactly: facts.lifetime) != nil
            else { return nil }
            return age == UInt32.max ? nil : facts
        }
        if let facts {
            flags.insert(.hasFacts)
            if facts.noCacheUnqualified { flags.insert(.noCacheUnqualified) }
            if facts.forbidsStale { flags.insert(.forbidsStale) }
        }
        let header = Header(
            requestTime: response.requestTime.seconds, responseTime: response.responseTime.seconds,
            softPurgedAt: response.softPurgedAt?.seconds ?? .nan, lifetime: facts.flatMap { UInt32(exactly: $0.lifetime) } ?? 0,
            dateValue: facts?.age.dateValue.flatMap { UInt32(exactly: $0.seconds) } ?? .max, ageValue: facts.map { UInt32($0.age.ageValue) } ?? 0,
            staleWhileRevalidate: facts?.staleWhileRevalidate.map(UInt32.init) ?? .max,
            hits: 0, nextInChain: -1, tailLength: UInt32(tailLength), bodyLength: UInt32(bodyLength),
            headLength: UInt16(headLength), fieldCount: UInt16(response.fields.count), status: UInt16(response.status),
            flags: flags, formatVersion: UInt8(clamping: response.formatVersion))
        let storage = unsafeDowncast(PackedStorage.create(minimumCapacity: tailLength) { _ in header }, to: PackedStorage.self)
        storage.withUnsafeMutablePointerToElements { tail in
            let bytes = UnsafeMutableRawBufferPointer(start: tail, count: tailLength)
            if !inline {
                let reference = Unmanaged.passRetained(ExternalBody(body)).toOpaque()
                bytes.storeBytes(of: UInt(bitPattern: reference), as: UInt.self)
            }
            var offset = referenceLength
            func write(_ text: some Collection<UInt8>) {
                // Bounds are checked here because raw buffers do not check them in release builds.
                precondition(offset + LEB128.size(of: UInt64(text.count)) + text.count <= referenceLength + stringsLength,
                             "PackedResponse.stringsLength disagrees with make")
                LEB128.write(UInt64(text.count), to: bytes, at: &offset)
                let target = UnsafeMutableRawBufferPointer(rebasing: bytes[offset..<offset + text.count])
                if text.withContiguousStorageIfAvailable({ target.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
                    target.copyBytes(from: text)
                }
                offset += text.count
            }
            func write(_ texts: [String]) {
                precondition(offset + LEB128.size(of: UInt64(texts.count)) <= referenceLength + stringsLength,
                             "PackedResponse.stringsLength disagrees with make")
                LEB128.write(UInt64(texts.count), to: bytes, at: &offset)
                for text in texts { write(text.utf8) }
            }
            write(retrieval ? response.key.utf8.dropFirst(retrievalPrefix.utf8CodeUnitCount) : response.key.utf8[...])
            write(response.variantKey.utf8)
            if let url = response.urlUnlikeKey { write(url.utf8) }
            if !hostInKey { write(response.host.utf8) }
            write(response.varyFieldNames)
            write(response.tags)
            response.fields.withPackedBytes { write($0) }
            precondition(offset == referenceLength + stringsLength, "PackedResponse.stringsLength disagrees with make")
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
            requestTime: header.requestTime, responseTime: header.responseTime,
            softPurgedAt: .nan, lifetime: header.lifetime, dateValue: header.dateValue, ageValue: header.ageValue,
            staleWhileRevalidate: header.staleWhileRevalidate, hits: 0, nextInChain: -1, tailLength: UInt32(tailLength),
            bodyLength: header.bodyLength, headLength: UInt16(head.readableBytes), fieldCount: header.fieldCount,
            status: header.status, flags: flags, formatVersion: header.formatVersion)
        let storage = unsafeDowncast(PackedStorage.create(minimumCapacity: tailLength) { _ in kept }, to: PackedStorage.self)
        withTail { old in
            storage.withUnsafeMutablePointerToElements { tail in
                let bytes = UnsafeMutableRawBufferPointer(start: tail, count: tailLength)
                bytes.copyBytes(from: old[0..<stringsLength])
                // The copy refers to the same external body: one more reference to release.
                if flags.contains(.externalBody) { _ = Self.externalBody(at: tail).retain() }
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
            var offset = stringsStart
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
            var offset = stringsStart
            var keyRange = 0..<0
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
            let keyLength = Int(LEB128.read(tail, at: &offset)!)
            keyRange = offset..<offset + keyLength
            offset += keyLength
            if let key {
                storedKey = key
            } else {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: tail[keyRange]), as: UTF8.self)
                storedKey = header.flags.contains(.retrievalKey) ? "GET " + text : text
            }
            let variantKey = string()
            let url = header.flags.contains(.hasURL) ? string() : nil
            let host: String
            if header.flags.contains(.hostInKey), let authority = Self.authority(in: UnsafeRawBufferPointer(rebasing: tail[keyRange])) {
                let start = keyRange.lowerBound
                host = String(decoding: UnsafeRawBufferPointer(rebasing: tail[start + authority.lowerBound..<start + authority.upperBound]),
                              as: UTF8.self)
            } else {
                host = string()
            }
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
                    dateValue: header.dateValue == .max ? nil : Timestamp(seconds: Double(header.dateValue)),
                    ageValue: Double(header.ageValue),
                    requestTime: response.requestTime, responseTime: response.responseTime)
                response.reuseFacts = ReuseFacts(
                    noCacheUnqualified: header.flags.contains(.noCacheUnqualified), forbidsStale: header.flags.contains(.forbidsStale),
                    staleWhileRevalidate: header.staleWhileRevalidate == .max ? nil : Int(header.staleWhileRevalidate),
                    lifetime: Double(header.lifetime), age: age)
            }
            return response
        }
    }

    /// The body's length, wherever it is kept.
    var bodyLength: Int { external?.buffer.readableBytes ?? Int(header.bodyLength) }

    /// The body kept outside the tail, if it is.
    var external: ExternalBody? {
        guard header.flags.contains(.externalBody) else { return nil }
        return storage.withUnsafeMutablePointerToElements { Self.externalBody(at: $0).takeUnretainedValue() }
    }

    /// The reference to an external body in a tail's first eight bytes (unaligned).
    static func externalBody(at tail: UnsafeMutablePointer<UInt8>) -> Unmanaged<ExternalBody> {
        let bits = UnsafeRawPointer(tail).loadUnaligned(as: UInt.self)
        return Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)
    }

    /// Where the strings begin in the tail: after the external body's reference, if any.
    private var stringsStart: Int { header.flags.contains(.externalBody) ? MemoryLayout<UInt>.size : 0 }

    /// The body: the kept buffer, or a new buffer with a copy of the tail's bytes.
    var body: ByteBuffer {
        if let external { return external.buffer }
        var buffer = ByteBufferAllocator().buffer(capacity: Int(header.bodyLength))
        writeBody(into: &buffer)
        return buffer
    }

    /// Appends the body to `buffer`.
    func writeBody(into buffer: inout ByteBuffer) {
        if let external {
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
        Self.fixedCost + Int(header.tailLength) - stringsStart + (external?.buffer.readableBytes ?? 0)
    }

    /// The tier's bookkeeping for one object beside the object itself, as an estimate: its slot
    /// (8 bytes), its share of the index (4 to 8), its eviction link (16) and malloc's header
    /// and rounding of the allocation (8 to 24), rounded up.
    static let bookkeepingCost = 64

    /// The cost of every object besides its tail: the allocation's own header (16 bytes), the
    /// fixed fields and the bookkeeping.
    static var fixedCost: Int { 16 + MemoryLayout<Header>.stride + bookkeepingCost }

    /// The bytes `make` writes for `response` before the head and the body.
    static func stringsLength(of response: StoredResponse) -> Int {
        stringsLength(of: response, hostInKey: hostIsInKey(response))
    }

    /// The same, with `hostIsInKey(response)` already known.
    private static func stringsLength(of response: StoredResponse, hostInKey: Bool) -> Int {
        func length(_ count: Int) -> Int { LEB128.size(of: UInt64(count)) }
        func string(_ text: String) -> Int { length(text.utf8.count) + text.utf8.count }
        func strings(_ texts: [String]) -> Int { texts.reduce(length(texts.count)) { $0 + string($1) } }
        let fields = response.fields.packedByteCount
        let keyBytes = response.key.utf8.count - (hasRetrievalPrefix(response.key) ? retrievalPrefix.utf8CodeUnitCount : 0)
        return length(keyBytes) + keyBytes + string(response.variantKey) + (response.urlUnlikeKey.map(string) ?? 0)
            + (hostInKey ? 0 : string(response.host)) + strings(response.varyFieldNames) + strings(response.tags) + length(fields) + fields
    }

    /// Whether the response's host is exactly the authority of the URL in its key (as it is
    /// when the request's Host needed no normalising), so that it need not be stored.
    static func hostIsInKey(_ response: StoredResponse) -> Bool {
        var key = response.key
        return key.withUTF8 { key in
            guard let authority = authority(in: UnsafeRawBufferPointer(key)) else { return false }
            return equal(response.host.utf8[...], UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(key)[authority]))
        }
    }

    /// The authority in a key's bytes: after its first `://`, up to the next `/`, `?` or `#`
    /// or the end; nil when there is no `://`.
    static func authority(in key: UnsafeRawBufferPointer) -> Range<Int>? {
        guard key.count >= 3 else { return nil }
        var index = 0
        while index + 3 <= key.count {
            if key[index] == UInt8(ascii: ":"), key[index + 1] == UInt8(ascii: "/"), key[index + 2] == UInt8(ascii: "/") { break }
            index += 1
        }
        guard index + 3 <= key.count else { return nil }
        let start = index + 3
        var end = start
        while end < key.count, key[end] != UInt8(ascii: "/"), key[end] != UInt8(ascii: "?"), key[end] != UInt8(ascii: "#") { end += 1 }
        return start..<end
    }
}
