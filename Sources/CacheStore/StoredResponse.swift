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
    /// The URL when it is not read back from the key (see `url`).
    private(set) var urlUnlikeKey: String?
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
        self.init(key: key, variantKey: variantKey, varyFieldNames: varyFieldNames,
                  urlUnlikeKey: key == Self.plainKeyPrefix + url ? nil : url, host: host, status: status, fields: fields,
                  requestTime: requestTime, responseTime: responseTime, softPurgedAt: softPurgedAt, tags: tags,
                  bodyLength: bodyLength)
    }

    /// The same with the URL kept only when it is not read back from the key (`urlUnlikeKey`).
    init(
        key: String, variantKey: String, varyFieldNames: [String], urlUnlikeKey: String?, host: String, status: Int,
        fields: HeaderFields, requestTime: Timestamp, responseTime: Timestamp, softPurgedAt: Timestamp?, tags: [String],
        bodyLength: Int
    ) {
        self.key = key
        self.variantKey = variantKey
        self.varyFieldNames = varyFieldNames
        self.urlUnlikeKey = urlUnlikeKey
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

    /// Bytes this metadata costs in the memory tier: its packed form (`PackedResponse`: fixed
    /// fields, strings and packed header fields in one allocation) and the tier's bookkeeping
    /// for one object (`PackedResponse.bookkeepingCost`).
    public var metadataCost: Int {
        PackedResponse.fixedCost + PackedResponse.stringsLength(of: self)
    }
}

/// A stored variant with its complete body: in `body`, or, for a body the disk tier did not read
/// whole, in `bodyFile` (then `body` is empty). An entry read from the memory tier keeps the
/// tier's packed object and reads its body and kept head from there when asked, so a hit copies
/// nothing it does not send.
public struct StoredEntry: Sendable {
    /// Bodies up to this size are kept inside the memory tier's packed object (`PackedResponse`)
    /// and copied into each hit's buffer; larger ones are kept and sent as they are.
    public static let inlineBodyLimit = 16 * 1024

    public var response: StoredResponse {
        didSet { responseChanged = true }
    }
    /// The body as a buffer, unless it is read from `packed`.
    private var heldBody: ByteBuffer
    /// The encoded head as a buffer, unless it is read from `packed`.
    private var heldHead: ByteBuffer?
    /// The memory tier's object this entry was read from, and whether its body and kept head
    /// are still the entry's (setting `body` or `encodedHead` replaces them).
    private(set) var packed: PackedResponse?
    private var bodyIsPacked = false
    private var headIsPacked = false
    private var responseChanged = false

    /// The memory tier's object this entry was read from, while the entry still holds exactly
    /// what was read (its response and body unchanged).
    var unchangedPacked: PackedResponse? { responseChanged || !bodyIsPacked ? nil : packed }
    /// The body as an open, verified file, to be streamed in parts (see `BodyFile`).
    public var bodyFile: BodyFile?

    public init(response: StoredResponse, body: ByteBuffer) {
        self.response = response
        heldBody = body
    }

    public init(response: StoredResponse, bodyFile: BodyFile) {
        self.response = response
        heldBody = ByteBuffer()
        self.bodyFile = bodyFile
    }

    /// An entry read from the memory tier; `key` is the lookup's own String for the stored key.
    init(packed: PackedResponse, key: String) {
        response = packed.response(key: key)
        heldBody = ByteBuffer()
        self.packed = packed
        bodyIsPacked = true
        headIsPacked = true
    }

    /// The whole body; a hit writes it without copying (ByteBuffer is copy-on-write). Read from
    /// the memory tier's object, a small body is copied into a new buffer on each use: a hit
    /// that sends it copies it with `writeBody(into:)` instead.
    public var body: ByteBuffer {
        get { bodyIsPacked ? packed!.body : heldBody }
        set {
            heldBody = newValue
            bodyIsPacked = false
        }
    }

    /// The response head as hits send it, up to the fields that change per hit, once the front
    /// has encoded it (`CacheStorage.keepEncodedHead`). Opaque to the store; never persisted, and
    /// dropped whenever `response` is replaced, since it is derived from it.
    public var encodedHead: ByteBuffer? {
        get {
            guard headIsPacked else { return heldHead }
            guard let length = packed!.encodedHeadLength else { return nil }
            var head = ByteBufferAllocator().buffer(capacity: length)
            packed!.writeEncodedHead(into: &head)
            return head
        }
        set {
            heldHead = newValue
            headIsPacked = false
        }
    }

    /// The kept encoded head's length, without copying it; nil when none is kept.
    public var encodedHeadLength: Int? {
        headIsPacked ? packed!.encodedHeadLength : heldHead?.readableBytes
    }

    /// Appends the kept encoded head to `buffer` (nothing when none is kept).
    public func writeEncodedHead(into buffer: inout ByteBuffer) {
        if headIsPacked {
            packed!.writeEncodedHead(into: &buffer)
        } else if let heldHead {
            buffer.writeImmutableBuffer(heldHead)
        }
    }

    /// Appends the body to `buffer` (not a body left in its file).
    public func writeBody(into buffer: inout ByteBuffer) {
        if bodyIsPacked {
            packed!.writeBody(into: &buffer)
        } else {
            buffer.writeImmutableBuffer(heldBody)
        }
    }

    /// The body's length, wherever it is.
    public var bodyLength: Int { bodyFile?.length ?? (bodyIsPacked ? packed!.bodyLength : heldBody.readableBytes) }

    /// Bytes this entry costs in the memory tier: body, metadata and the encoded head if kept (a
    /// body left in its file costs nothing here).
    public var cost: Int { (bodyFile == nil ? bodyLength : 0) + response.metadataCost + (encodedHeadLength ?? 0) }
}
