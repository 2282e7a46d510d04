// The node's effective configuration: defaults, overlaid by the YAML file given with --config,
// overlaid by command-line flags. Every setting is declared once in `NodeSettings.all`, so a
// flag and its config-file key share one name, one parser and one error message.
import AdminHTTP
import CachePolicy
import EdgeCache
import EdgeHTTP
import Logging
import NIOCore
import OriginClient
import PolicyFile

public struct HostAndPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) { self.host = host; self.port = port }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct NodeConfiguration: Sendable {
    public static let defaultListen = HostAndPort(host: "127.0.0.1", port: 8080)
    /// Plain HTTP listeners (`--listen`, repeatable); nil until one is given. With none given the
    /// node listens on 127.0.0.1:8080, unless TLS listeners are given: then on those alone.
    public var listens: [HostAndPort]?
    /// The first plain listener; setting it makes it the only one.
    public var listen: HostAndPort {
        get { listens?.first ?? Self.defaultListen }
        set { listens = [newValue] }
    }
    /// The plain listeners that start.
    public var plainListens: [HostAndPort] { listens ?? (tlsListens.isEmpty ? [Self.defaultListen] : []) }
    /// TLS listeners (`--tls-listen`, repeatable), served with `tlsCertificates`.
    public var tlsListens: [HostAndPort] = []
    /// Forward proxy listeners (`--forward-listen`, repeatable); see EdgeHTTP's ForwardProxy.
    public var forwardListens: [HostAndPort] = []
    /// Certificate/key pairs for the TLS listeners, paired in order (`--tls-certificate`,
    /// `--tls-key`); the client's SNI name picks one, the first is the default.
    public var tlsCertificateFiles: [String] = []
    public var tlsKeyFiles: [String] = []
    /// HTTP/2 on the TLS listeners, negotiated by ALPN (`--http2 on|off`).
    public var http2 = true
    public var tlsPairs: [TLSCertificatePair] {
        zip(tlsCertificateFiles, tlsKeyFiles).map { TLSCertificatePair(certificateFile: $0, keyFile: $1) }
    }
    public var origins: [OriginServer] = []
    /// The admin listener; nil turns it off (`--admin-listen off`).
    public var adminListen: HostAndPort? = HostAndPort(host: "127.0.0.1", port: 8081)
    /// The admin token given with --admin-token (or the config file); never logged. When nil,
    /// OUTPOST_ADMIN_TOKEN is used, else a token file in the cache directory (loopback only).
    public var adminToken: String?
    public var cacheDirectory = "./outpost-cache"
    public var memorySize = 256 * 1024 * 1024
    public var diskSize = 2 * 1024 * 1024 * 1024
    /// Body bytes of the most recently used disk objects promoted into memory at start-up, in
    /// the background; nil means half of `memorySize`, 0 turns warming off.
    public var warmMemory: Int?
    /// The warming budget in force.
    public var warmMemoryBytes: Int { min(warmMemory ?? memorySize / 2, memorySize) }
    public var logLevel = Logger.Level.info
    /// The application log's line format (`--log-format`).
    public var logFormat = ApplicationLogFormat.text
    /// Where access lines go (`--access-log`), apart from the application log.
    public var accessLog = AccessLogDestination.standardOutput
    /// The access log's line format (`--access-log-format`).
    public var accessLogFormat = AccessLogFormat.combined
    public var shutdownGracePeriod = TimeAmount.seconds(30)
    /// Event loop threads; defaults to one per core.
    public var threads = System.coreCount
    public var edge = EdgeConfiguration()
    /// The admin listener's connection cap and timeouts.
    public var adminLimits = AdminLimits()
    public var originClient = OriginClientConfiguration()
    /// The cache engine's settings; `cache.rules` come from --policy or the embedded default.
    public var cache = CacheConfiguration()
    /// The rules file given with --policy, if any (for the start-up line).
    public var policyFile: String?

    public init() {
        // The shipped rules are embedded, so a node runs with no files at all.
        cache.rules = (try? PolicyFile.defaultRules()) ?? PolicyRules()
    }

    /// Checks that need the whole configuration (single values are checked as they are parsed).
    public func validated() throws -> NodeConfiguration {
        if origins.isEmpty {
            throw ConfigurationError(setting: "--origin", message: "at least one origin is required (e.g. --origin http://127.0.0.1:9000)")
        }
        if !tlsListens.isEmpty || !tlsCertificateFiles.isEmpty || !tlsKeyFiles.isEmpty {
            guard tlsCertificateFiles.count == tlsKeyFiles.count else {
                throw ConfigurationError(setting: "--tls-key", message: "\(tlsCertificateFiles.count) --tls-certificate and \(tlsKeyFiles.count) --tls-key: give them in pairs")
            }
            guard !tlsListens.isEmpty else {
                throw ConfigurationError(setting: "--tls-listen", message: "certificates are given but no TLS listener")
            }
            do {
                _ = try TLSTermination(pairs: tlsPairs, http2: http2)
            } catch let error as TLSTerminationError {
                throw ConfigurationError(setting: error.setting, message: error.message)
            }
        }
        if origins.contains(where: { $0.scheme == "https" }) {
            // Made once here so an unreadable CA bundle or key stops start-up with its name.
            do {
                _ = try originClient.tls.makeContext()
            } catch let error as OriginTLSError {
                throw ConfigurationError(setting: error.setting, message: error.message)
            }
        }
        return self
    }

    /// One line per setting, for the start-up log.
    public var summary: String { summaryItems.joined(separator: " ") }

    /// Each setting as `name=value`, in the start-up line's order.
    public var summaryItems: [String] {
        let forwarding = edge.forwarding
        return [
            "listen=\(plainListens.map(\.description).joined(separator: ","))",
            "tls-listen=\(tlsListens.isEmpty ? "off" : tlsListens.map(\.description).joined(separator: ","))",
            "forward-listen=\(forwardListens.isEmpty ? "off" : forwardListens.map(\.description).joined(separator: ","))",
            "anonymity=\(edge.forward.anonymity.rawValue)",
            "http2=\(http2 ? "on" : "off")", "origins=\(origins.map(\.description).joined(separator: ","))",
            "admin-listen=\(adminListen.map(\.description) ?? "off")",
            "admin-token=\(adminToken == nil ? "(environment or token file)" : "(given)")", "cache-dir=\(cacheDirectory)",
            "memory-size=\(ByteSize.format(memorySize))", "disk-size=\(ByteSize.format(diskSize))",
            "warm-memory=\(ByteSize.format(warmMemoryBytes))",
            "log-level=\(logLevel)", "log-format=\(logFormat.rawValue)", "access-log=\(accessLog)",
            "access-log-format=\(accessLogFormat.rawValue)", "threads=\(threads)",
            "connect-timeout=\(DurationText.format(originClient.connectTimeout))",
            "response-head-timeout=\(DurationText.format(originClient.responseHeadTimeout))",
            "idle-body-timeout=\(DurationText.format(originClient.idleBodyTimeout))",
            "header-read-timeout=\(DurationText.format(edge.headerReadTimeout))",
            "request-body-timeout=\(DurationText.format(edge.requestBodyTimeout))",
            "keep-alive-timeout=\(DurationText.format(edge.keepAliveTimeout))",
            "max-request-target=\(ByteSize.format(edge.maximumRequestTargetLength))",
            "max-header-size=\(ByteSize.format(edge.maximumHeaderBytes))",
            "max-headers=\(edge.maximumHeaderCount)",
            "max-request-body=\(ByteSize.format(edge.maximumRequestBodyBytes))",
            "max-connections=\(edge.maximumConnections)",
            "origin-backoff=\(DurationText.format(originClient.failureBackoff))",
            "origin-ca-file=\(originClient.tls.certificateAuthorityFiles.isEmpty ? "(system roots)" : originClient.tls.certificateAuthorityFiles.joined(separator: ","))",
            "origin-tls-verify=\(originClient.tls.verification.rawValue)",
            "host-header=\(forwarding.hostHeader.rawValue)", "forwarded-for=\(forwarding.forwardedFor.rawValue)",
            "forwarded-proto=\(forwarding.forwardedProto)", "via-name=\(forwarding.viaName)",
            "server-header=\(forwarding.serverHeader.map { $0.isEmpty ? "(removed)" : $0 } ?? "(origin's)")",
            "shutdown-grace=\(DurationText.format(shutdownGracePeriod))",
            "policy=\(policyFile ?? "(embedded default)")", "rules=\(cache.rules.rules.count)",
            "eviction=\(cache.rules.eviction.rawValue)",
        ]
    }
}

/// A setting that could not be used; `setting` names the flag or `file:line: key`.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public var setting: String
    public var message: String
    public init(setting: String, message: String) { self.setting = setting; self.message = message }
    public var description: String { "invalid \(setting): \(message)" }
}
