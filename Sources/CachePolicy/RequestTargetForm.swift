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
            let name = host.contains(":") ? "[\(host)]" : host
            return port.map { "\(name):\($0)" } ?? name
        }

        public init(host: String, port: Int?) {
            self.host = host
            self.port = port
        }

        /// Parses `host[:port]`; nil on userinfo, an empty or invalid host, or a bad port.
        public init?(parsing text: Substring) {
            guard !text.isEmpty, !text.contains("@") else { return nil }
            var hostPart = text
            var portPart: Substring?
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]") else { return nil }
                hostPart = text[text.index(after: text.startIndex)..<close]
                let rest = text[text.index(after: close)...]
                if !rest.isEmpty {
                    guard rest.hasPrefix(":") else { return nil }
                    portPart = rest.dropFirst()
                }
                guard !hostPart.isEmpty, hostPart.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
            } else {
                if let colon = text.lastIndex(of: ":") {
                    hostPart = text[..<colon]
                    portPart = text[text.index(after: colon)...]
                }
                guard !hostPart.isEmpty,
                      hostPart.utf8.allSatisfy({ FieldSyntax.isTokenCharacter($0) && $0 != UInt8(ascii: "*") })
                else { return nil }
            }
            if let portPart {
                guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy(\.isASCIIDigit),
                      let port = Int(portPart), (1...65_535).contains(port)
                else { return nil }
                self.port = port
            } else {
                self.port = nil
            }
            self.host = String(hostPart)
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
        if target.hasPrefix("/") {
            self = .origin(pathAndQuery: target)
            return
        }
        if target == "*" {
            guard method == "OPTIONS" else { return nil }
            self = .asterisk
            return
        }
        guard let colon = target.firstIndex(of: ":"), target[colon...].hasPrefix("://") else { return nil }
        let scheme = FieldSyntax.lowercased(String(target[..<colon]))
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = target[target.index(colon, offsetBy: 3)...]
        let end = rest.firstIndex { character in character == "/" || character == "?" || character == "#" } ?? rest.endIndex
        guard let authority = Authority(parsing: rest[..<end]) else { return nil }
        var pathAndQuery = String(rest[end...])
        if let fragment = pathAndQuery.firstIndex(of: "#") { pathAndQuery = String(pathAndQuery[..<fragment]) }
        if !pathAndQuery.hasPrefix("/") { pathAndQuery = "/" + pathAndQuery }
        self = .absolute(scheme: scheme, authority: authority, pathAndQuery: pathAndQuery)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
