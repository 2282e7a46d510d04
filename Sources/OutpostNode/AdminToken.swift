// Where the admin API's token comes from, in order: --admin-token (or the config file), the
// OUTPOST_ADMIN_TOKEN environment variable, or a token file in the cache directory, created at
// first start with mode 0600 from the system's random source. Its path is logged, never its value.
//
// Invariant: an admin listener on a non-loopback address never starts without a token the
// operator gave explicitly (flag, file setting or environment): a generated one would leave the
// API guarded only by a file the operator may not know exists.
import AdminProtocol
import Foundation
import Logging

enum AdminToken {
    static func resolve(_ configuration: NodeConfiguration, listen: HostAndPort, environment: [String: String],
                        logger: Logger) throws -> String {
        if let token = configuration.adminToken { return token }
        if let token = environment[AdminAPI.tokenEnvironmentVariable], !token.isEmpty {
            guard token.utf8.count >= 16 else {
                throw ConfigurationError(setting: AdminAPI.tokenEnvironmentVariable, message: "the token must be at least 16 characters")
            }
            return token
        }
        guard isLoopback(listen.host) else {
            throw ConfigurationError(
                setting: "--admin-listen",
                message: "the admin listener on \(listen) is not loopback; give a token with --admin-token or \(AdminAPI.tokenEnvironmentVariable)")
        }
        return try tokenFile(in: configuration.cacheDirectory, logger: logger)
    }

    /// A loopback address, written as one (127.0.0.0/8 in dotted-quad form, ::1), or `localhost`.
    /// A host name that merely starts with "127." (127.attacker.example) is not one.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.first == "127" else { return false }
        return octets.allSatisfy { octet in
            !octet.isEmpty && octet.count <= 3 && octet.allSatisfy(\.isASCII) && octet.allSatisfy(\.isNumber) && Int(octet)! <= 255
        }
    }

    /// Reads the token file, creating it (0600, exclusively) when absent.
    static func tokenFile(in directory: String, logger: Logger) throws -> String {
        let path = directory + "/" + AdminAPI.tokenFileName
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
                let token = existing.trimmingCharacters(in: .whitespacesAndNewlines)
                guard token.utf8.count >= 16 else {
                    throw ConfigurationError(setting: "--admin-token", message: "\(path) holds no usable token (at least 16 characters); remove it to have a new one made")
                }
                let mode = ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? 0
                if mode & 0o077 != 0 {
                    logger.warning("the admin token file is readable by others; it should be mode 0600", metadata: ["path": "\(path)"])
                }
                logger.notice("admin token read from its file", metadata: ["path": "\(path)"])
                return token
            }
            var generator = SystemRandomNumberGenerator()
            let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            defer { close(descriptor) }
            let line = Array((token + "\n").utf8)
            guard write(descriptor, line, line.count) == line.count else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            logger.notice("admin token created; read it from its file", metadata: ["path": "\(path)", "mode": "0600"])
            return token
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(setting: "--admin-token", message: "cannot read or create the token file \(path): \(error)")
        }
    }
}
