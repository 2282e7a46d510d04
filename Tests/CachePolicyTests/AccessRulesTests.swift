// The forward proxy's pure parts: request-target forms (RFC 9112 §3.2) and the access rules
// (first match wins, CIDR blocks, host globs, ports, methods, schemes, CONNECT ports, credentials).
import CachePolicy
import Testing

@Suite("Request-target forms")
struct RequestTargetFormTests {
    @Test("each form is told apart; absolute-form splits into scheme, authority and path")
    func forms() {
        #expect(RequestTargetForm("/a?b", method: "GET") == .origin(pathAndQuery: "/a?b"))
        #expect(RequestTargetForm("*", method: "OPTIONS") == .asterisk)
        #expect(RequestTargetForm("*", method: "GET") == nil)
        #expect(RequestTargetForm("HTTP://Example.COM:8080/p?q#frag", method: "GET")
                == .absolute(scheme: "http", authority: .init(host: "Example.COM", port: 8080), pathAndQuery: "/p?q"))
        #expect(RequestTargetForm("http://example.com", method: "GET")
                == .absolute(scheme: "http", authority: .init(host: "example.com", port: nil), pathAndQuery: "/"))
        #expect(RequestTargetForm("http://example.com?x=1", method: "GET")
                == .absolute(scheme: "http", authority: .init(host: "example.com", port: nil), pathAndQuery: "/?x=1"))
        #expect(RequestTargetForm("example.com:443", method: "CONNECT") == .authority(.init(host: "example.com", port: 443)))
        #expect(RequestTargetForm("[::1]:8443", method: "CONNECT") == .authority(.init(host: "::1", port: 8443)))
        #expect(RequestTargetForm("http://example.com#top", method: "GET")
                == .absolute(scheme: "http", authority: .init(host: "example.com", port: nil), pathAndQuery: "/"))
        #expect(RequestTargetForm("https://[2001:db8::1]:443/p#x?y", method: "GET")
                == .absolute(scheme: "https", authority: .init(host: "2001:db8::1", port: 443), pathAndQuery: "/p"))
        #expect(RequestTargetForm("hTTpS://a.example:0443", method: "GET")
                == .absolute(scheme: "https", authority: .init(host: "a.example", port: 443), pathAndQuery: "/"))
        #expect(RequestTargetForm("http://h.example/caf%C3%A9?q=\u{e9}", method: "GET")
                == .absolute(scheme: "http", authority: .init(host: "h.example", port: nil), pathAndQuery: "/caf%C3%A9?q=\u{e9}"))
    }

    @Test("malformed targets are refused: userinfo, no port for CONNECT, bad ports, other schemes", arguments: [
        ("http://trusted@evil.example/", "GET"), ("ftp://example.com/", "GET"), ("http:///path", "GET"),
        ("http://example.com:0/", "GET"), ("http://example.com:99999/", "GET"), ("http://exa mple.com/", "GET"),
        ("example.com", "CONNECT"), ("/path", "CONNECT"), ("http://[::1/", "GET"), ("example.com/x", "GET"),
        // Digits and hex digits are ASCII only; a fullwidth "８０" is not a port, nor "[ＡＢ::1]" an address.
        ("http://example.com:\u{FF18}\u{FF10}/", "GET"), ("http://[\u{FF21}\u{FF22}::1]/", "GET"),
        ("http://ex\u{e4}mple.com/", "GET"), ("http://example.com:/", "GET"), ("http://[::1]x/", "GET"),
        ("httpx://a/", "GET"), ("htt://a/", "GET"), ("hTTp:/a/", "GET"), ("hxxp://a/", "GET"), ("://a/", "GET"),
    ])
    func malformed(_ target: String, _ method: String) {
        #expect(RequestTargetForm(target, method: method) == nil)
    }

    @Test("an authority prints as a Host field carries it; the default port follows the scheme")
    func authority() {
        #expect(RequestTargetForm.Authority(host: "::1", port: 8080).description == "[::1]:8080")
        #expect(RequestTargetForm.Authority(host: "a.example", port: nil).port(defaultFor: "https") == 443)
        #expect(RequestTargetForm.Authority(host: "a.example", port: nil).port(defaultFor: "http") == 80)
        // Parsed, it prints the same way whatever the digits looked like.
        guard case .absolute(_, let parsed, _) = RequestTargetForm("http://A.example:0080/x", method: "GET") else {
            Issue.record("not parsed")
            return
        }
        #expect(parsed.description == "A.example:80")
        #expect(RequestTargetForm.Authority(parsing: "[2001:db8::1]")?.description == "[2001:db8::1]")
    }
}

@Suite("Access rules")
struct AccessRulesTests {
    func request(client: String? = "10.1.2.3", host: String = "www.example.com", port: Int = 80, method: String = "GET",
                 scheme: String = "http") -> AccessRequest {
        AccessRequest(client: client, host: host, port: port, method: method, scheme: scheme)
    }

    @Test("first match wins; no match denies")
    func order() {
        let rules = AccessRules(rules: [
            AccessRule(name: "block-ads", action: .deny, hosts: [HostGlob("*.ads.example")!]),
            AccessRule(name: "office", action: .allow, clients: [AddressRange("10.0.0.0/8")!]),
        ])
        #expect(rules.evaluate(request(), authenticated: false) == .allow(rule: "office"))
        #expect(rules.evaluate(request(host: "x.ads.example"), authenticated: false) == .deny(rule: "block-ads"))
        #expect(rules.evaluate(request(client: "192.0.2.1"), authenticated: false) == .deny(rule: "no-rule-matched"))
        #expect(rules.evaluate(request(client: nil), authenticated: false) == .deny(rule: "no-rule-matched"))
    }

    @Test("CONNECT reaches only connectPorts (443 by default), whatever the rules allow")
    func connectPorts() {
        let rules = AccessRules(rules: [AccessRule(name: "all", action: .allow)])
        #expect(rules.evaluate(request(port: 443, method: "CONNECT", scheme: "tunnel"), authenticated: false) == .allow(rule: "all"))
        #expect(rules.evaluate(request(port: 25, method: "CONNECT", scheme: "tunnel"), authenticated: false) == .deny(rule: "connect-ports"))
        #expect(rules.evaluate(request(port: 25), authenticated: false) == .allow(rule: "all"))
    }

    @Test("ports, methods and schemes narrow a rule")
    func criteria() {
        let rules = AccessRules(rules: [
            AccessRule(name: "web", action: .allow, ports: [80...80, 8000...8999], methods: ["GET", "HEAD"], schemes: ["http"]),
        ])
        #expect(rules.evaluate(request(port: 8080), authenticated: false) == .allow(rule: "web"))
        #expect(rules.evaluate(request(port: 9000), authenticated: false) == .deny(rule: "no-rule-matched"))
        #expect(rules.evaluate(request(method: "POST"), authenticated: false) == .deny(rule: "no-rule-matched"))
        #expect(rules.evaluate(request(scheme: "https"), authenticated: false) == .deny(rule: "no-rule-matched"))
    }

    @Test("a rule that needs credentials asks for them, and allows with them")
    func authentication() {
        let rules = AccessRules(rules: [AccessRule(name: "members", action: .allow, authenticate: true)], usersFile: "/x")
        #expect(rules.evaluate(request(), authenticated: false) == .authenticate(rule: "members"))
        #expect(rules.evaluate(request(), authenticated: true) == .allow(rule: "members"))
    }

    @Test("CIDR blocks: prefixes, single addresses, IPv6, IPv4-mapped clients")
    func addressRanges() {
        let block = AddressRange("172.16.0.0/12")!
        #expect(block.contains(AddressRange.bytes("172.31.255.1")!))
        #expect(!block.contains(AddressRange.bytes("172.32.0.1")!))
        #expect(AddressRange("192.0.2.7")!.contains(AddressRange.bytes("192.0.2.7")!))
        #expect(!AddressRange("192.0.2.7")!.contains(AddressRange.bytes("192.0.2.8")!))
        #expect(AddressRange("fc00::/7")!.contains(AddressRange.bytes("fd12::1")!))
        #expect(AddressRange("10.0.0.0/8")!.contains(AddressRange.bytes("::ffff:10.1.1.1")!))
        #expect(AddressRange("10.0.0.0/33") == nil)
        #expect(AddressRange("not-an-address") == nil)
    }

    @Test("host globs: exact, *.suffix (not the bare name), * anywhere, case-insensitive")
    func hostGlobs() {
        #expect(HostGlob("example.com")!.matches("EXAMPLE.com"))
        #expect(!HostGlob("example.com")!.matches("www.example.com"))
        #expect(HostGlob("*.example.com")!.matches("a.b.example.com"))
        #expect(!HostGlob("*.example.com")!.matches("example.com"))
        #expect(HostGlob("cdn*.example.net")!.matches("cdn42.example.net"))
        #expect(!HostGlob("cdn*.example.net")!.matches("img.example.net"))
        #expect(HostGlob("*")!.matches("anything"))
    }

    @Test("the default lets loopback and private networks in, and no one else")
    func standard() {
        #expect(AccessRules.standard.evaluate(request(client: "127.0.0.1"), authenticated: false) == .allow(rule: "local-networks"))
        #expect(AccessRules.standard.evaluate(request(client: "192.168.1.5"), authenticated: false) == .allow(rule: "local-networks"))
        #expect(AccessRules.standard.evaluate(request(client: "203.0.113.9"), authenticated: false) == .deny(rule: "no-rule-matched"))
    }
}
