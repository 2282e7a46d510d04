// CacheStatus: this node's member of the Cache-Status response field (RFC 9211).
//
// Invariants: the rendering follows the grammar exactly — `Cache-Status = sf-list`, the member is
// the cache's name (an sf-token when it is one, else an sf-string) with parameters `hit`
// (boolean), `fwd` (token), `fwd-status` (integer), `ttl` (integer, negative when stale),
// `stored` (boolean), `collapsed` (boolean), `key` (string) and `detail` (token or string).
// `hit` and `fwd` exclude each other (§2.1: hit "SHOULD NOT" appear with fwd); `fwd-status`,
// `stored` and `collapsed` only accompany `fwd` (§2.3, §2.5, §2.6).

/// One Cache-Status list member.
public struct CacheStatus: Hashable, Sendable, CustomStringConvertible {
    /// RFC 9211 §2.2 fwd values.
    public enum ForwardReason: String, Hashable, Sendable, CaseIterable {
        /// "The cache was configured to not handle this request."
        case bypass
        /// "The request method's semantics require the request to be forwarded."
        case method
        /// "The cache did not contain any responses that matched the request URI."
        case uriMiss = "uri-miss"
        /// "The cache contained a response that matched the request URI, but it could not select a
        /// response based upon this request's header fields and stored Vary header fields."
        case varyMiss = "vary-miss"
        /// "The cache did not contain any responses that could be used to satisfy this request."
        case miss
        /// "The cache was able to select a fresh response for the request, but the request's
        /// semantics (e.g., Cache-Control request directives) did not allow its use."
        case request
        /// "The cache was able to select a response for the request, but it was stale."
        case stale
        /// "The cache was able to select a partial response for the request, but it did not
        /// contain all of the requested ranges."
        case partial
    }

    public var cacheName: String
    public var hit: Bool
    public var forward: ForwardReason?
    public var forwardStatus: Int?
    public var timeToLive: Int?
    public var stored: Bool
    public var collapsed: Bool
    public var key: String?
    public var detail: String?

    public init(cacheName: String = "Outpost", hit: Bool = false, forward: ForwardReason? = nil,
                forwardStatus: Int? = nil, timeToLive: Int? = nil, stored: Bool = false,
                collapsed: Bool = false, key: String? = nil, detail: String? = nil) {
        self.cacheName = cacheName
        self.hit = hit
        self.forward = forward
        self.forwardStatus = forwardStatus
        self.timeToLive = timeToLive
        self.stored = stored
        self.collapsed = collapsed
        self.key = key
        self.detail = detail
    }

    /// A hit: `Outpost; hit; ttl=N` (N negative when served stale, with `detail` saying why).
    public static func hit(cacheName: String = "Outpost", timeToLive: Double, detail: String? = nil) -> CacheStatus {
        CacheStatus(cacheName: cacheName, hit: true, timeToLive: ttlInteger(timeToLive), detail: detail)
    }

    /// A forward: `Outpost; fwd=uri-miss; stored`, `fwd=stale; fwd-status=304`, …
    public static func forwarded(cacheName: String = "Outpost", _ reason: ForwardReason, status: Int? = nil,
                                 stored: Bool = false, collapsed: Bool = false, timeToLive: Double? = nil,
                                 detail: NotCachedReason? = nil) -> CacheStatus {
        CacheStatus(cacheName: cacheName, forward: reason, forwardStatus: status, timeToLive: timeToLive.map(ttlInteger),
                    stored: stored, collapsed: collapsed, detail: detail?.detail)
    }

    /// A forward caused by `reason`: `fwd` from the reason, `detail` its token.
    public static func forwarded(cacheName: String = "Outpost", because reason: NotCachedReason, status: Int? = nil,
                                 stored: Bool = false, collapsed: Bool = false) -> CacheStatus {
        forwarded(cacheName: cacheName, reason.forwardReason, status: status, stored: stored, collapsed: collapsed, detail: reason)
    }

    /// §2.4: ttl is an sf-integer; fractions are rounded toward negative infinity so a response
    /// with 0.5 s left reports 0 and one just past its lifetime reports -1.
    static func ttlInteger(_ seconds: Double) -> Int {
        guard seconds.isFinite else { return seconds > 0 ? 999_999_999_999_999 : -999_999_999_999_999 }
        return Int(max(min(seconds.rounded(.down), 999_999_999_999_999), -999_999_999_999_999))
    }

    /// The rendered member, e.g. `Outpost; fwd=stale; fwd-status=304`.
    public var description: String {
        var text = Self.tokenOrString(cacheName)
        text.reserveCapacity(text.utf8.count + 64)
        appendParameters(to: &text)
        return text
    }

    /// The member's parameters without the cache name, e.g. `; fwd=stale; fwd-status=304`
    /// (what an access log records next to a request).
    public var parameters: String {
        var text = ""
        appendParameters(to: &text)
        return text
    }

    /// Appends the parameters to `text`, in one string (no interpolation per parameter).
    private func appendParameters(to text: inout String) {
        if hit { text += "; hit" }
        if let forward, !hit {
            text += "; fwd="
            text += forward.rawValue
            if let forwardStatus {
                text += "; fwd-status="
                text += String(forwardStatus)
            }
        }
        if let timeToLive {
            text += "; ttl="
            text += String(timeToLive)
        }
        if stored, forward != nil, !hit { text += "; stored" }
        if collapsed, forward != nil, !hit { text += "; collapsed" }
        if let key {
            text += "; key="
            text += Self.string(key)
        }
        if let detail {
            text += "; detail="
            text += Self.tokenOrString(detail)
        }
    }

    /// The field value with this member appended to what upstream caches sent (§2: "caches add
    /// their own entry ... at the end of the list").
    public func appended(to upstream: String?) -> String {
        guard let upstream, !FieldSyntax.trimmed(upstream).isEmpty else { return description }
        return "\(upstream), \(description)"
    }

    /// sf-token when the text is one (RFC 9651 §3.3.4: ALPHA or "*" first, then tchar, ":" or "/").
    static func tokenOrString(_ text: String) -> String {
        FieldSyntax.withBytes(of: text, isToken) ? text : string(text)
    }

    private static func isToken(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first,
              (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A) || first == UInt8(ascii: "*")
        else { return false }
        for byte in bytes where !(FieldSyntax.isTokenCharacter(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "/")) {
            return false
        }
        return true
    }

    /// sf-string: printable ASCII with `"` and `\` escaped; other bytes become `?`.
    static func string(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"", "\\": result += "\\\(scalar)"
            case " "..."~": result.unicodeScalars.append(scalar)
            default: result += "?"
            }
        }
        return result + "\""
    }
}
