// The four forms of a request target (RFC 9112 §3.2): origin-form `/path?query`, absolute-form
// `http://host:port/path?query`, authority-form `host:port` (CONNECT only) and asterisk-form `*`
// (server-wide OPTIONS only). Pure: a target string in, its parts out, nil when malformed.
//
// Invariants: an authority never carries userinfo (RFC 9110 §4.2.4: a sender MUST NOT generate
// it, and accepting it would let `http://trusted@evil/` read as two hosts); a host is a
// reg-name of token characters, an IPv4 address or a bracketed IPv6 literal; a port is 1-65535.
// The authority is returned as written (case and all): the cache key normalises it, once.

public enum RequestTargetForm: Equatable, Sendable {
    case origin(pathAndQuery: String)
    /// `scheme` lower-cased; `pathAndQuery` is "/" when the URI has no path.
    case absolute(scheme: String, authority: Authority, pathAndQuery: String)
    case authority(Authority)
    case asterisk

    public struct Authority: Equatable, Sendable, CustomStringConvertible {
        /// As written: a name, an IPv4 address, or an IPv6 literal without its brackets.
        public var host: String
        public var port: Int?
        /// `host[:port]` as a Host field carries it (IPv6 literals bracketed).
        public var description: String {
            var text = host.utf8.contains(UInt8(ascii: ":")) ? "[" + host + "]" : host
            if let port {
                text += ":"
                text += String(port)
            }
            return text
        }

        public init(host: String, port: Int?) {
            self.host = host
            self.port = port
        }

        /// Parses `host[:port]`; nil on userinfo, an empty or invalid host, or a bad port. Reads
        /// bytes: every character allowed is ASCII, so anything else fails a byte test.
        public init?(parsing text: Substring) {
            let bytes = text.utf8
            guard let first = bytes.first, !bytes.contains(UInt8(ascii: "@")) else { return nil }
            let hostRange: Range<String.Index>
            var portRange: Range<String.Index>?
            if first == UInt8(ascii: "[") {
                guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
                hostRange = bytes.index(after: bytes.startIndex)..<close
                let afterClose = bytes.index(after: close)
                if afterClose != bytes.endIndex {
                    guard bytes[afterClose] == UInt8(ascii: ":") else { return nil }
                    portRange = bytes.index(after: afterClose)..<bytes.endIndex
                }
                guard !hostRange.isEmpty, bytes[hostRange].allSatisfy({ Self.isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
                else { return nil }
            } else {
                if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
                    hostRange = bytes.startIndex..<colon
                    portRange = bytes.index(after: colon)..<bytes.endIndex
                } else {
                    hostRange = bytes.startIndex..<bytes.endIndex
                }
                guard !hostRange.isEmpty,
                      bytes[hostRange].allSatisfy({ FieldSyntax.isTokenCharacter($0) && $0 != UInt8(ascii: "*") })
                else { return nil }
            }
            if let portRange {
                let digits = bytes[portRange]
                guard !digits.isEmpty, digits.count <= 5,
                      digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
                else { return nil }
                let port = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
                guard (1...65_535).contains(port) else { return nil }
                self.port = port
            } else {
                self.port = nil
            }
            self.host = String(text[hostRange])
        }

        private static func isHexDigit(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): true
            default: false
            }
        }

        /// The port, or the scheme's default (RFC 9110 §4.2.1, §4.2.2).
        public func port(defaultFor scheme: String) -> Int {
            port ?? (scheme == "https" ? 443 : 80)
        }
    }

    /// Classifies `target` as the method allows: authority-form for CONNECT alone (§3.2.3),
    /// asterisk-form for OPTIONS alone (§3.2.4).
    public init?(_ target: String, method: String) {
        if method == "CONNECT" {
            guard let authority = Authority(parsing: target[...]), authority.port != nil else { return nil }
            self = .authority(authority)
            return
        }
        let bytes = target.utf8
        if bytes.first == UInt8(ascii: "/") {
            self = .origin(pathAndQuery: target)
            return
        }
        if target == "*" {
            guard method == "OPTIONS" else { return nil }
            self = .asterisk
            return
        }
        // Bytes, not characters: the delimiters are ASCII, and so is every byte a valid target keeps.
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), bytes[colon...].starts(with: "://".utf8) else { return nil }
        // The scheme compared as bytes, case-insensitively (RFC 3986 §3.1), and given as the
        // lower-case literal: no string is made for it.
        let schemeBytes = bytes[..<colon]
        let scheme: String
        if FieldSyntax.namesEqual(bytes: schemeBytes, "http".utf8) {
            scheme = "http"
        } else if FieldSyntax.namesEqual(bytes: schemeBytes, "https".utf8) {
            scheme = "https"
        } else {
            return nil
        }
        let restStart = bytes.index(colon, offsetBy: 3)
        let end = bytes[restStart...].firstIndex { byte in
            byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#")
        } ?? bytes.endIndex
        guard let authority = Authority(parsing: target[restStart..<end]) else { return nil }
        let afterAuthority = bytes[end...]
        let pathEnd = afterAuthority.firstIndex(of: UInt8(ascii: "#")) ?? bytes.endIndex
        var pathAndQuery = String(target[end..<pathEnd])
        if pathAndQuery.utf8.first != UInt8(ascii: "/") { pathAndQuery = "/" + pathAndQuery }
        self = .absolute(scheme: scheme, authority: authority, pathAndQuery: pathAndQuery)
    }
}
