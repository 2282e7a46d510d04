// The stored form of a response: what the cache keeps besides the body, and the identity of one
// variant. Persistent formats carry a version from the first day: `formatVersion` names the
// layout of this struct's encoding (the disk tier stores it; older versions upgrade on read).
// Invariant: `fields` never holds hop-by-hop fields or fields the policy said to omit.
import CachePolicy
import NIOCore

public struct StoredResponse: Sendable, Hashable {
    /// The encoding version of this metadata. 1: JSON; 2: binary (StoredResponse+Encoding).
    public static let currentFormatVersion = 2

    public var formatVersion: Int = StoredResponse.currentFormatVersion
    /// The primary cache key (RFC 9111 §2): method class + normalised target URI.
    /// Never changed once stored: `url` may be read back from it.
    public let key: String
    /// The normalised values of the Vary'd request fields (RFC 9111 §4.1); "" without Vary.
    public var variantKey: String
    /// The field names this response varies on (lower-case, sorted).
    public var varyFieldNames: [String]
    /// The request URI it answers, for listing and purging by prefix. Kept only when the key is
    /// not simply `GET ` and the URI (a normalised query, say): usually it is, and the URI is read
    /// back from the key rather than held twice.
    public var url: String {
        get { urlUnlikeKey ?? String(key.utf8.dropFirst(Self.plainKeyPrefix.utf8.count))! }
        set { urlUnlikeKey = key == Self.plainKeyPrefix + newValue ? nil : newValue }
    }
    private var urlUnlikeKey: String?
    private static let plainKeyPrefix = "GET "
    public var host: String
    public var status: Int
    public var fields: HeaderFields
    /// §4.2.3 request_time and response_time.
    public var requestTime: Timestamp
    public var responseTime: Timestamp
    /// When an operator soft-purged it, if ever.
    public var softPurgedAt: Timestamp?
    /// Surrogate-Key / Cache-Tag / Cache-Groups values, for purging by tag.
    public var tags: [String]
    public var bodyLength: Int
    /// The policy's facts about this response, derived when it was stored or updated so a hit
    /// does not parse its fields again. Derived, never persisted: recomputed when absent.
    public var reuseFacts: ReuseFacts?

    public init(
        key: String, variantKey: String, varyFieldNames: [String], url: String, host: String, status: Int,
        fields: HeaderFields, requestTime: Timestamp, responseTime: Timestamp, softPurgedAt: Timestamp? = nil,
        tags: [String] = [], bodyLength: Int
    ) {
        self.key = key
        self.variantKey = variantKey
        self.varyFieldNames = varyFieldNames
        self.urlUnlikeKey = key == Self.plainKeyPrefix + url ? nil : url
        self.host = host
        self.status = status
        self.fields = fields
        self.requestTime = requestTime
        self.responseTime = responseTime
        self.softPurgedAt = softPurgedAt
        self.tags = tags
        self.bodyLength = bodyLength
    }

    /// The policy's view of it.
    public var cached: CachedResponse<HeaderFields> {
        CachedResponse(status: status, fields: fields, requestTime: requestTime, responseTime: responseTime, softPurgedAt: softPurgedAt)
    }

    /// Bytes this metadata costs in memory, estimated: fields, key, URL (when held) and fixed overhead.
    public var metadataCost: Int {
        var cost = 256 + key.utf8.count + variantKey.utf8.count + (urlUnlikeKey?.utf8.count ?? 0) + host.utf8.count
        cost += fields.packedByteCount + 32  // one array holds every line (HeaderFields)
        for tag in tags { cost += tag.utf8.count + 16 }
        return cost
    }
}

/// A stored variant with its complete body: in `body`, or, for a body the disk tier did not read
/// whole, in `bodyFile` (then `body` is empty).
public struct StoredEntry: Sendable {
    public var response: StoredResponse
    /// The whole body; a hit writes it without copying (ByteBuffer is copy-on-write).
    public var body: ByteBuffer
    /// The body as an open, verified file, to be streamed in parts (see `BodyFile`).
    public var bodyFile: BodyFile?
    /// The response head as hits send it, up to the fields that change per hit, once the front
    /// has encoded it (`CacheStorage.keepEncodedHead`). Opaque to the store; never persisted, and
    /// dropped whenever `response` is replaced, since it is derived from it.
    public var encodedHead: ByteBuffer?

    public init(response: StoredResponse, body: ByteBuffer) {
        self.response = response
        self.body = body
    }

    public init(response: StoredResponse, bodyFile: BodyFile) {
        self.response = response
        self.body = ByteBuffer()
        self.bodyFile = bodyFile
    }

    /// The body's length, wherever it is.
    public var bodyLength: Int { bodyFile?.length ?? body.readableBytes }

    /// Bytes this entry costs in memory: body, metadata and the encoded head if kept (a body
    /// left in its file costs nothing here).
    public var cost: Int { body.readableBytes + response.metadataCost + (encodedHead?.readableBytes ?? 0) }
}
