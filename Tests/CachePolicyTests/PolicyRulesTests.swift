@testable import CachePolicy
import Testing

@Suite("Operator rules and the primary cache key (RFC 9111 §2)")
struct PolicyRulesTests {
    static let rules: PolicyRules = {
        var images = RuleOverrides()
        images.forceTTL = .some(3600)
        images.statusTTLs = [404: 5]
        var admin = RuleOverrides()
        admin.bypass = .some("personal")
        var offHeuristic = RuleOverrides()
        offHeuristic.heuristicFraction = .some(nil)
        return PolicyRules(
            defaults: RuleSettings(heuristicFraction: 0.1, statusTTLs: [404: 60, 410: 600], grace: 30),
            rules: [
                Rule(name: "admin", hosts: [HostPattern("www.example.com")!], paths: [PathPattern("/admin/")!], overrides: admin),
                Rule(name: "images", hosts: [HostPattern("*.img.example.com")!], paths: [PathPattern("/**/*.png")!, PathPattern("/i/*.jpg")!],
                     overrides: images),
                Rule(name: "no-heuristic", hosts: [HostPattern("api.example.com")!], overrides: offHeuristic),
            ])
    }()

    @Test("rules: the first matching rule is laid over the defaults", arguments: [
        ("www.example.com", "/admin/users", "admin"),
        ("WWW.example.com:8080", "/admin/?x", "admin"),
        ("www.example.com", "/admins", nil),
        ("a.img.example.com", "/x/y/z.png", "images"),
        ("a.b.img.example.com", "/i/photo.jpg", "images"),
        ("a.img.example.com", "/i/sub/photo.jpg", nil),
        ("img.example.com", "/x.png", nil),
        ("api.example.com", "/anything", "no-heuristic"),
    ] as [(String, String, String?)])
    func matching(host: String, path: String, rule: String?) {
        #expect(Self.rules.settings(host: host, path: path).ruleName == rule)
    }

    @Test("rules: merged settings")
    func merged() {
        let images = Self.rules.settings(host: "a.img.example.com", path: "/a.png")
        #expect(images.forceTTL == 3600)
        #expect(images.statusTTLs == [404: 5, 410: 600])
        #expect(images.grace == 30)
        #expect(images.heuristicFraction == 0.1)
        #expect(Self.rules.settings(host: "api.example.com", path: "/").heuristicFraction == nil)
        #expect(Self.rules.settings(host: "www.example.com", path: "/admin/").bypass == "personal")
        #expect(Self.rules.settings(host: "other", path: "/").bypass == nil)
    }

    @Test("rules: patterns are validated")
    func patterns() {
        #expect(HostPattern("*.example.com") != nil && HostPattern("a*.example.com") == nil && HostPattern("") == nil && HostPattern("*.") == nil)
        #expect(PathPattern("static/") == nil && PathPattern("/a/***") == nil && PathPattern("/a?") == nil && PathPattern("/a/[b]") == nil)
        #expect(QueryParameterPattern("utm_*") != nil && QueryParameterPattern("u*m") == nil && QueryParameterPattern("*") == nil)
        #expect(PathPattern("/a/**")!.matches("/a/b/c") && PathPattern("/a/*")!.matches("/a/b") && !PathPattern("/a/*")!.matches("/a/b/c"))
        #expect(PathPattern("/**/*.png")!.matches("/a.png") && PathPattern("/**/*.png")!.matches("/a/b/c.png"))
        #expect(!PathPattern("/**/*.png")!.matches("/a/b/c.jpg") && !PathPattern("/v/**/*.ts")!.matches("/w/a.ts"))
        #expect(PathPattern("/static/")!.matches("/static/app.js") && !PathPattern("/static/")!.matches("/stat"))
    }

    @Test("§2 primary key: scheme and host lower-cased, default port dropped, query normalised", arguments: [
        ("HTTPS", "Example.COM:443", "/p?b=2&a=1", "GET https://example.com/p?a=1&b=2"),
        ("http", "example.com:80", "", "GET http://example.com/"),
        ("http", "example.com:8080", "/p", "GET http://example.com:8080/p"),
        ("https", "example.com.", "/p?utm_source=x&gclid=1&id=7", "GET https://example.com/p?id=7"),
        ("https", "example.com", "/p?utm_source=x", "GET https://example.com/p"),
        ("https", "example.com", "/a%2fb?q=%e2%82", "GET https://example.com/a%2Fb?q=%E2%82"),
        ("https", "example.com", "/p#frag", "GET https://example.com/p"),
        ("https", "[::1]:443", "/p?z=1&a=2&z=0", "GET https://[::1]/p?a=2&z=1&z=0"),
    ])
    func primaryKey(scheme: String, host: String, pathAndQuery: String, expected: String) {
        let settings = RuleSettings(key: KeyNormalisation(sortQuery: true, dropQueryParameters: [QueryParameterPattern("utm_*")!, QueryParameterPattern("gclid")!]))
        #expect(PrimaryKey.make(methodClass: .retrieval, scheme: scheme, host: host, pathAndQuery: pathAndQuery, settings: settings) == expected)
    }

    @Test("§2 the plain-key fast path builds exactly the normalised key, and declines whatever needs normalising", arguments: [
        ("http", "example.com", "/a/b.css", true),
        ("https", "example.com:8443", "/p", true),
        ("http", "127.0.0.1:18090", "/1k.bin", true),
        ("https", "example.com:443", "/p", false),
        ("http", "example.com:80", "/p", false),
        ("http", "example.com:", "/p", false),
        ("http", "example.com:080", "/p", false),
        ("http", "example.com:8x", "/p", false),
        ("http", "example.com.:8080", "/p", false),
        ("http", ":8080", "/p", false),
        ("http", "a:1:2", "/p", false),
        ("https", "Example.com", "/p", false),
        ("HTTPS", "example.com", "/p", false),
        ("https", "example.com.", "/p", false),
        ("https", "[::1]", "/p", false),
        ("https", "example.com", "/p?a=1", false),
        ("https", "example.com", "/a%2fb", false),
        ("https", "example.com", "/p#x", false),
        ("https", "example.com", "", false),
        ("https", "", "/p", false),
        ("http", "xn--bcher-kva.example", "/ünïcode/path", true),
    ])
    func plainKey(scheme: String, host: String, pathAndQuery: String, takesFastPath: Bool) {
        let settings = RuleSettings(key: KeyNormalisation(sortQuery: true, dropQueryParameters: [QueryParameterPattern("utm_*")!]))
        let fast = PrimaryKey.plainKey(methodClass: .retrieval, scheme: scheme, host: host, pathAndQuery: pathAndQuery)
        let general = PrimaryKey.normalisedKey(methodClass: .retrieval, scheme: scheme, host: host, pathAndQuery: pathAndQuery,
                                               settings: settings)
        #expect((fast != nil) == takesFastPath)
        if let fast { #expect(fast == general) }
        #expect(PrimaryKey.make(methodClass: .retrieval, scheme: scheme, host: host, pathAndQuery: pathAndQuery, settings: settings) == general)
    }

    @Test("a query normalising leaves as it is takes the fast path, and the key is the general rules' key", arguments: [
        ("/p?a=1", true), ("/p?a=1&b=2", true), ("/p?a&b=&c=3", true), ("/p?a=1&a=0", true), ("/p?b=1&a=2", false),
        ("/p?a=1&&b=2", false), ("/p?a=1&", false), ("/p?&a=1", false), ("/p?", false), ("/p?a=%2f", false),
        ("/p?a=1#f", false), ("/p?a=1&utm_source=x", false), ("/p?utm_source=x", false), ("/p?a=1?b", false),
        ("/a%2f?x=1", false), ("/p?A=1&a=2", true), ("/p?a=2&A=1", false), ("/p?z=1&é=2", false), ("/p?é=1&z=2", false),
    ])
    func plainQueryKey(pathAndQuery: String, takesFastPath: Bool) {
        for sortQuery in [true, false] {
            let normalisation = KeyNormalisation(sortQuery: sortQuery, dropQueryParameters: [QueryParameterPattern("utm_*")!])
            let settings = RuleSettings(key: normalisation)
            let fast = PrimaryKey.plainQueryKey(methodClass: .retrieval, scheme: "https", host: "example.com",
                                                pathAndQuery: pathAndQuery, key: normalisation)
            let general = PrimaryKey.normalisedKey(methodClass: .retrieval, scheme: "https", host: "example.com",
                                                   pathAndQuery: pathAndQuery, settings: settings)
            if sortQuery { #expect((fast != nil) == takesFastPath, "\(pathAndQuery)") }
            if let fast { #expect(fast == general, "\(pathAndQuery), sortQuery \(sortQuery)") }
            #expect(PrimaryKey.make(methodClass: .retrieval, scheme: "https", host: "example.com", pathAndQuery: pathAndQuery,
                                    settings: settings) == general)
        }
    }

    @Test("query parameter patterns: a name or a prefix, compared byte for byte on strings and substrings")
    func queryParameterPatternMatches() {
        let prefix = QueryParameterPattern("utm_*")!, name = QueryParameterPattern("gclid")!
        #expect(prefix.matches("utm_source") && prefix.matches("utm_") && !prefix.matches("utm") && !prefix.matches("xutm_a"))
        #expect(name.matches("gclid") && !name.matches("gclid2") && !name.matches("gcli") && !name.matches("GCLID"))
        let query: Substring = "a=1&utm_medium=x"
        #expect(prefix.matches(query.dropFirst(4).prefix(10)) && !prefix.matches(query.prefix(1)))
    }

    @Test("the origin is sent the target without the parameters the key drops; otherwise the target as it came", arguments: [
        ("/p", "/p"), ("/p?a=1&b=2", "/p?a=1&b=2"), ("/p?b=2&a=1", "/p?b=2&a=1"), ("/p?a=1&utm_source=x&b=2", "/p?a=1&b=2"),
        ("/p?utm_source=x&gclid=1", "/p"), ("/p?utm_source=x#top", "/p#top"), ("/p?a=1&&utm_x=2", "/p?a=1"),
        ("/p?a=%2f&b", "/p?a=%2f&b"), ("/p?a%5f=1", "/p?a%5f=1"), ("/p?gclid", "/p"), ("/p?gclid2=1", "/p?gclid2=1"),
        ("/p?a=1#utm_x=1", "/p?a=1#utm_x=1"),
    ])
    func targetWithoutDroppedParameters(target: String, sent: String) {
        let key = KeyNormalisation(sortQuery: true, dropQueryParameters: [QueryParameterPattern("utm_*")!, QueryParameterPattern("gclid")!])
        #expect(PrimaryKey.targetWithoutDroppedParameters(target, key: key) == sent)
        #expect(PrimaryKey.targetWithoutDroppedParameters(target, key: KeyNormalisation()) == target)
    }

    @Test("the host without its port: IPv6 literals keep their brackets, a bare IPv6 address is left whole", arguments: [
        ("example.com", "example.com"), ("example.com:8080", "example.com"), ("[::1]:8443", "[::1]"), ("[::1]", "[::1]"),
        ("::1", "::1"), ("", ""), ("h:", "h"),
    ])
    func hostWithoutPort(authority: String, host: String) {
        #expect(PrimaryKey.hostWithoutPort(authority) == host)
    }

    @Test("§2 without normalisation rules the query is kept as sent")
    func rawQuery() {
        #expect(PrimaryKey.make(methodClass: .retrieval, scheme: "https", host: "a", pathAndQuery: "/p?b=2&utm_x=1&a=1", settings: RuleSettings())
            == "GET https://a/p?b=2&utm_x=1&a=1")
        #expect(MethodClass(method: "POST") == nil)
    }
}
