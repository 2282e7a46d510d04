// TLS termination for the TLS listeners (SwiftNIO SSL): one or more certificate/key pairs (PEM),
// chosen by the SNI name the client sends, the first pair being the default; TLS 1.2 and 1.3 with
// BoringSSL's modern default ciphers; ALPN offering `h2` (when HTTP/2 is on) and `http/1.1`.
//
// Invariants: every pair is loaded and checked when the termination is made (a bad file stops
// start-up with the file's name); the contexts are immutable and swapped whole by `reload`, so a
// handshake in progress keeps the context it started with and the next one gets the new pairs.
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

public struct TLSCertificatePair: Sendable, Equatable {
    public var certificateFile: String
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// A certificate or key that cannot be used, named as the operator gave it.
public struct TLSTerminationError: Error, CustomStringConvertible {
    public var setting: String
    public var message: String
    public var description: String { "invalid \(setting): \(message)" }
}

public final class TLSTermination: Sendable {
    /// One loaded pair: its chain, key, and the DNS names (wildcards included) its certificate covers.
    struct Identity: Sendable {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        let names: [String]
    }

    /// The loaded pairs and the one context that serves them all.
    struct Identities: Sendable {
        let all: [Identity]
        let context: NIOSSLContext
    }

    public let http2: Bool
    private let identities: NIOLockedValueBox<Identities>

    /// Loads every pair; throws TLSTerminationError naming the first that cannot be used.
    public init(pairs: [TLSCertificatePair], http2: Bool) throws {
        self.http2 = http2
        self.identities = NIOLockedValueBox(try Self.load(pairs, http2: http2))
    }

    /// Loads `pairs` anew (SIGHUP); the running ones stay when any of them fails.
    public func reload(_ pairs: [TLSCertificatePair]) throws {
        let loaded = try Self.load(pairs, http2: http2)
        identities.withLockedValue { $0 = loaded }
    }

    /// The server handler for a new connection.
    func makeHandler() -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: identities.withLockedValue { $0.context })
    }

    /// ALPN identifiers offered, most preferred first.
    static func applicationProtocols(http2: Bool) -> [String] {
        http2 ? ["h2", "http/1.1"] : ["http/1.1"]
    }

    private static func load(_ pairs: [TLSCertificatePair], http2: Bool) throws -> Identities {
        guard !pairs.isEmpty else {
            throw TLSTerminationError(setting: "--tls-certificate", message: "a TLS listener needs at least one --tls-certificate and --tls-key")
        }
        var all: [Identity] = []
        for pair in pairs {
            let chain: [NIOSSLCertificate]
            do {
                chain = try NIOSSLCertificate.fromPEMFile(pair.certificateFile)
            } catch {
                throw TLSTerminationError(setting: "--tls-certificate", message: "\(pair.certificateFile): \(error)")
            }
            guard let leaf = chain.first else {
                throw TLSTerminationError(setting: "--tls-certificate", message: "\(pair.certificateFile) holds no certificate")
            }
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(file: pair.keyFile, format: .pem)
            } catch {
                throw TLSTerminationError(setting: "--tls-key", message: "\(pair.keyFile): \(error)")
            }
            var names: [String] = []
            for name in leaf._subjectAlternativeNames() where name.nameType == .dnsName {
                names.append(String(decoding: name.contents, as: UTF8.self).lowercased())
            }
            all.append(Identity(chain: chain, key: key, names: names))
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: all[0].chain.map { .certificate($0) }, privateKey: .privateKey(all[0].key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = applicationProtocols(http2: http2)
        if all.count > 1 {
            // Several pairs: the client's SNI name picks one, per handshake.
            let choices = all
            configuration.sslContextCallback = { values, promise in
                let chosen = Identities.pick(choices, serverName: values.serverHostname)
                var override = NIOSSLContextConfigurationOverride()
                override.certificateChain = chosen.chain.map { .certificate($0) }
                override.privateKey = .privateKey(chosen.key)
                promise.succeed(override)
            }
        }
        do {
            return Identities(all: all, context: try NIOSSLContext(configuration: configuration))
        } catch {
            throw TLSTerminationError(setting: "--tls-key", message: "the certificate and key do not make a TLS context: \(error)")
        }
    }
}

extension TLSTermination.Identities {
    static func pick(_ all: [TLSTermination.Identity], serverName: String?) -> TLSTermination.Identity {
        guard let name = serverName?.lowercased() else { return all[0] }
        if let exact = all.first(where: { $0.names.contains(name) }) { return exact }
        if let dot = name.firstIndex(of: ".") {
            let wildcard = "*" + name[dot...]
            if let covered = all.first(where: { $0.names.contains(wildcard) }) { return covered }
        }
        return all[0]
    }
}
