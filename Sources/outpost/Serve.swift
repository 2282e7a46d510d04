// `outpost serve`: runs the node with the effective configuration (defaults < --config file <
// flags) until SIGTERM or SIGINT, then finishes in-flight requests within the grace period.
// SIGUSR1 reopens the access log file (after logrotate moved it), as nginx does.
// The options mirror NodeSettings.all one for one (kept in step by a test).
import ArgumentParser
import Logging
import OutpostNode
import ServiceLifecycle
import UnixSignals

private func help(_ name: String) -> ArgumentHelp {
    ArgumentHelp(NodeSettings.named(name)?.help ?? "")
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the edge node in front of one or more origins.",
        discussion: "Every option can also be set in the YAML file given with --config, under the same name without the dashes (origin may be a list). Flags win over the file.")

    @Option(name: .customLong("config"), help: "YAML configuration file.")
    var config: String?

    @Option(name: .customLong("listen"), help: help("listen"))
    var listen: [String] = []
    @Option(name: .customLong("tls-listen"), help: help("tls-listen"))
    var tlsListen: [String] = []
    @Option(name: .customLong("forward-listen"), help: help("forward-listen"))
    var forwardListen: [String] = []
    @Option(name: .customLong("anonymity"), help: help("anonymity"))
    var anonymity: String?
    @Option(name: .customLong("anonymous-user-agent"), help: help("anonymous-user-agent"))
    var anonymousUserAgent: String?
    @Option(name: .customLong("tunnel-idle-timeout"), help: help("tunnel-idle-timeout"))
    var tunnelIdleTimeout: String?
    @Option(name: .customLong("tunnel-lifetime"), help: help("tunnel-lifetime"))
    var tunnelLifetime: String?
    @Option(name: .customLong("max-tunnels-per-client"), help: help("max-tunnels-per-client"))
    var maxTunnelsPerClient: String?
    @Option(name: .customLong("tls-certificate"), help: help("tls-certificate"))
    var tlsCertificate: [String] = []
    @Option(name: .customLong("tls-key"), help: help("tls-key"))
    var tlsKey: [String] = []
    @Option(name: .customLong("http2"), help: help("http2"))
    var http2: String?
    @Option(name: .customLong("origin"), help: help("origin"))
    var origin: [String] = []
    @Option(name: .customLong("admin-listen"), help: help("admin-listen"))
    var adminListen: String?
    @Option(name: .customLong("admin-token"), help: help("admin-token"))
    var adminToken: String?
    @Option(name: .customLong("cache-dir"), help: help("cache-dir"))
    var cacheDir: String?
    @Option(name: .customLong("memory-size"), help: help("memory-size"))
    var memorySize: String?
    @Option(name: .customLong("disk-size"), help: help("disk-size"))
    var diskSize: String?
    @Option(name: .customLong("warm-memory"), help: help("warm-memory"))
    var warmMemory: String?
    @Option(name: .customLong("log-level"), help: help("log-level"))
    var logLevel: String?
    @Option(name: .customLong("log-format"), help: help("log-format"))
    var logFormat: String?
    @Option(name: .customLong("access-log"), help: help("access-log"))
    var accessLog: String?
    @Option(name: .customLong("access-log-format"), help: help("access-log-format"))
    var accessLogFormat: String?
    @Option(name: .customLong("threads"), help: help("threads"))
    var threads: String?
    @Option(name: .customLong("connect-timeout"), help: help("connect-timeout"))
    var connectTimeout: String?
    @Option(name: .customLong("response-head-timeout"), help: help("response-head-timeout"))
    var responseHeadTimeout: String?
    @Option(name: .customLong("idle-body-timeout"), help: help("idle-body-timeout"))
    var idleBodyTimeout: String?
    @Option(name: .customLong("origin-backoff"), help: help("origin-backoff"))
    var originBackoff: String?
    @Option(name: .customLong("origin-ca-file"), help: help("origin-ca-file"))
    var originCAFile: [String] = []
    @Option(name: .customLong("origin-tls-verify"), help: help("origin-tls-verify"))
    var originTLSVerify: String?
    @Option(name: .customLong("origin-sni"), help: help("origin-sni"))
    var originSNI: String?
    @Option(name: .customLong("origin-client-certificate"), help: help("origin-client-certificate"))
    var originClientCertificate: String?
    @Option(name: .customLong("origin-client-key"), help: help("origin-client-key"))
    var originClientKey: String?
    @Option(name: .customLong("header-read-timeout"), help: help("header-read-timeout"))
    var headerReadTimeout: String?
    @Option(name: .customLong("request-body-timeout"), help: help("request-body-timeout"))
    var requestBodyTimeout: String?
    @Option(name: .customLong("keep-alive-timeout"), help: help("keep-alive-timeout"))
    var keepAliveTimeout: String?
    @Option(name: .customLong("max-request-target"), help: help("max-request-target"))
    var maxRequestTarget: String?
    @Option(name: .customLong("max-header-size"), help: help("max-header-size"))
    var maxHeaderSize: String?
    @Option(name: .customLong("max-headers"), help: help("max-headers"))
    var maxHeaders: String?
    @Option(name: .customLong("max-request-body"), help: help("max-request-body"))
    var maxRequestBody: String?
    @Option(name: .customLong("max-connections"), help: help("max-connections"))
    var maxConnections: String?
    @Option(name: .customLong("host-header"), help: help("host-header"))
    var hostHeader: String?
    @Option(name: .customLong("forwarded-for"), help: help("forwarded-for"))
    var forwardedFor: String?
    @Option(name: .customLong("forwarded-proto"), help: help("forwarded-proto"))
    var forwardedProto: String?
    @Option(name: .customLong("via-name"), help: help("via-name"))
    var viaName: String?
    @Option(name: .customLong("server-header"), help: help("server-header"))
    var serverHeader: String?
    @Option(name: .customLong("policy"), help: help("policy"))
    var policy: String?

    @Option(name: .customLong("shutdown-grace"), help: help("shutdown-grace"))
    var shutdownGrace: String?

    /// The flags given, as (setting name, value), origins first in the order given.
    var flags: [(name: String, value: String)] {
        var result: [(name: String, value: String)] = origin.map { ("origin", $0) }
        result += originCAFile.map { ("origin-ca-file", $0) }
        result += listen.map { ("listen", $0) } + tlsListen.map { ("tls-listen", $0) } + forwardListen.map { ("forward-listen", $0) }
        result += tlsCertificate.map { ("tls-certificate", $0) } + tlsKey.map { ("tls-key", $0) }
        let singles: [(String, String?)] = [
            ("http2", http2),
            ("anonymity", anonymity),
            ("anonymous-user-agent", anonymousUserAgent),
            ("tunnel-idle-timeout", tunnelIdleTimeout),
            ("tunnel-lifetime", tunnelLifetime),
            ("max-tunnels-per-client", maxTunnelsPerClient),
            ("admin-listen", adminListen),
            ("admin-token", adminToken),
            ("cache-dir", cacheDir),
            ("memory-size", memorySize),
            ("disk-size", diskSize),
            ("warm-memory", warmMemory),
            ("log-level", logLevel),
            ("log-format", logFormat),
            ("access-log", accessLog),
            ("access-log-format", accessLogFormat),
            ("threads", threads),
            ("connect-timeout", connectTimeout),
            ("response-head-timeout", responseHeadTimeout),
            ("idle-body-timeout", idleBodyTimeout),
            ("origin-backoff", originBackoff),
            ("origin-tls-verify", originTLSVerify),
            ("origin-sni", originSNI),
            ("origin-client-certificate", originClientCertificate),
            ("origin-client-key", originClientKey),
            ("header-read-timeout", headerReadTimeout),
            ("request-body-timeout", requestBodyTimeout),
            ("keep-alive-timeout", keepAliveTimeout),
            ("max-request-target", maxRequestTarget),
            ("max-header-size", maxHeaderSize),
            ("max-headers", maxHeaders),
            ("max-request-body", maxRequestBody),
            ("max-connections", maxConnections),
            ("host-header", hostHeader),
            ("forwarded-for", forwardedFor),
            ("forwarded-proto", forwardedProto),
            ("via-name", viaName),
            ("server-header", serverHeader),
            ("policy", policy),
            ("shutdown-grace", shutdownGrace),
        ]
        for (name, value) in singles { if let value { result.append((name, value)) } }
        return result
    }

    func run() async throws {
        let (configFile, flags) = (config, flags)
        let configuration = try ConfigurationLoader.load(configFile: configFile, flags: flags).validated()
        bootstrapLogging(level: configuration.logLevel, format: configuration.logFormat)
        let logger = Logger(label: "outpost")
        // The access log is a logger of its own, with its own destination and format.
        let output = try LogOutput(configuration: configuration)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: NodeService(configuration: configuration, logger: logger, accessLogger: output.accessLogger,
                                               reloadSource: { try ConfigurationLoader.load(configFile: configFile, flags: flags) })),
                    // Ends quietly at shutdown; its end must not cancel the node's graceful one.
                    .init(service: LogReopening(output: output, logger: logger), successTerminationBehavior: .ignore),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        // Access lines still held are written whichever way the node stops.
        defer { output.flush() }
        try await group.run()
    }
}

/// Reopens the log files on every SIGUSR1 until the node shuts down.
struct LogReopening: Service {
    let output: LogOutput
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigusr1)
        for await _ in signals.cancelOnGracefulShutdown() {
            output.reopen(logger: logger)
        }
    }
}
