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
        public let host: String
        public let port: Int?
        /// `host[:port]` as a Host field carries it (IPv6 literals bracketed), made once.
        public let description: String

        public init(host: String, port: Int?) {
            var text = host.utf8.contains(UInt8(ascii: ":")) ? "[" + host + "]" : host
            if let port {
                text += ":"
                text += String(port)
            }
            self.init(host: host, port: port, description: text)
        }

        private init(host: String, port: Int?, description: String) {
            self.host = host
            self.port = port
            self.description = description
        }

        /// Parses `host[:port]`; nil on userinfo, an empty or invalid host, or a bad port. Reads
        /// bytes: every character allowed is ASCII, so anything else fails a byte test.
        public init?(parsing text: Substring) {
            var text = text
            guard let authority = text.withUTF8(Self.parse) else { return nil }
            self = authority
        }

        /// The authority `bytes` hold, as `init(parsing:)` reads it.
        static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Authority? {
            guard let first = bytes.first, !bytes.contains(UInt8(ascii: "@")) else { return nil }
            var hostStart = 0, hostEnd = bytes.count
            var portStart: Int?
            if first == UInt8(ascii: "[") {
                guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
                (hostStart, hostEnd) = (1, close)
                if close + 1 != bytes.count {
                    guard bytes[close + 1] == UInt8(ascii: ":") else { return nil }
                    portStart = close + 2
                }
                guard hostEnd > hostStart else { return nil }
                for index in hostStart..<hostEnd {
                    let byte = bytes[index]
                    guard Self.isHexDigit(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".") else { return nil }
                }
            } else {
                if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
                    hostEnd = colon
                    portStart = colon + 1
                }
                guard hostEnd > 0 else { return nil }
                for index in 0..<hostEnd {
                    let byte = bytes[index]
                    guard FieldSyntax.isTokenCharacter(byte) && byte != UInt8(ascii: "*") else { return nil }
                }
            }
            var port: Int?
            if let portStart {
                guard (1...5).contains(bytes.count - portStart) else { return nil }
                var value = 0
                for index in portStart..<bytes.count {
                    let digit = bytes[index]
                    guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else { return nil }
                    value = value * 10 + Int(digit - UInt8(ascii: "0"))
                }
                guard (1...65_535).contains(value) else { return nil }
                port = value
            }
            let host = String(decoding: UnsafeBufferPointer(rebasing: bytes[hostStart..<hostEnd]), as: UTF8.self)
            // As written, the text is already the Host form, unless its port has leading zeros.
            guard let portStart, bytes[portStart] == UInt8(ascii: "0") else {
                return Authority(host: host, port: port, description: String(decoding: bytes, as: UTF8.self))
            }
            return Authority(host: host, port: port)
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
        if target.utf8.first == UInt8(ascii: "/") {
            self = .origin(pathAndQuery: target)
            return
        }
        if target == "*" {
            guard method == "OPTIONS" else { return nil }
            self = .asterisk
            return
        }
        var text = target
        guard let form = text.withUTF8(Self.absolute) else { return nil }
        self = form
    }

    /// The absolute form `bytes` hold, read byte by byte: the delimiters are ASCII, and so is
    /// every byte a valid authority keeps.
    private static func absolute(_ bytes: UnsafeBufferPointer<UInt8>) -> RequestTargetForm? {
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon + 2 < bytes.count,
              bytes[colon + 1] == UInt8(ascii: "/"), bytes[colon + 2] == UInt8(ascii: "/")
        else { return nil }
        // The scheme compared case-insensitively (RFC 3986 §3.1), and given as the lower-case
        // literal: no string is made for it.
        func lowercased(_ index: Int) -> UInt8 { bytes[index] | 0x20 }
        guard colon == 4 || colon == 5, lowercased(0) == UInt8(ascii: "h"), lowercased(1) == UInt8(ascii: "t"),
              lowercased(2) == UInt8(ascii: "t"), lowercased(3) == UInt8(ascii: "p"), colon == 4 || lowercased(4) == UInt8(ascii: "s")
        else { return nil }
        let scheme = colon == 4 ? "http" : "https"
        let restStart = colon + 3
        var end = restStart
        while end < bytes.count, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?"), bytes[end] != UInt8(ascii: "#") {
            end += 1
        }
        guard let authority = Authority.parse(UnsafeBufferPointer(rebasing: bytes[restStart..<end])) else { return nil }
        var pathEnd = end
        while pathEnd < bytes.count, bytes[pathEnd] != UInt8(ascii: "#") { pathEnd += 1 }
        var pathAndQuery = String(decoding: UnsafeBufferPointer(rebasing: bytes[end..<pathEnd]), as: UTF8.self)
        if pathAndQuery.utf8.first != UInt8(ascii: "/") { pathAndQuery = "/" + pathAndQuery }
        return .absolute(scheme: scheme, authority: authority, pathAndQuery: pathAndQuery)
    }
}
