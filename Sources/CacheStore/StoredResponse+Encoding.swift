// The persistent form of `StoredResponse`, as the disk tier keeps it in the `head` column of its
// index. Two layouts exist:
// - version 1: JSON with a `version` member, e.g. `{"version":1,"key":...}`;
// - version 2 (written now): binary, a zero byte then the version as one byte, then every stored
//   property in a fixed order — strings as a LEB128 length and UTF-8 bytes, integers as LEB128
//   (zigzag for signed), times as the IEEE 754 bits of their seconds, little-endian (see
//   `HeadWriter`). About a tenth of the cost of JSON to write, and smaller.
//
// Invariants:
// - Every encoding carries `version`; the writer always writes `StoredResponse.currentFormatVersion`.
// - A reader decodes every version it knows and upgrades it into today's `StoredResponse`
//   (`formatVersion` is then the current one); a version it does not know is an error, never a
//   guess, so a newer writer's rows are not misread by an older build.
// - `reuseFacts` is derived, never persisted: a decoded response has none, and its user
//   recomputes them.
import CachePolicy
import Foundation

extension StoredResponse {
    /// Why a stored head could not be decoded.
    public enum HeadDecodingError: Error, CustomStringConvertible {
        case unknownVersion(found: Int, newestKnown: Int)
        /// A binary head that ends early or holds a value out of range.
        case malformed

        public var description: String {
            switch self {
            case .unknownVersion(let found, let newestKnown):
                "stored response head has format version \(found); this build knows versions up to \(newestKnown)"
            case .malformed:
                "stored response head is truncated or malformed"
            }
        }
    }

    /// Layout 1: every stored property of `StoredResponse` under its own name.
    struct EncodedHeadVersion1: Codable {
        var version: Int
        var key: String
        var variantKey: String
        var varyFieldNames: [String]
        var url: String
        var host: String
        var status: Int
        var fields: HeaderFields
        var requestTime: Timestamp
        var responseTime: Timestamp
        var softPurgedAt: Timestamp?
        var tags: [String]
        var bodyLength: Int
    }

    /// Only the version tag, read first to choose the layout.
    private struct EncodedHeadVersion: Decodable {
        var version: Int
    }

    /// The head in the newest layout (2, binary).
    public func encodedHead() throws -> Data {
        var writer = HeadWriter()
        writer.bytes.reserveCapacity(256 + key.utf8.count + url.utf8.count + fields.packedByteCount + fields.count * 8)
        writer.bytes.append(0)
        writer.bytes.append(UInt8(Self.currentFormatVersion))
        writer.write(key)
        writer.write(variantKey)
        writer.write(varyFieldNames)
        writer.write(url)
        writer.write(host)
        writer.write(status)
        writer.write(unsigned: UInt64(fields.count))
        fields.forEachLine { name, value in
            writer.write(bytes: name)
            writer.write(bytes: value)
            return true
        }
        writer.write(requestTime)
        writer.write(responseTime)
        if let softPurgedAt {
            writer.bytes.append(1)
            writer.write(softPurgedAt)
        } else {
            writer.bytes.append(0)
        }
        writer.write(tags)
        writer.write(bodyLength)
        return Data(writer.bytes)
    }

    /// The head in layout 1 (JSON), as builds before layout 2 wrote it; kept for tests of upgrades.
    func encodedHeadVersion1() throws -> Data {
        let head = EncodedHeadVersion1(
            version: 1, key: key, variantKey: variantKey, varyFieldNames: varyFieldNames,
            url: url, host: host, status: status, fields: fields, requestTime: requestTime,
            responseTime: responseTime, softPurgedAt: softPurgedAt, tags: tags, bodyLength: bodyLength)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(head)
    }

    /// Decodes a head written by this or an older build, upgrading it to the current layout.
    public static func decodeHead(_ data: Data) throws -> StoredResponse {
        if data.first == 0 { return try decodeBinaryHead(data) }
        let decoder = JSONDecoder()
        let version = try decoder.decode(EncodedHeadVersion.self, from: data).version
        switch version {
        case 1:
            let head = try decoder.decode(EncodedHeadVersion1.self, from: data)
            return StoredResponse(
                key: head.key, variantKey: head.variantKey, varyFieldNames: head.varyFieldNames, url: head.url,
                host: head.host, status: head.status, fields: head.fields, requestTime: head.requestTime,
                responseTime: head.responseTime, softPurgedAt: head.softPurgedAt, tags: head.tags,
                bodyLength: head.bodyLength)
        default:
            throw HeadDecodingError.unknownVersion(found: version, newestKnown: currentFormatVersion)
        }
    }

    private static func decodeBinaryHead(_ data: Data) throws -> StoredResponse {
        try data.withUnsafeBytes { raw in
            var reader = HeadReader(bytes: raw)
            _ = try reader.byte()
            let version = Int(try reader.byte())
            guard version == 2 else { throw HeadDecodingError.unknownVersion(found: version, newestKnown: currentFormatVersion) }
            let key = try reader.string(), variantKey = try reader.string(), varyFieldNames = try reader.strings()
            let url = try reader.string(), host = try reader.string(), status = try reader.integer()
            let fieldCount = try reader.count()
            var pairs: [(String, String)] = []
            pairs.reserveCapacity(fieldCount)
            for _ in 0..<fieldCount { pairs.append((try reader.string(), try reader.string())) }
            let requestTime = try reader.timestamp(), responseTime = try reader.timestamp()
            let softPurgedAt: Timestamp? = try reader.byte() == 1 ? try reader.timestamp() : nil
            let tags = try reader.strings()
            let bodyLength = try reader.integer()
            guard reader.isAtEnd else { throw HeadDecodingError.malformed }
            return StoredResponse(
                key: key, variantKey: variantKey, varyFieldNames: varyFieldNames, url: url, host: host, status: status,
                fields: HeaderFields(pairs), requestTime: requestTime, responseTime: responseTime,
                softPurgedAt: softPurgedAt, tags: tags, bodyLength: bodyLength)
        }
    }
}

/// Appends layout-2 values (see the file header).
struct HeadWriter {
    var bytes: [UInt8] = []

    mutating func write(unsigned value: UInt64) {
        LEB128.append(value, to: &bytes)
    }

    /// Zigzag, so small negative numbers stay short.
    mutating func write(_ value: Int) {
        write(unsigned: UInt64(bitPattern: Int64((value << 1) ^ (value >> 63))))
    }

    mutating func write(_ text: String) {
        write(unsigned: UInt64(text.utf8.count))
        // A native string's bytes in one copy; the view's element-wise append otherwise.
        if text.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: text.utf8)
        }
    }

    /// The same form as a String's: its length, then its bytes.
    mutating func write(bytes text: UnsafeRawBufferPointer) {
        write(unsigned: UInt64(text.count))
        bytes.append(contentsOf: text)
    }

    mutating func write(_ texts: [String]) {
        write(unsigned: UInt64(texts.count))
        for text in texts { write(text) }
    }

    mutating func write(_ time: Timestamp) {
        withUnsafeBytes(of: time.seconds.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads layout-2 values; every read checks the bounds and throws `malformed` past the end.
struct HeadReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw StoredResponse.HeadDecodingError.malformed }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func unsigned() throws -> UInt64 {
        guard let value = LEB128.read(bytes, at: &offset) else { throw StoredResponse.HeadDecodingError.malformed }
        return value
    }

    mutating func integer() throws -> Int {
        let raw = try unsigned()
        return Int(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
    }

    /// A count or length, which can never exceed the bytes left.
    mutating func count() throws -> Int {
        let value = try unsigned()
        guard value <= UInt64(bytes.count - offset) else { throw StoredResponse.HeadDecodingError.malformed }
        return Int(value)
    }

    mutating func string() throws -> String {
        let length = try count()
        defer { offset += length }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self)
    }

    mutating func strings() throws -> [String] {
        let number = try count()
        var result: [String] = []
        result.reserveCapacity(number)
        for _ in 0..<number { result.append(try string()) }
        return result
    }

    mutating func timestamp() throws -> Timestamp {
        guard bytes.count - offset >= 8 else { throw StoredResponse.HeadDecodingError.malformed }
        var bits: UInt64 = 0
        withUnsafeMutableBytes(of: &bits) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 8])) }
        offset += 8
        return Timestamp(seconds: Double(bitPattern: UInt64(littleEndian: bits)))
    }
}
