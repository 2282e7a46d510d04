// Invalidation: what a response to an unsafe request invalidates (RFC 9111 §4.4; RFC 9875 HTTP
// Cache Groups), and the tags a stored response can be purged by.
//
// Invariants: only non-error responses (2xx, 3xx) to unsafe methods invalidate; other URIs
// (Location, Content-Location) only when they share the target's origin (scheme, host, port),
// so one origin can never invalidate another's entries. Groups are scoped to the target's
// origin too: the store applies `groups` only to entries of `target`'s origin.

/// A request target in absolute form, split into its cache-relevant parts.
public struct RequestTarget: Hashable, Sendable, CustomStringConvertible {
    public var scheme: String
    /// host[:port]
    public var authority: String
    /// Absolute path plus optional `?query`.
    public var pathAndQuery: String

    public init(scheme: String, authority: String, pathAndQuery: String) {
        self.scheme = scheme
        self.authority = authority
        self.pathAndQuery = pathAndQuery.isEmpty ? "/" : pathAndQuery
    }

    /// The origin (RFC 9110 §4.3.1) normalised for comparison: lower-cased, default port dropped.
    public var origin: String {
        let lowerScheme = FieldSyntax.lowercased(scheme)
        return "\(lowerScheme)://\(PrimaryKey.normalisedAuthority(authority, scheme: lowerScheme))"
    }

    public var description: String { "\(scheme)://\(authority)\(pathAndQuery)" }
}

/// What a response invalidates.
public struct InvalidationEffect: Hashable, Sendable {
    /// Every stored response (all variants) for these URIs.
    public var targets: [RequestTarget]
    /// Every stored response of the target's origin in these groups (RFC 9875).
    public var groups: [String]

    public init(targets: [RequestTarget] = [], groups: [String] = []) {
        self.targets = targets
        self.groups = groups
    }
}

/// Invalidation by unsafe requests, and purge tags.
public enum Invalidation {
    /// RFC 9110 §9.2.1: GET, HEAD, OPTIONS and TRACE are safe. Every other method — including
    /// unknown ones — is treated as unsafe (§4.4: "including methods whose safety is unknown").
    public static func isSafe(method: String) -> Bool {
        ["GET", "HEAD", "OPTIONS", "TRACE"].contains(method)
    }

    /// §4.4: "A cache MUST invalidate the target URI when it receives a non-error status code in
    /// response to an unsafe request method"; it "MAY invalidate other URIs" from Location and
    /// Content-Location, but "MUST NOT trigger an invalidation under these conditions if the origin
    /// ... of the URI to be invalidated differs from that of the target URI".
    public static func effect(method: String, status: Int, target: RequestTarget,
                              response: some HTTPFieldReading) -> InvalidationEffect {
        guard !isSafe(method: method), (200..<400).contains(status) else { return InvalidationEffect() }
        var targets = [target]
        for name in ["Location", "Content-Location"] {
            let values = response.fieldValues(name)
            guard values.count == 1, let resolved = resolve(values[0], against: target),
                  resolved.origin == target.origin, !targets.contains(resolved) else { continue }
            targets.append(resolved)
        }
        // RFC 9875 §3: Cache-Group-Invalidation on a response to an unsafe request invalidates the
        // named groups (ignored on responses to safe methods).
        return InvalidationEffect(targets: targets, groups: cacheGroups(response.fieldValues("Cache-Group-Invalidation")))
    }

    /// The strings of an sf-list (RFC 9875 Cache-Groups / Cache-Group-Invalidation): members that
    /// are not strings are ignored; an unparsable field is ignored as a whole (RFC 9651 §4.2).
    public static func cacheGroups(_ lines: [String]) -> [String] {
        guard let items = StructuredFields.list(lines) else { return [] }
        var groups: [String] = []
        for case .string(let group) in items where !groups.contains(group) { groups.append(group) }
        return groups
    }

    /// The purge tags of a response: `Surrogate-Key` (space separated), `Cache-Tag` (comma
    /// separated) and the `Cache-Groups` strings, de-duplicated in that order.
    public static func tags(_ response: some HTTPFieldReading) -> [String] {
        var tags: [String] = []
        func add(_ tag: String) {
            if !tag.isEmpty, !tags.contains(tag) { tags.append(tag) }
        }
        for line in response.fieldValues("Surrogate-Key") {
            for tag in line.split(whereSeparator: { $0 == " " || $0 == "\t" }) { add(String(tag)) }
        }
        for tag in response.listMembers("Cache-Tag") { add(tag) }
        for group in cacheGroups(response.fieldValues("Cache-Groups")) { add(group) }
        return tags
    }

    /// Resolves a URI reference against the target (RFC 3986 §5.2.2). Nil when the result is not an
    /// http(s) URI with an authority.
    public static func resolve(_ reference: String, against base: RequestTarget) -> RequestTarget? {
        var rest = Substring(FieldSyntax.trimmed(reference))
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var scheme: String?
        if let colon = rest.firstIndex(of: ":"), let first = rest.first, first.isLetter,
           rest[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }) {
            scheme = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        var authority: String?
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            authority = String(rest[..<end])
            rest = rest[end...]
        }
        var path = rest, query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            path = rest[..<mark]
            query = rest[rest.index(after: mark)...]
        }
        let baseParts = base.pathAndQuery.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let basePath = baseParts[0], baseQuery = baseParts.count > 1 ? baseParts[1] : nil

        let targetScheme: String, targetAuthority: String, targetPath: String, targetQuery: Substring?
        if let scheme {
            guard let authority else { return nil }
            (targetScheme, targetAuthority) = (scheme, authority)
            targetPath = removingDotSegments(String(path))
            targetQuery = query
        } else if let authority {
            (targetScheme, targetAuthority) = (base.scheme, authority)
            targetPath = removingDotSegments(String(path))
            targetQuery = query
        } else {
            (targetScheme, targetAuthority) = (base.scheme, base.authority)
            if path.isEmpty {
                targetPath = String(basePath)
                targetQuery = query ?? baseQuery
            } else {
                if path.hasPrefix("/") {
                    targetPath = removingDotSegments(String(path))
                } else {
                    let directory = basePath.lastIndex(of: "/").map { basePath[...$0] } ?? "/"
                    targetPath = removingDotSegments(String(directory) + String(path))
                }
                targetQuery = query
            }
        }
        let lowerScheme = FieldSyntax.lowercased(targetScheme)
        guard lowerScheme == "http" || lowerScheme == "https", !targetAuthority.isEmpty else { return nil }
        let pathAndQuery = (targetPath.isEmpty ? "/" : targetPath) + (targetQuery.map { "?\($0)" } ?? "")
        return RequestTarget(scheme: lowerScheme, authority: targetAuthority, pathAndQuery: pathAndQuery)
    }

    /// RFC 3986 §5.2.4 remove_dot_segments.
    static func removingDotSegments(_ path: String) -> String {
        var input = Substring(path)
        var output: [Substring] = []
        while !input.isEmpty {
            if input.hasPrefix("../") { input = input.dropFirst(3) }
            else if input.hasPrefix("./") { input = input.dropFirst(2) }
            else if input.hasPrefix("/./") { input = input.dropFirst(2) }
            else if input == "/." { input = "/" }
            else if input.hasPrefix("/../") { input = input.dropFirst(3); if !output.isEmpty { output.removeLast() } }
            else if input == "/.." { input = "/"; if !output.isEmpty { output.removeLast() } }
            else if input == "." || input == ".." { input = "" }
            else {
                let searchStart = input.hasPrefix("/") ? input.index(after: input.startIndex) : input.startIndex
                let end = input[searchStart...].firstIndex(of: "/") ?? input.endIndex
                output.append(input[..<end])
                input = input[end...]
            }
        }
        return output.joined()
    }
}
