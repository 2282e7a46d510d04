// One origin server the node forwards to, parsed once from its configured URL.
// Invariant: scheme is http or https, host is non-empty, port is explicit.
public struct OriginServer: Sendable, Hashable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int
    /// `scheme://host:port`, the prefix a request target is appended to.
    public let baseURL: String

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case invalid(String, reason: String)
        public var description: String {
            switch self {
            case .invalid(let url, let reason): return "\"\(url)\" is not a usable origin URL: \(reason)"
            }
        }
    }

    /// Parses `http://host[:port]` or `https://host[:port]`; a path, query or user-info is refused
    /// because the request target always comes from the client.
    public init(url: String) throws {
        let lowered = url.lowercased()
        let scheme: String
        if lowered.hasPrefix("http://") { scheme = "http" }
        else if lowered.hasPrefix("https://") { scheme = "https" }
        else { throw ParseError.invalid(url, reason: "the scheme must be http:// or https://") }
        var rest = Substring(url.dropFirst(scheme.count + 3))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.contains("/") || rest.contains("?") || rest.contains("#") {
            throw ParseError.invalid(url, reason: "it must not carry a path or query")
        }
        if rest.contains("@") { throw ParseError.invalid(url, reason: "it must not carry user information") }
        var host = rest
        var port = scheme == "https" ? 443 : 80
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw ParseError.invalid(url, reason: "unclosed IPv6 bracket") }
            host = rest[rest.startIndex...close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    throw ParseError.invalid(url, reason: "the port is not a number from 1 to 65535")
                }
                port = p
            } else if !after.isEmpty {
                throw ParseError.invalid(url, reason: "unexpected text after the IPv6 address")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                throw ParseError.invalid(url, reason: "the port is not a number from 1 to 65535")
            }
            port = p
        }
        guard !host.isEmpty else { throw ParseError.invalid(url, reason: "the host is empty") }
        self.scheme = scheme
        self.host = String(host)
        self.port = port
        self.baseURL = "\(scheme)://\(host):\(port)"
    }

    /// The value a `Host` header naming this origin carries (default ports omitted).
    public var hostHeaderValue: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? host : "\(host):\(port)"
    }

    public var description: String { baseURL }
}
