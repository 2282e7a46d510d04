// The table of every node setting: its name (the flag is `--name`, the config-file key is
// `name`), a one-line help text, and how a textual value is applied. Flags and the YAML file
// both go through `apply`, so they accept exactly the same values.
import EdgeHTTP
import Logging
import NIOCore
import OriginClient
import PolicyFile

public struct NodeSetting: Sendable {
    public let name: String
    public let help: String
    /// Whether the setting may be given several times (values accumulate).
    public let repeatable: Bool
    let apply: @Sendable (inout NodeConfiguration, String) throws(SettingValueError) -> Void
}

/// A value that does not parse; the caller adds where it came from.
public struct SettingValueError: Error { public var message: String }

public enum NodeSettings {
    /// A repeatable setting given on the command line replaces the config file's values: this
    /// clears them before the first flag's value is applied.
    static func clear(_ name: String, in configuration: inout NodeConfiguration) {
        switch name {
        case "origin": configuration.origins = []
        case "listen": configuration.listens = nil
        case "tls-listen": configuration.tlsListens = []
        case "forward-listen": configuration.forwardListens = []
        case "tls-certificate": configuration.tlsCertificateFiles = []
        case "tls-key": configuration.tlsKeyFiles = []
        case "origin-ca-file": configuration.originClient.tls.certificateAuthorityFiles = []
        default: break
        }
    }

    public static let all: [NodeSetting] = [
        .init(name: "listen", help: "Public HTTP listener, HOST:PORT (repeatable; default 127.0.0.1:8080 unless only --tls-listen is given).", repeatable: true) { c, v throws(SettingValueError) in
            c.listens = (c.listens ?? []) + [try hostAndPort(v)]
        },
        .init(name: "tls-listen", help: "Public HTTPS listener (TLS 1.2/1.3, HTTP/2 by ALPN), HOST:PORT (repeatable).", repeatable: true) { c, v throws(SettingValueError) in
            c.tlsListens.append(try hostAndPort(v))
        },
        .init(name: "forward-listen", help: "Forward proxy listener, HOST:PORT (repeatable): absolute-form requests and CONNECT, under the rules file's access rules.", repeatable: true) { c, v throws(SettingValueError) in
            c.forwardListens.append(try hostAndPort(v))
        },
        .init(name: "anonymity", help: "What forward listeners tell origins about clients: off, standard (no X-Forwarded-For, Forwarded) or strict (also no From, cross-origin Referer, client hints) (default standard).", repeatable: false) { c, v throws(SettingValueError) in
            guard let level = Anonymity(rawValue: v) else { throw SettingValueError(message: "\"\(v)\" is not off, standard or strict") }
            c.edge.forward.anonymity = level
        },
        .init(name: "anonymous-user-agent", help: "Under --anonymity strict, the User-Agent sent instead of every client's (default: the client's).", repeatable: false) { c, v throws(SettingValueError) in
            guard !v.isEmpty, v.utf8.allSatisfy({ $0 >= 32 && $0 < 127 }) else { throw SettingValueError(message: "must be visible ASCII") }
            c.edge.forward.userAgent = v
        },
        .init(name: "tunnel-idle-timeout", help: "A CONNECT tunnel with no bytes either way closes after this (default 5m).", repeatable: false) { c, v throws(SettingValueError) in c.edge.forward.tunnelIdleTimeout = try duration(v) },
        .init(name: "tunnel-lifetime", help: "A CONNECT tunnel closes after this whatever it carries (default 1h).", repeatable: false) { c, v throws(SettingValueError) in c.edge.forward.tunnelLifetime = try duration(v) },
        .init(name: "max-tunnels-per-client", help: "Most CONNECT tunnels one client address may hold open (default 64).", repeatable: false) { c, v throws(SettingValueError) in c.edge.forward.tunnelsPerClient = try count(v, in: 1...100_000) },
        .init(name: "tls-certificate", help: "PEM certificate chain for the TLS listeners (repeatable, paired in order with --tls-key; chosen by SNI, the first is the default).", repeatable: true) { c, v throws(SettingValueError) in c.tlsCertificateFiles.append(v) },
        .init(name: "tls-key", help: "PEM private key of the --tls-certificate in the same position (repeatable).", repeatable: true) { c, v throws(SettingValueError) in c.tlsKeyFiles.append(v) },
        .init(name: "http2", help: "HTTP/2 on the TLS listeners: on or off (default on).", repeatable: false) { c, v throws(SettingValueError) in
            switch v.lowercased() {
            case "on", "true": c.http2 = true
            case "off", "false": c.http2 = false
            default: throw SettingValueError(message: "\"\(v)\" is not on or off")
            }
        },
        .init(name: "origin", help: "Origin URL, http:// or https:// (repeat for several; round robin).", repeatable: true) { c, v throws(SettingValueError) in
            do { c.origins.append(try OriginServer(url: v)) } catch { throw SettingValueError(message: "\(error)") }
        },
        .init(name: "admin-listen", help: "Admin listener, HOST:PORT or off (default 127.0.0.1:8081).", repeatable: false) { c, v throws(SettingValueError) in
            c.adminListen = v == "off" ? nil : try hostAndPort(v)
        },
        .init(name: "admin-token", help: "Admin API bearer token (default: $OUTPOST_ADMIN_TOKEN, else a generated token file in the cache directory).", repeatable: false) { c, v throws(SettingValueError) in
            guard v.utf8.count >= 16, v.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                throw SettingValueError(message: "the token must be at least 16 visible ASCII characters, without spaces")
            }
            c.adminToken = v
        },
        .init(name: "cache-dir", help: "Cache directory (default ./outpost-cache).", repeatable: false) { c, v throws(SettingValueError) in
            guard !v.isEmpty else { throw SettingValueError(message: "the directory name is empty") }
            c.cacheDirectory = v
        },
        .init(name: "memory-size", help: "Memory cache bound, e.g. 256MiB (default 256MiB).", repeatable: false) { c, v throws(SettingValueError) in c.memorySize = try size(v) },
        .init(name: "disk-size", help: "Disk cache bound, e.g. 2GiB (default 2GiB).", repeatable: false) { c, v throws(SettingValueError) in c.diskSize = try size(v) },
        .init(name: "warm-memory", help: "At start-up, promote up to this many bytes of the most recently used disk objects into memory, in the background; 0 turns it off (default: half of --memory-size).", repeatable: false) { c, v throws(SettingValueError) in c.warmMemory = try size(v) },
        .init(name: "log-level", help: "trace, debug, info, notice, warning, error or critical (default info).", repeatable: false) { c, v throws(SettingValueError) in
            guard let level = Logger.Level(rawValue: v.lowercased()) else {
                throw SettingValueError(message: "\"\(v)\" is not one of trace, debug, info, notice, warning, error, critical")
            }
            c.logLevel = level
        },
        .init(name: "log-format", help: "Application log lines: text or json (default text).", repeatable: false) { c, v throws(SettingValueError) in c.logFormat = try choice(v) },
        .init(name: "access-log", help: "Access log: stdout, a file path (reopened on SIGUSR1), or off (default stdout).", repeatable: false) { c, v throws(SettingValueError) in
            guard !v.isEmpty else { throw SettingValueError(message: "give stdout, off or a file path") }
            c.accessLog = AccessLogDestination(v)
        },
        .init(name: "access-log-format", help: "Access log lines: combined (Apache/nginx, plus cache outcome, seconds, Cache-Status, origin) or json (default combined).", repeatable: false) { c, v throws(SettingValueError) in c.accessLogFormat = try choice(v) },
        .init(name: "threads", help: "Event loop threads (default: one per core).", repeatable: false) { c, v throws(SettingValueError) in c.threads = try count(v, in: 1...256) },
        .init(name: "connect-timeout", help: "Origin connect timeout (default 2s).", repeatable: false) { c, v throws(SettingValueError) in c.originClient.connectTimeout = try duration(v) },
        .init(name: "response-head-timeout", help: "Wait for an origin's response head (default 30s).", repeatable: false) { c, v throws(SettingValueError) in c.originClient.responseHeadTimeout = try duration(v) },
        .init(name: "idle-body-timeout", help: "Longest pause inside an origin's response body (default 30s).", repeatable: false) { c, v throws(SettingValueError) in c.originClient.idleBodyTimeout = try duration(v) },
        .init(name: "origin-ca-file", help: "PEM file of CA certificates trusted for https origins, besides the system roots (repeatable).", repeatable: true) { c, v throws(SettingValueError) in
            guard !v.isEmpty else { throw SettingValueError(message: "the file name is empty") }
            c.originClient.tls.certificateAuthorityFiles.append(v)
        },
        .init(name: "origin-tls-verify", help: "Verify https origins' certificates: full or none (default full; none is logged loudly).", repeatable: false) { c, v throws(SettingValueError) in c.originClient.tls.verification = try choice(v) },
        .init(name: "origin-sni", help: "Server name sent to and verified for https origins (default: each origin's host name).", repeatable: false) { c, v throws(SettingValueError) in
            guard !v.isEmpty, !v.contains(" ") else { throw SettingValueError(message: "\"\(v)\" is not a host name") }
            c.originClient.tls.serverName = v
        },
        .init(name: "origin-client-certificate", help: "PEM certificate chain presented to https origins that ask for one (mutual TLS).", repeatable: false) { c, v throws(SettingValueError) in c.originClient.tls.clientCertificateFile = v },
        .init(name: "origin-client-key", help: "PEM private key of --origin-client-certificate.", repeatable: false) { c, v throws(SettingValueError) in c.originClient.tls.clientKeyFile = v },
        .init(name: "origin-backoff", help: "First back-off after an origin's connect fails; doubles up to 30s (default 2s).", repeatable: false) { c, v throws(SettingValueError) in c.originClient.failureBackoff = try duration(v) },
        .init(name: "request-body-timeout", help: "Longest pause inside a request body before 408 (default 30s).", repeatable: false) { c, v throws(SettingValueError) in c.edge.requestBodyTimeout = try duration(v) },
        .init(name: "header-read-timeout", help: "Time a client has to send a whole request head (default 10s).", repeatable: false) { c, v throws(SettingValueError) in c.edge.headerReadTimeout = try duration(v) },
        .init(name: "keep-alive-timeout", help: "Idle keep-alive connections close after this (default 60s).", repeatable: false) { c, v throws(SettingValueError) in c.edge.keepAliveTimeout = try duration(v) },
        .init(name: "max-request-target", help: "Longest request target, 414 past it (default 8KiB).", repeatable: false) { c, v throws(SettingValueError) in c.edge.maximumRequestTargetLength = try size(v) },
        .init(name: "max-header-size", help: "Largest request head, 431 past it (default 32KiB).", repeatable: false) { c, v throws(SettingValueError) in c.edge.maximumHeaderBytes = try size(v) },
        .init(name: "max-headers", help: "Most request header lines, 431 past it (default 100).", repeatable: false) { c, v throws(SettingValueError) in c.edge.maximumHeaderCount = try count(v, in: 1...10_000) },
        .init(name: "max-request-body", help: "Largest request body, 413 past it (default 100MiB).", repeatable: false) { c, v throws(SettingValueError) in c.edge.maximumRequestBodyBytes = try size(v) },
        .init(name: "max-connections", help: "Most client connections at once (default 10000).", repeatable: false) { c, v throws(SettingValueError) in c.edge.maximumConnections = try count(v, in: 1...1_000_000) },
        .init(name: "host-header", help: "preserve (forward the client's Host) or origin (default preserve).", repeatable: false) { c, v throws(SettingValueError) in c.edge.forwarding.hostHeader = try choice(v) },
        .init(name: "forwarded-for", help: "X-Forwarded-For: append, replace or off (default append).", repeatable: false) { c, v throws(SettingValueError) in c.edge.forwarding.forwardedFor = try choice(v) },
        .init(name: "forwarded-proto", help: "Set X-Forwarded-Proto: true or false (default true).", repeatable: false) { c, v throws(SettingValueError) in c.edge.forwarding.forwardedProto = try bool(v) },
        .init(name: "via-name", help: "Pseudonym in Via headers (default outpost).", repeatable: false) { c, v throws(SettingValueError) in
            guard !v.isEmpty, v.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ",") }) else {
                throw SettingValueError(message: "\"\(v)\" is not a token (no spaces or commas)")
            }
            c.edge.forwarding.viaName = v
        },
        .init(name: "server-header", help: "Server header sent to clients; \"origin\" keeps the origin's, \"\" removes it (default Outpost).", repeatable: false) { c, v throws(SettingValueError) in
            // Sent verbatim on every response: printable ASCII only (RFC 9110 §5.5).
            guard v.utf8.allSatisfy({ $0 >= 32 && $0 < 127 }) else {
                throw SettingValueError(message: "\"\(v)\" must be printable ASCII")
            }
            c.edge.forwarding.serverHeader = v == "origin" ? nil : v
        },
        .init(name: "policy", help: "Cache rules file (default: the embedded cache-policy/default.yaml).", repeatable: false) { c, v throws(SettingValueError) in
            do {
                c.cache.rules = try PolicyFile.load(path: v)
                c.policyFile = v
            } catch {
                throw SettingValueError(message: "\(error)")
            }
        },
        .init(name: "shutdown-grace", help: "On SIGTERM/SIGINT, how long in-flight requests may finish (default 30s).", repeatable: false) { c, v throws(SettingValueError) in c.shutdownGracePeriod = try duration(v) },
    ]

    public static func named(_ name: String) -> NodeSetting? { all.first { $0.name == name } }

    // MARK: value parsers

    static func hostAndPort(_ text: String) throws(SettingValueError) -> HostAndPort {
        var host = Substring(text)
        guard let colon = text.lastIndex(of: ":") else {
            throw SettingValueError(message: "\"\(text)\" is not HOST:PORT")
        }
        host = text[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw SettingValueError(message: "\"\(text)\" is not HOST:PORT with a port from 0 to 65535")
        }
        return HostAndPort(host: String(host), port: port)
    }

    static func size(_ text: String) throws(SettingValueError) -> Int {
        guard let bytes = ByteSize.parse(text) else {
            throw SettingValueError(message: "\"\(text)\" is not a size (e.g. 512KiB, 256MiB, 2GiB)")
        }
        return bytes
    }

    static func duration(_ text: String) throws(SettingValueError) -> TimeAmount {
        guard let amount = DurationText.parse(text) else {
            throw SettingValueError(message: "\"\(text)\" is not a duration (e.g. 500ms, 2s, 5m, 1h)")
        }
        return amount
    }

    static func count(_ text: String, in range: ClosedRange<Int>) throws(SettingValueError) -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw SettingValueError(message: "\"\(text)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func bool(_ text: String) throws(SettingValueError) -> Bool {
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw SettingValueError(message: "\"\(text)\" is not true or false")
        }
    }

    static func choice<Choice: RawRepresentable & CaseIterable>(_ text: String) throws(SettingValueError) -> Choice where Choice.RawValue == String {
        guard let value = Choice(rawValue: text.lowercased()) else {
            throw SettingValueError(message: "\"\(text)\" is not one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}

/// Sizes like `512KiB`, `256MiB`, `2GiB` (binary) or `10MB` (decimal); a bare number is bytes.
public enum ByteSize {
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmed(of: " ")
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = Int(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).lowercased()
        let multiplier: Int
        switch unit {
        case "", "b": multiplier = 1
        case "k", "kib": multiplier = 1 << 10
        case "m", "mib": multiplier = 1 << 20
        case "g", "gib": multiplier = 1 << 30
        case "t", "tib": multiplier = 1 << 40
        case "kb": multiplier = 1_000
        case "mb": multiplier = 1_000_000
        case "gb": multiplier = 1_000_000_000
        case "tb": multiplier = 1_000_000_000_000
        default: return nil
        }
        let (result, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : result
    }

    public static func format(_ bytes: Int) -> String {
        for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return "\(bytes)B"
    }
}

/// Durations like `500ms`, `2s`, `5m`, `1h`; a bare number is seconds.
public enum DurationText {
    public static func parse(_ text: String) -> TimeAmount? {
        let trimmed = text.trimmed(of: " ")
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = Int64(digits), number < 1 << 40 else { return nil }
        switch trimmed.dropFirst(digits.count).lowercased() {
        case "ms": return .milliseconds(number)
        case "", "s": return .seconds(number)
        case "m": return .minutes(number)
        case "h": return .hours(number)
        default: return nil
        }
    }

    public static func format(_ amount: TimeAmount) -> String {
        let ms = amount.nanoseconds / 1_000_000
        if ms % 3_600_000 == 0 && ms > 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 && ms > 0 { return "\(ms / 60_000)m" }
        if ms % 1_000 == 0 { return "\(ms / 1_000)s" }
        return "\(ms)ms"
    }
}

extension String {
    func trimmed(of character: Character) -> String {
        var slice = self[...]
        while slice.first == character { slice = slice.dropFirst() }
        while slice.last == character { slice = slice.dropLast() }
        return String(slice)
    }
}
