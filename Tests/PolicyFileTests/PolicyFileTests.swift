import CachePolicy
import Foundation
import PolicyFile
import Testing

/// The repository root, found from this file's location (Tests/PolicyFileTests/…).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite("Rules files")
struct PolicyFileTests {
    @Test("the embedded default equals cache-policy/default.yaml byte for byte")
    func embeddedDefault() throws {
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("cache-policy/default.yaml"))
        #expect(Array(PolicyFile.embeddedDefault.utf8) == Array(data))
    }

    @Test("the default rules are RFC behaviour first")
    func defaultRules() throws {
        let rules = try PolicyFile.defaultRules()
        let settings = rules.defaults
        #expect(rules.rules.isEmpty)
        // RFC 9111 §4.2.2's heuristic, at the fraction it names ("typically ... 10%"), capped at a day.
        #expect(settings.heuristicFraction == 0.1 && settings.heuristicCap == 86_400)
        #expect(settings.requestRate == nil)
        #expect(settings.defaultTTL == nil && settings.forceTTL == nil && settings.maxTTL == nil)
        #expect(settings.statusTTLs.isEmpty)
        #expect(settings.grace == 0)  // RFC behaviour first: no stale without permission
        #expect(settings.setCookie == .doNotStore)
        #expect(settings.key.sortQuery && settings.key.normaliseAcceptEncoding)
        #expect(settings.key.dropQueryParameters.map(\.description) == ["utm_*", "gclid", "fbclid"])
        #expect(settings.maxObjectSize == 64 * 1024 * 1024)
        #expect(settings.maxVariants == 16)
        #expect(settings.bypass == nil)
        #expect(settings.targeting == TargetedFields(nodeFieldName: "Outpost-Cache-Control", surrogateDeviceToken: "outpost"))
    }

    @Test("the media-site example loads and its rules apply")
    func example() throws {
        let rules = try PolicyFile.load(path: repositoryRoot.appendingPathComponent("cache-policy/examples/media-site.yaml").path)
        #expect(rules.rules.map { $0.name ?? "" } == ["admin", "static-assets", "images", "video-segments", "video-playlists", "api"])
        #expect(rules.settings(host: "www.example.com", path: "/admin/x").bypass == "editor and account pages are personal")
        #expect(rules.settings(host: "static.example.com", path: "/assets/app.1234.js").forceTTL == 2_592_000.0)
        let images = rules.settings(host: "img.example.com", path: "/p.jpg")
        #expect(images.heuristicFraction == 0.1 && images.maxTTL == 7 * 86_400 && images.maxObjectSize == 1 << 30)
        #expect(rules.settings(host: "cdn.example.com", path: "/video/show/1/seg-3.ts").forceTTL == 86_400)
        #expect(rules.settings(host: "cdn.example.com", path: "/video/show/1/index.m3u8").maxTTL == 2)
        let api = rules.settings(host: "api.example.com", path: "/v1/items?b=1")
        #expect(api.defaultTTL == 5 && api.grace == 0 && !api.key.sortQuery && api.key.dropQueryParameters.isEmpty)
        #expect(api.statusTTLs == [404: 60, 410: 3600])
    }

    @Test("durations and sizes")
    func units() throws {
        let rules = try PolicyFile.parse("""
            defaults:
              grace: 2d
              heuristicCap: 90m
              maxTTL: 1w
              forceTTL: 30s
              defaultTTL: 0
              maxObjectSize: 512KiB
              statusTTL: {404: 1h}
            rules:
              - name: big
                hosts: "*.example.com"
                maxObjectSize: 10MiB
                forceTTL: off
            """, file: "t.yaml")
        #expect(rules.defaults.grace == 172_800 && rules.defaults.heuristicCap == 5400 && rules.defaults.maxTTL == 604_800)
        #expect(rules.defaults.forceTTL == 30 && rules.defaults.defaultTTL == 0 && rules.defaults.maxObjectSize == 524_288)
        let big = rules.settings(host: "a.example.com", path: "/")
        #expect(big.maxObjectSize == 10_485_760 && big.forceTTL == nil)
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        let name: String
        let yaml: String
        let expected: String
        var testDescription: String { name }
    }

    @Test("errors are reported as file:line: reason", arguments: [
        ErrorCase(name: "YAML syntax", yaml: "defaults:\n  grace: [1h\n", expected: "rules.yaml:3: YAML syntax error"),
        ErrorCase(name: "unknown top-level key", yaml: "version: 1\nsettings: {}\n", expected: "rules.yaml:2: unknown key 'settings'"),
        ErrorCase(name: "unknown setting", yaml: "defaults:\n  grace: 1h\n  gracePeriod: 1h\n", expected: "rules.yaml:3: unknown key 'defaults.gracePeriod'"),
        ErrorCase(name: "bad duration", yaml: "defaults:\n  grace: 10x\n", expected: "rules.yaml:2: bad duration '10x' for 'grace'"),
        ErrorCase(name: "negative duration", yaml: "defaults:\n  grace: -5s\n", expected: "rules.yaml:2: bad duration '-5s'"),
        ErrorCase(name: "bad size", yaml: "defaults:\n\n  maxObjectSize: 10MB5\n", expected: "rules.yaml:3: bad size '10MB5'"),
        ErrorCase(name: "wrong type", yaml: "defaults:\n  sortQuery: maybe\n", expected: "rules.yaml:2: 'sortQuery' must be true or false"),
        ErrorCase(name: "mapping expected", yaml: "defaults: 5\n", expected: "rules.yaml:1: 'defaults' must be a mapping"),
        ErrorCase(name: "rules must be a list", yaml: "rules: {a: 1}\n", expected: "rules.yaml:1: 'rules' must be a list"),
        ErrorCase(name: "bad glob", yaml: "rules:\n  - name: x\n    paths:\n      - /ok/\n      - /a/***\n", expected: "rules.yaml:5: bad path pattern '/a/***'"),
        ErrorCase(name: "glob must be absolute", yaml: "rules:\n  - paths: static/\n", expected: "rules.yaml:2: bad path pattern 'static/'"),
        ErrorCase(name: "bad host", yaml: "rules:\n  - hosts: [\"a*.example.com\"]\n", expected: "rules.yaml:2: bad host pattern 'a*.example.com'"),
        ErrorCase(name: "unknown key in a rule", yaml: "rules:\n  - name: x\n    ttl: 5s\n", expected: "rules.yaml:3: unknown key 'ttl' in rule"),
        ErrorCase(name: "bad status", yaml: "defaults:\n  statusTTL:\n    abc: 5s\n", expected: "rules.yaml:3: 'abc' is not a status code"),
        ErrorCase(name: "bad set-cookie mode", yaml: "defaults:\n  setCookie: sometimes\n", expected: "rules.yaml:2: 'setCookie' must be one of"),
        ErrorCase(name: "bad query pattern", yaml: "defaults:\n  dropQueryParameters: [\"a*b\"]\n", expected: "rules.yaml:2: bad query parameter pattern 'a*b'"),
        ErrorCase(name: "bad fraction", yaml: "defaults:\n  heuristicFraction: 2\n", expected: "rules.yaml:2: 'heuristicFraction' must be a number between 0 and 1"),
        ErrorCase(name: "duplicate key", yaml: "defaults:\n  grace: 1h\n  grace: 2h\n", expected: "rules.yaml:"),
        ErrorCase(name: "unsupported version", yaml: "version: 2\n", expected: "rules.yaml:1: unsupported version"),
        ErrorCase(name: "access rule without action", yaml: "access:\n  rules:\n    - name: x\n", expected: "rules.yaml:3: access rule 'x' needs"),
        ErrorCase(name: "bad CIDR", yaml: "access:\n  rules:\n    - action: allow\n      clients: [10.0.0.0/99]\n", expected: "rules.yaml:4: '10.0.0.0/99' is not an address"),
        ErrorCase(name: "bad port range", yaml: "access:\n  connectPorts: [\"9-1\"]\n", expected: "rules.yaml:2: '9-1' is not a port"),
        ErrorCase(name: "authenticate without users", yaml: "access:\n  rules:\n    - action: allow\n      authenticate: true\n", expected: "rules.yaml:2: a rule with 'authenticate: true' needs"),
        ErrorCase(name: "bad scheme", yaml: "access:\n  rules:\n    - action: allow\n      schemes: [ftp]\n", expected: "rules.yaml:4: scheme must be"),
    ])
    func errors(testCase: ErrorCase) {
        do {
            _ = try PolicyFile.parse(testCase.yaml, file: "rules.yaml")
            Issue.record("no error for \(testCase.name)")
        } catch {
            #expect(error.description.hasPrefix(testCase.expected), "\(error.description)")
            #expect(error.line > 0)
        }
    }

    @Test("a missing file is an error naming the file")
    func missingFile() {
        #expect(throws: PolicyFileError.self) { try PolicyFile.load(path: "/nonexistent/rules.yaml") }
    }

    @Test("requestRate and requestBurst are read per rule; a bad rate names itself")
    func requestRates() throws {
        let rules = try PolicyFile.parse("""
            version: 1
            rules:
              - name: api
                paths: [/api/*]
                requestRate: 20/s
                requestBurst: 40
            """, file: "rates.yaml")
        #expect(rules.limitsRequestRates)
        let api = rules.settings(host: "a", path: "/api/x")
        #expect(api.requestRate == 20 && api.requestBurst == 40)
        #expect(rules.settings(host: "a", path: "/page").requestRate == nil)
        #expect(throws: PolicyFileError.self) {
            try PolicyFile.parse("version: 1\ndefaults:\n  requestRate: fast\n", file: "bad.yaml")
        }
    }

    @Test("the access section: rules in order with every criterion, connectPorts and the users file; without it, local networks")
    func access() throws {
        let rules = try PolicyFile.parse("""
            version: 1
            access:
              connectPorts: [443, 8000-8999]
              users: /etc/outpost/users
              rules:
                - name: no-ads
                  action: deny
                  hosts: ["*.ads.example", "tracker*.example"]
                - name: staff
                  action: allow
                  clients: [10.0.0.0/8, "2001:db8::/32"]
                  ports: [80, 443]
                  methods: [get, CONNECT]
                  schemes: [http, tunnel]
                  authenticate: true
            """, file: "access.yaml")
        #expect(rules.access.connectPorts == [443...443, 8000...8999])
        #expect(rules.access.usersFile == "/etc/outpost/users")
        #expect(rules.access.rules.map(\.name) == ["no-ads", "staff"])
        #expect(rules.access.rules[1].methods == ["GET", "CONNECT"])
        #expect(rules.access.rules[1].authenticate)
        let request = AccessRequest(client: "10.0.0.9", host: "a.example", port: 443, method: "CONNECT", scheme: "tunnel")
        #expect(rules.access.evaluate(request, authenticated: true) == .allow(rule: "staff"))
        #expect(try PolicyFile.defaultRules().access == AccessRules.standard)
    }
}
