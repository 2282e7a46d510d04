// PrimaryKey: the cache key of a request — method class plus normalised target URI
// (RFC 9111 §2: "The primary cache key consists of the request method and target URI").
//
// Invariants: two requests for the same resource produce byte-identical keys — scheme and host
// lower-cased (RFC 3986 §6.2.2.1), default port dropped (§6.2.3), percent-encoding hex
// upper-cased, an empty path becomes "/", the fragment dropped, and the query normalised as the
// rules say (tracking parameters removed, parameters sorted). GET and HEAD share a key because a
// HEAD can be answered from a stored GET (RFC 9110 §9.3.2).

/// The methods whose responses share stored entries.
public enum MethodClass: String, Hashable, Sendable {
    /// GET and HEAD.
    case retrieval = "GET"

    /// The class of a request method, or nil when responses to it are never stored (RFC 9111 §3:
    /// only GET is stored here; POST caching via Content-Location is not implemented).
    public init?(method: String) {
        switch method {
        case "GET", "HEAD": self = .retrieval
        default: return nil
        }
    }
}

/// Builds primary keys.
public enum PrimaryKey {
    /// The key of a forward-proxy request for the same URL as `key`: kept apart from the reverse
    /// listeners' keys, where the Host field is the client's word rather than where the request
    /// went (a reverse request naming a bank's host must never fill the bank's forward entry).
    public static func forward(_ key: String) -> String { "forward " + key }

    /// The key string: `GET https://example.com/path?query`.
    public static func make(methodClass: MethodClass, scheme: String, host: String, pathAndQuery: String,
                            settings: RuleSettings) -> String {
        plainKey(methodClass: methodClass, scheme: scheme, host: host, pathAndQuery: pathAndQuery)
            ?? plainQueryKey(methodClass: methodClass, scheme: scheme, host: host, pathAndQuery: pathAndQuery, key: settings.key)
            ?? normalisedKey(methodClass: methodClass, scheme: scheme, host: host, pathAndQuery: pathAndQuery, settings: settings)
    }

    /// The key of a plain path with a query that normalising leaves as it is — no empty
    /// parameter, no percent-encoding or fragment, no parameter the rules drop, and already in
    /// order by name when the rules sort — built without splitting it into strings; nil
    /// otherwise. Always equal to what `normalisedKey` builds for the same input.
    static func plainQueryKey(methodClass: MethodClass, scheme: String, host: String, pathAndQuery: String,
                              key: KeyNormalisation) -> String? {
        // One pass over the bytes in place; a non-ASCII byte leaves the work to the general path
        // (whose name ordering is String's, equal to the bytes' only for ASCII).
        let queryStart: Int?? = pathAndQuery.utf8.withContiguousStorageIfAvailable { bytes -> Int? in
            guard let mark = bytes.firstIndex(of: UInt8(ascii: "?")), mark + 1 < bytes.count else { return nil }
            var parameterStart = mark + 1, nameEnd: Int?
            var previousName: Range<Int>?
            for index in parameterStart...bytes.count {
                let byte = index < bytes.count ? bytes[index] : UInt8(ascii: "&")
                switch byte {
                case UInt8(ascii: "%"), UInt8(ascii: "#"), UInt8(ascii: "?"), 0x80...:
                    return nil
                case UInt8(ascii: "="):
                    if nameEnd == nil { nameEnd = index }
                case UInt8(ascii: "&"):
                    guard index > parameterStart else { return nil }
                    let name = parameterStart..<(nameEnd ?? index)
                    let nameBytes = UnsafeBufferPointer(rebasing: bytes[name])
                    if !key.dropQueryParameters.isEmpty, key.dropQueryParameters.contains(where: { $0.matches(bytes: nameBytes) }) {
                        return nil
                    }
                    if key.sortQuery, let previousName,
                       nameBytes.lexicographicallyPrecedes(UnsafeBufferPointer(rebasing: bytes[previousName])) {
                        return nil
                    }
                    previousName = name
                    parameterStart = index + 1
                    nameEnd = nil
                default:
                    break
                }
            }
            return mark
        }
        guard let queryStart, let mark = queryStart else { return nil }
        let utf8 = pathAndQuery.utf8
        let markIndex = utf8.index(utf8.startIndex, offsetBy: mark)
        guard var plain = plainKey(methodClass: methodClass, scheme: scheme, host: host,
                                   pathAndQuery: String(pathAndQuery[..<markIndex])) else { return nil }
        plain += pathAndQuery[markIndex...]
        return plain
    }

    /// The key when nothing in the request needs normalising — a lower-case `http`/`https`
    /// scheme, a lower-case host with no brackets or trailing dot and either no port or a
    /// non-default one, and a path with no query, fragment or percent-encoding — found in one
    /// pass over the bytes; nil otherwise. Always equal to what `normalisedKey` builds for the
    /// same input (the hit path's common case).
    static func plainKey(methodClass: MethodClass, scheme: String, host: String, pathAndQuery: String) -> String? {
        guard scheme == "http" || scheme == "https" else { return nil }
        var hostEnd = 0, colons = 0, portDigits = 0, port = 0
        for byte in host.utf8 {
            if byte == UInt8(ascii: ":") {
                colons += 1
            } else if colons == 0 {
                if (byte >= 0x41 && byte <= 0x5A) || byte == UInt8(ascii: "[") { return nil }
                hostEnd += 1
            } else {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"), portDigits < 5 else { return nil }
                portDigits += 1
                port = port * 10 + Int(byte - UInt8(ascii: "0"))
            }
        }
        // RFC 3986 §6.2.3: an empty or default port is dropped, which the general path does.
        guard hostEnd > 0, colons == 0 || (colons == 1 && portDigits > 0 && port != (scheme == "https" ? 443 : 80)),
              host.utf8[host.utf8.index(host.utf8.startIndex, offsetBy: hostEnd - 1)] != UInt8(ascii: ".")
        else { return nil }
        guard pathAndQuery.utf8.first == UInt8(ascii: "/") else { return nil }
        for byte in pathAndQuery.utf8 where byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") || byte == UInt8(ascii: "%") {
            return nil
        }
        var key = methodClass.rawValue
        key.reserveCapacity(key.utf8.count + scheme.utf8.count + host.utf8.count + pathAndQuery.utf8.count + 4)
        key += " "
        key += scheme
        key += "://"
        key += host
        key += pathAndQuery
        return key
    }

    /// The key by the general rules (see the file's invariants).
    static func normalisedKey(methodClass: MethodClass, scheme: String, host: String, pathAndQuery: String,
                              settings: RuleSettings) -> String {
        let lowerScheme = FieldSyntax.lowercased(scheme)
        let authority = normalisedAuthority(host, scheme: lowerScheme)
        return "\(methodClass.rawValue) \(lowerScheme)://\(authority)\(normalisedPathAndQuery(pathAndQuery, key: settings.key))"
    }

    /// Lower-cased host with the scheme's default port removed (RFC 3986 §6.2.3).
    public static func normalisedAuthority(_ authority: String, scheme: String) -> String {
        let lower = FieldSyntax.lowercased(authority)
        var host = hostWithoutPort(lower)
        var port = String(lower.dropFirst(host.count))
        if host.hasSuffix(".") { host.removeLast() }
        let defaultPort = FieldSyntax.lowercased(scheme) == "https" ? ":443" : ":80"
        if port == defaultPort || port == ":" { port = "" }
        return host + port
    }

    /// The host without a port (IPv6 literals keep their brackets).
    public static func hostWithoutPort(_ authority: String) -> String {
        // Over the bytes in place; a new string only when there is a port to leave out.
        guard let end = FieldSyntax.withBytes(of: authority, hostEnd) else { return authority }
        return String(decoding: authority.utf8.prefix(end), as: UTF8.self)
    }

    /// Where the host of `bytes` ends when a port follows it (a bracketed IPv6 literal keeps its
    /// brackets; a bare IPv6 address, with more than one colon, is all host); nil when no port does.
    private static func hostEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        if bytes.first == UInt8(ascii: "["), let close = bytes.firstIndex(of: UInt8(ascii: "]")) {
            return close + 1 == bytes.count ? nil : close + 1
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
              !bytes[(colon + 1)...].contains(UInt8(ascii: ":"))
        else { return nil }
        return colon
    }

    /// Path and query with percent-encodings upper-cased, the fragment removed and the query
    /// normalised per `key`.
    public static func normalisedPathAndQuery(_ pathAndQuery: String, key: KeyNormalisation) -> String {
        var text = Substring(pathAndQuery)
        if let hash = text.firstIndex(of: "#") { text = text[..<hash] }
        let parts = text.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var path = uppercasingPercentEncodings(parts[0])
        if path.isEmpty { path = "/" }
        guard parts.count == 2 else { return path }
        let query = normalisedQuery(parts[1], key: key)
        return query.isEmpty ? path : "\(path)?\(query)"
    }

    /// Drops matching parameters and optionally sorts the rest by name (stable). Parameters are
    /// compared by their raw (still encoded) names.
    public static func normalisedQuery(_ query: Substring, key: KeyNormalisation) -> String {
        var parameters = query.split(separator: "&", omittingEmptySubsequences: true).map {
            uppercasingPercentEncodings($0)
        }
        if !key.dropQueryParameters.isEmpty {
            parameters.removeAll { parameter in
                let name = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
                return key.dropQueryParameters.contains { $0.matches(name) }
            }
        }
        if key.sortQuery {
            parameters = parameters.enumerated().sorted { lhs, rhs in
                let left = name(of: lhs.element), right = name(of: rhs.element)
                return left != right ? left < right : lhs.offset < rhs.offset
            }.map(\.element)
        }
        return parameters.joined(separator: "&")
    }

    /// The request target to send to the origin for a cacheable request: the target as received,
    /// without the query parameters the key drops (the same parameters, split on `&` exactly as
    /// the key splits them, so `utm_content=x;callback=evil` goes as one). Order and encoding of
    /// the rest are kept.
    public static func targetWithoutDroppedParameters(_ target: String, key: KeyNormalisation) -> String {
        guard !key.dropQueryParameters.isEmpty, let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return target }
        // The common case, checked over the bytes in place without splitting: no parameter name
        // is dropped (and none is percent-encoded, which would need its encodings compared in
        // upper case).
        if !Self.dropsAnyParameter(inQueryOf: target, key: key) { return target }
        let path = target[..<mark]
        var query = target[target.index(after: mark)...]
        var fragment: Substring = ""
        if let hash = query.firstIndex(of: "#") { fragment = query[hash...]; query = query[..<hash] }
        let kept = query.split(separator: "&", omittingEmptySubsequences: true).filter { parameter in
            let name = uppercasingPercentEncodings(parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0])
            return !key.dropQueryParameters.contains { $0.matches(name) }
        }
        guard kept.count != query.split(separator: "&", omittingEmptySubsequences: true).count else { return target }
        return kept.isEmpty ? "\(path)\(fragment)" : "\(path)?\(kept.joined(separator: "&"))\(fragment)"
    }

    /// Whether a parameter of `target`'s query (up to any fragment) may be dropped by the rules:
    /// true when one is, or when a name is percent-encoded (the caller then compares it properly).
    private static func dropsAnyParameter(inQueryOf target: String, key: KeyNormalisation) -> Bool {
        FieldSyntax.withBytes(of: target) { bytes in
            guard let mark = bytes.firstIndex(of: UInt8(ascii: "?")) else { return false }
            var start = mark + 1
            while start < bytes.count {
                var end = start, nameEnd: Int?
                while end < bytes.count, bytes[end] != UInt8(ascii: "&"), bytes[end] != UInt8(ascii: "#") {
                    if nameEnd == nil, bytes[end] == UInt8(ascii: "=") { nameEnd = end }
                    end += 1
                }
                let name = UnsafeBufferPointer(rebasing: bytes[start..<(nameEnd ?? end)])
                if name.contains(UInt8(ascii: "%")) || key.dropQueryParameters.contains(where: { $0.matches(bytes: name) }) {
                    return true
                }
                guard end < bytes.count, bytes[end] == UInt8(ascii: "&") else { break }
                start = end + 1
            }
            return false
        }
    }

    private static func name(of parameter: String) -> Substring {
        parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
    }

    private static func uppercasingPercentEncodings(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count {
                for offset in 1...2 where bytes[index + offset] >= 0x61 && bytes[index + offset] <= 0x66 {
                    bytes[index + offset] -= 0x20
                }
                index += 3
            } else {
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
