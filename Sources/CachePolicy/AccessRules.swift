// Who may use the forward proxy, and to reach what: the rules file's `access:` section, tried in
// order, the first matching rule deciding (as Squid's http_access). A rule matches by client
// address (CIDR), destination host (exact, `*.suffix`, or a glob with `*`), destination port,
// method and scheme (`http`, `https`, or `tunnel` for CONNECT); an empty criterion matches
// anything. No match denies. CONNECT is refused outside `connectPorts` whatever the rules say
// (RFC 9110 §9.3.6: tunnels to arbitrary ports make the proxy a relay for any protocol).
// Pure: facts about a request in, a verdict out; credentials are checked by the caller.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct AccessRules: Sendable, Hashable {
    public var rules: [AccessRule]
    /// Ports CONNECT may reach; 443 unless the rules file says otherwise.
    public var connectPorts: [ClosedRange<Int>]
    /// The `users` file for rules that require credentials (name:hash lines), if any.
    public var usersFile: String?

    /// Loopback and the private networks (RFC 1918, RFC 4193) may use the proxy; nothing else.
    public static let standard = AccessRules(rules: [
        AccessRule(name: "local-networks", action: .allow,
                   clients: ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
                       .compactMap(AddressRange.init)),
    ])

    public init(rules: [AccessRule] = [], connectPorts: [ClosedRange<Int>] = [443...443], usersFile: String? = nil) {
        self.rules = rules
        self.connectPorts = connectPorts
        self.usersFile = usersFile
    }

    /// The verdict for `request`; `authenticated` says whether it carried valid credentials.
    public func evaluate(_ request: AccessRequest, authenticated: Bool) -> AccessVerdict {
        if request.scheme == "tunnel", !connectPorts.contains(where: { $0.contains(request.port) }) {
            return .deny(rule: "connect-ports")
        }
        // The client's address is parsed only when a rule matches by client (most do not).
        var address: [UInt8]??
        for rule in rules {
            if !rule.clients.isEmpty, address == nil { address = .some(request.client.flatMap(AddressRange.bytes)) }
            guard rule.matches(request, address: address ?? nil) else { continue }
            switch rule.action {
            case .deny: return .deny(rule: rule.name)
            case .allow where rule.authenticate && !authenticated: return .authenticate(rule: rule.name)
            case .allow: return .allow(rule: rule.name)
            }
        }
        return .deny(rule: "no-rule-matched")
    }
}

public struct AccessRule: Sendable, Hashable {
    public enum Action: String, Sendable { case allow, deny }

    public var name: String
    public var action: Action
    public var clients: [AddressRange]
    public var hosts: [HostGlob]
    public var ports: [ClosedRange<Int>]
    /// Upper-case method names.
    public var methods: [String]
    /// `http`, `https` or `tunnel`.
    public var schemes: [String]
    /// An `allow` that applies only with valid `Proxy-Authorization: Basic` credentials.
    public var authenticate: Bool

    public init(name: String, action: Action, clients: [AddressRange] = [], hosts: [HostGlob] = [],
                ports: [ClosedRange<Int>] = [], methods: [String] = [], schemes: [String] = [], authenticate: Bool = false) {
        self.name = name
        self.action = action
        self.clients = clients
        self.hosts = hosts
        self.ports = ports
        self.methods = methods
        self.schemes = schemes
        self.authenticate = authenticate
    }

    /// `address`: the client's address bytes, parsed once per request.
    func matches(_ request: AccessRequest, address: [UInt8]?) -> Bool {
        if !clients.isEmpty {
            guard let address, clients.contains(where: { $0.contains(address) }) else { return false }
        }
        if !hosts.isEmpty, !hosts.contains(where: { $0.matches(request.host) }) { return false }
        if !ports.isEmpty, !ports.contains(where: { $0.contains(request.port) }) { return false }
        if !methods.isEmpty, !methods.contains(request.method) { return false }
        if !schemes.isEmpty, !schemes.contains(request.scheme) { return false }
        return true
    }
}

/// What the access rules look at.
public struct AccessRequest: Sendable, Equatable {
    /// The client's IP address as text, when known.
    public var client: String?
    public var host: String
    public var port: Int
    public var method: String
    public var scheme: String

    public init(client: String?, host: String, port: Int, method: String, scheme: String) {
        self.client = client
        self.host = host
        self.port = port
        self.method = method
        self.scheme = scheme
    }
}

public enum AccessVerdict: Equatable, Sendable {
    case allow(rule: String)
    case deny(rule: String)
    /// The matching rule needs credentials the request did not carry (407).
    case authenticate(rule: String)
}

/// A CIDR block (`10.0.0.0/8`, `2001:db8::/32`) or one address.
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    public let description: String
    private let network: [UInt8]
    private let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let network = Self.bytes(String(first)) else { return nil }
        let length = parts.count == 2 ? Int(parts[1]) : network.count * 8
        guard let length, (0...network.count * 8).contains(length) else { return nil }
        self.description = text
        self.network = network
        self.prefixLength = length
    }

    public func contains(_ address: [UInt8]) -> Bool {
        var address = address
        // An IPv4 client seen as an IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches IPv4 blocks.
        if network.count == 4, address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            address = Array(address[12...])
        }
        guard address.count == network.count else { return false }
        var remaining = prefixLength
        for index in network.indices where remaining > 0 {
            let bits = min(remaining, 8)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if address[index] & mask != network[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 address in text form; nil when it is neither.
    public static func bytes(_ text: String) -> [UInt8]? {
        var four = in_addr()
        if inet_pton(AF_INET, text, &four) == 1 { return withUnsafeBytes(of: &four) { Array($0) } }
        var sixteen = in6_addr()
        if inet_pton(AF_INET6, text, &sixteen) == 1 { return withUnsafeBytes(of: &sixteen) { Array($0) } }
        return nil
    }
}

/// A destination host pattern: exact (`example.com`), a suffix (`*.example.com`, not the bare
/// name), or a glob where `*` matches any run of characters (`cdn*.example.net`). Case-insensitive.
public struct HostGlob: Sendable, Hashable, CustomStringConvertible {
    public let description: String

    public init?(_ text: String) {
        let lower = FieldSyntax.lowercased(text)
        guard !lower.isEmpty, lower.utf8.allSatisfy({ FieldSyntax.isTokenCharacter($0) || $0 == UInt8(ascii: ":") }) else {
            return nil
        }
        description = lower
    }

    public func matches(_ host: String) -> Bool {
        let text = Array(FieldSyntax.lowercased(host).utf8)
        let pattern = Array(description.utf8)
        // Wildcard matching with one backtrack point (the last `*` seen).
        var (t, p) = (0, 0)
        var star: Int?
        var resume = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = t
                p += 1
            } else if p < pattern.count, pattern[p] == text[t] {
                t += 1
                p += 1
            } else if let star {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}
