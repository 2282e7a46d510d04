// The JSON the admin API speaks, declared once: the node encodes these types and `outpostctl`
// decodes them, so the two cannot drift apart. docs/admin-api.yaml (OpenAPI) describes the same
// shapes for other clients. Field names are the JSON keys; optional fields are omitted or null.
//
// Invariant: a change that removes or renames a field bumps `AdminAPI.version`; adding a field
// does not.
import CacheStore

public enum AdminAPI {
    /// The version of these messages, served by /healthz.
    public static let version = 1
    /// The environment variable the node and outpostctl read the admin token from.
    public static let tokenEnvironmentVariable = "OUTPOST_ADMIN_TOKEN"
    /// The cookie the status page accepts the token in (browsers cannot send a bearer header).
    public static let tokenCookie = "outpost_admin_token"
    /// The file, in the cache directory, that holds a generated token (mode 0600).
    public static let tokenFileName = "admin-token"
}

/// `POST /purge`: exactly one of `url`, `prefix`, `tag` or `all: true`.
public struct PurgeRequest: Codable, Sendable, Equatable {
    /// An absolute URL (`http://host/path?query`): every Vary variant of it.
    public var url: String?
    /// `http://host/path` or `https://…` (that scheme), `host/path` (both schemes), or `/path` (every host).
    public var prefix: String?
    /// A Surrogate-Key, Cache-Tag or Cache-Groups value.
    public var tag: String?
    public var all: Bool?
    /// Mark stale instead of deleting: the next request revalidates; stale-while-revalidate and
    /// stale-if-error still apply.
    public var soft: Bool?
    /// Count what would be purged; change nothing.
    public var dryRun: Bool?

    public init(url: String? = nil, prefix: String? = nil, tag: String? = nil, all: Bool? = nil, soft: Bool? = nil, dryRun: Bool? = nil) {
        self.url = url
        self.prefix = prefix
        self.tag = tag
        self.all = all
        self.soft = soft
        self.dryRun = dryRun
    }
}

/// What a purge did (or, for a dry run, would do).
public struct PurgeReceipt: Codable, Sendable, Equatable {
    /// "url", "prefix", "tag" or "all".
    public var mode: String
    /// The URL, prefix or tag; nil for "all".
    public var value: String?
    public var soft: Bool
    public var dryRun: Bool
    /// Distinct URLs (primary keys) affected, across memory and disk.
    public var objects: Int
    /// Stored variants affected, across memory and disk (a variant in both counts once).
    public var variants: Int
    /// Body bytes of those variants.
    public var bytes: Int
    public var memory: TierCount
    /// Nil when the node has no disk tier.
    public var disk: TierCount?
    /// Wall time from receiving the request to the receipt (memory and index both applied).
    public var milliseconds: Double

    public init(mode: String, value: String?, soft: Bool, dryRun: Bool, objects: Int, variants: Int, bytes: Int,
                memory: TierCount, disk: TierCount?, milliseconds: Double) {
        self.mode = mode
        self.value = value
        self.soft = soft
        self.dryRun = dryRun
        self.objects = objects
        self.variants = variants
        self.bytes = bytes
        self.memory = memory
        self.disk = disk
        self.milliseconds = milliseconds
    }
}

public struct TierCount: Codable, Sendable, Equatable {
    public var variants: Int
    public var bytes: Int
    public init(variants: Int, bytes: Int) {
        self.variants = variants
        self.bytes = bytes
    }
}

/// Every error: a status code and this body.
public struct ErrorMessage: Codable, Sendable, Equatable {
    public var error: String
    public init(error: String) { self.error = error }
}

/// `GET /healthz` (no token needed).
public struct Health: Codable, Sendable, Equatable {
    public var status: String
    public var version: Int
    public init(status: String = "ok", version: Int = AdminAPI.version) {
        self.status = status
        self.version = version
    }
}

/// `GET /readyz`: 200 when ready, 503 otherwise, with the same body.
public struct Readiness: Codable, Sendable, Equatable {
    public var ready: Bool
    public var listening: Bool
    /// Nil when the node has no disk tier.
    public var indexOpen: Bool?
    public var healthyOrigins: Int
    public var origins: Int
    public init(ready: Bool, listening: Bool, indexOpen: Bool?, healthyOrigins: Int, origins: Int) {
        self.ready = ready
        self.listening = listening
        self.indexOpen = indexOpen
        self.healthyOrigins = healthyOrigins
        self.origins = origins
    }
}

/// `GET /entries`: one page of stored variants and the cursor of the next page (nil at the end).
public struct EntriesPage: Codable, Sendable {
    public var entries: [IndexEntry]
    public var nextCursor: String?
    public init(entries: [IndexEntry], nextCursor: String?) {
        self.entries = entries
        self.nextCursor = nextCursor
    }
}

/// `GET /entry?url=`: every stored variant of one URL (404 when none).
public struct EntryReport: Codable, Sendable {
    public var url: String
    public var variants: [IndexEntry]
    public init(url: String, variants: [IndexEntry]) {
        self.url = url
        self.variants = variants
    }
}

/// `GET /entry?url=` when nothing is stored for the URL: 404 with this body. `error` reads as a
/// sentence (as every error does); `lastDeclined` is the last time the node declined to store
/// the URL and why, when it remembers one.
public struct EntryAbsence: Codable, Sendable, Equatable {
    public var error: String
    public var url: String
    public var lastDeclined: Decline?

    public init(error: String, url: String, lastDeclined: Decline?) {
        self.error = error
        self.url = url
        self.lastDeclined = lastDeclined
    }

    /// One decline: `reason` is the NotCachedReason's token, the same as Cache-Status's `detail`
    /// (`private`, `no-store`, `set-cookie`, `too-large`, `rule-bypass`, `vary-star`, …).
    public struct Decline: Codable, Sendable, Equatable {
        public var reason: String
        /// When, in seconds since the Unix epoch.
        public var at: Double
        /// How long before the answer was made, in seconds.
        public var secondsAgo: Double
        public init(reason: String, at: Double, secondsAgo: Double) {
            self.reason = reason
            self.at = at
            self.secondsAgo = secondsAgo
        }
    }
}

/// `POST /reload`: what a reload applied live, and what changed but waits for a restart.
public struct ReloadReport: Codable, Sendable, Equatable {
    /// e.g. "rules (4)", "origins", "certificates (2)", "log-level debug".
    public var applied: [String]
    /// Settings that differ from the running ones but only a restart applies (e.g. "--listen").
    public var needsRestart: [String]

    public init(applied: [String], needsRestart: [String]) {
        self.applied = applied
        self.needsRestart = needsRestart
    }
}
