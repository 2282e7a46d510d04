// How the node trusts its https origins: the system roots plus an operator's CA bundle
// (`--origin-ca-file`, for a distant origin behind a private CA or a self-signed certificate),
// full verification unless the operator turns it off (`--origin-tls-verify none`, logged loudly at
// start-up), the server name sent (`--origin-sni`, else the origin's host name; never an IP
// literal, RFC 6066 §3), and optionally a client certificate for mutual TLS.
// `makeContext` is called once, at start-up, so a CA or key file that cannot be read stops the node
// with one line naming it instead of failing every request.
import NIOSSL

public struct OriginTLS: Sendable, Equatable {
    public enum Verification: String, Sendable, CaseIterable {
        /// The certificate chain and the host name are checked (the default).
        case full
        /// Nothing is checked: anyone on the path can impersonate the origin.
        case none
    }

    /// PEM files whose certificates are trusted in addition to the system roots.
    public var certificateAuthorityFiles: [String] = []
    public var verification: Verification = .full
    /// The server name sent and verified instead of each origin's host name.
    public var serverName: String?
    /// A PEM certificate chain and its PEM private key, presented to origins that ask (mutual TLS).
    public var clientCertificateFile: String?
    public var clientKeyFile: String?

    public init() {}

    /// The client TLS context for https origins. Throws `OriginTLSError` naming the file at fault.
    public func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.additionalTrustRoots = certificateAuthorityFiles.map { .file($0) }
        for file in certificateAuthorityFiles {
            do {
                _ = try NIOSSLCertificate.fromPEMFile(file)
            } catch {
                throw OriginTLSError(setting: "--origin-ca-file", message: "\(file) holds no PEM certificate we can read: \(error)")
            }
        }
        configuration.certificateVerification = verification == .full ? .fullVerification : .none
        switch (clientCertificateFile, clientKeyFile) {
        case (nil, nil):
            break
        case (let certificate?, let key?):
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            } catch {
                throw OriginTLSError(setting: "--origin-client-certificate", message: "\(certificate): \(error)")
            }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw OriginTLSError(setting: "--origin-client-key", message: "\(key): \(error)")
            }
        default:
            throw OriginTLSError(setting: "--origin-client-certificate",
                                 message: "a client certificate and its key are given together or not at all")
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw OriginTLSError(setting: "--origin-ca-file", message: "the origin TLS settings do not make a TLS context: \(error)")
        }
    }
}

/// An origin TLS setting that cannot be used, named as the operator wrote it.
public struct OriginTLSError: Error, CustomStringConvertible {
    public var setting: String
    public var message: String
    public var description: String { "invalid \(setting): \(message)" }
}
