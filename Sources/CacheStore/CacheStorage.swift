// The one narrow storage protocol every tier implements (memory, disk): look up the variants of a
// key, fill one through a streaming handle, update one after a revalidation, remove, and report
// what is held — and what a caller must know of a tier without knowing which it is (whether it
// may hold a key, its largest object, background work to stop), so no caller downcasts it.
// The memory tier never blocks; the disk tier blocks on I/O except in `mayHold`.
import CachePolicy
import NIOCore

public protocol CacheStorage: Sendable {
    /// Every stored variant of `key`, most recently stored first. Counts as a use for eviction.
    func variants(for key: String) -> [StoredEntry]
    /// The same, with bodies longer than `limit` left in their files (`StoredEntry.bodyFile`)
    /// by a tier that keeps bodies in files; a tier that holds them in memory returns them whole.
    func variants(for key: String, readingWholeUpTo limit: Int) -> [StoredEntry]
    /// Starts storing a response; its body arrives through the handle. Nothing is visible to
    /// `variants` until `commit`; a handle dropped or abandoned stores nothing.
    func beginFill(_ response: StoredResponse) -> any CacheFill
    /// Replaces the metadata of a stored variant (304 merge, HEAD freshening, soft purge),
    /// keeping its body. Returns false when the variant is no longer stored.
    @discardableResult
    func update(_ response: StoredResponse) -> Bool
    /// Removes every variant of `key`; returns how many went.
    @discardableResult
    func remove(key: String) -> Int
    /// Stores complete responses, each replacing its variant; returns how many were stored.
    /// A tier that writes durably may commit them together (the disk tier: one transaction).
    @discardableResult
    func store(_ entries: [StoredEntry]) -> Int
    /// Applies `action` to every stored variant `selection` matches; returns them.
    @discardableResult
    func purge(_ selection: PurgeSelection, action: PurgeAction) -> [PurgedVariant]
    /// Keeps `head`, the front's encoding of `entry`'s response head, with the stored variant, so
    /// later hits need not encode it again. Kept only while the variant still holds exactly
    /// `entry.response`; a tier that cannot keep it ignores it.
    func keepEncodedHead(_ head: ByteBuffer, for entry: StoredEntry)
    /// Objects and bytes held, evictions so far.
    var usage: StorageUsage { get }
    /// False when `variants(for: key)` would certainly find nothing; answered without I/O, so a
    /// caller on an event loop may ask before sending a read to a thread. True when unsure.
    func mayHold(key: String) -> Bool
    /// The largest body one stored response may have (the memory tier: one shard's share).
    var largestObjectBytes: Int { get }
    /// Stops what the tier does in the background (the disk tier's start-up reconciliation) at
    /// shutdown; the next start does it again.
    func stopBackgroundWork()
}

/// The write side of one fill. Not thread-safe: one writer.
public protocol CacheFill: AnyObject, Sendable {
    /// Appends body bytes. Returns false once the fill has been given up (too large for the
    /// tier); further parts are ignored.
    @discardableResult
    func append(_ part: ByteBuffer) -> Bool
    /// Publishes the response with the body appended so far. The caller has checked the body is
    /// complete (RFC 9111 §3.3). Returns whether it was stored.
    @discardableResult
    func commit() -> Bool
    /// Gives up: nothing is stored.
    func abandon()
}

extension CacheStorage {
    public func variants(for key: String, readingWholeUpTo limit: Int) -> [StoredEntry] { variants(for: key) }
    public func keepEncodedHead(_ head: ByteBuffer, for entry: StoredEntry) {}
    public func mayHold(key: String) -> Bool { true }
    public var largestObjectBytes: Int { .max }
    public func stopBackgroundWork() {}

    /// One fill per entry.
    @discardableResult
    public func store(_ entries: [StoredEntry]) -> Int {
        var stored = 0
        for entry in entries {
            let fill = beginFill(entry.response)
            if fill.append(entry.body), fill.commit() { stored += 1 } else { fill.abandon() }
        }
        return stored
    }
}

/// What a tier holds and what its eviction policy did. The counters beyond `evictions` are the
/// memory tier's (the disk tier leaves them empty); /stats and /metrics show them under these
/// names: evictions by reason, admission rejections, ghost hits, promotions.
public struct StorageUsage: Sendable, Hashable {
    public var objects: Int
    public var bytes: Int
    /// Entries evicted to make room (removals and purges are not evictions).
    public var evictions: Int
    /// The same, by the reason the policy gave (see `EvictionReason`).
    public var evictionsByReason: [EvictionReason: Int]
    /// Entries refused because they alone cost more than their shard holds.
    public var admissionRejections: Int
    /// Entries admitted straight to the protected queue because their key was a ghost (S3-FIFO).
    public var ghostHits: Int
    /// Entries moved from probation to the protected queue because they were used there (S3-FIFO).
    public var promotions: Int

    public init(objects: Int = 0, bytes: Int = 0, evictions: Int = 0, evictionsByReason: [EvictionReason: Int] = [:],
                admissionRejections: Int = 0, ghostHits: Int = 0, promotions: Int = 0) {
        self.objects = objects
        self.bytes = bytes
        self.evictions = evictions
        self.evictionsByReason = evictionsByReason
        self.admissionRejections = admissionRejections
        self.ghostHits = ghostHits
        self.promotions = promotions
    }

    /// The sum of two tiers' or shards' usage.
    public static func + (left: StorageUsage, right: StorageUsage) -> StorageUsage {
        StorageUsage(
            objects: left.objects + right.objects, bytes: left.bytes + right.bytes, evictions: left.evictions + right.evictions,
            evictionsByReason: left.evictionsByReason.merging(right.evictionsByReason, uniquingKeysWith: +),
            admissionRejections: left.admissionRejections + right.admissionRejections,
            ghostHits: left.ghostHits + right.ghostHits, promotions: left.promotions + right.promotions)
    }
}
