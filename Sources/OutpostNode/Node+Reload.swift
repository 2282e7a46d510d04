// Reloading a running node (SIGHUP, `outpostctl reload`, `POST /reload`). What can change live is
// applied: the rules, the origins, the TLS certificates and the application log level; open
// connections are kept, and requests already under way finish as they began. A configuration
// that fails to load or validate changes nothing (the certificates, the one part that can still
// fail, load before anything is applied). Settings that only a restart applies are named in the
// report and in the log line.
import AdminHTTP
import AdminProtocol
import Foundation
import Logging
import PolicyFile

extension Node {
    /// Where a reload reads the configuration from; without one, the rules file (`--policy`) is
    /// read again on top of the running configuration.
    public func setReloadSource(_ source: @escaping @Sendable () throws -> NodeConfiguration) {
        reloadSource.withLockedValue { $0 = source }
    }

    /// Reads the configuration from the reload source and applies it (see `reload(_:)`).
    @discardableResult
    public func reloadFromSource() throws -> ReloadReport {
        let source = reloadSource.withLockedValue { $0 }
        let next: NodeConfiguration
        do {
            if let source {
                next = try source()
            } else {
                var running = liveConfiguration
                if let path = running.policyFile { running.cache.rules = try PolicyFile.load(path: path) }
                next = running
            }
        } catch {
            logger.error("reload failed; the running configuration stays", metadata: ["reason": "\(error)"])
            throw error
        }
        return try reload(next)
    }

    /// Applies what can change live of `next`; throws, changing nothing, when it is not usable.
    @discardableResult
    public func reload(_ proposed: NodeConfiguration) throws -> ReloadReport {
        try reloading.withLock {
            let running = liveConfiguration
            let next: NodeConfiguration
            do {
                next = try nextConfiguration(checked: proposed)
                if let tls { try tls.reload(next.tlsPairs) }
            } catch {
                logger.error("reload failed; the running configuration stays", metadata: ["reason": "\(error)"])
                throw error
            }
            var applied: [String] = []
            if tls != nil, !next.tlsPairs.isEmpty { applied.append("certificates (\(next.tlsPairs.count))") }
            engine.replaceRules(next.cache.rules)
            applied.append("rules (\(next.cache.rules.rules.count))")
            if next.origins.map(\.description) != running.origins.map(\.description) {
                origin.replaceOrigins(next.origins)
                applied.append("origins (\(next.origins.map(\.description).joined(separator: ",")))")
            }
            if next.logLevel != running.logLevel {
                ApplicationLogLevel.current = next.logLevel
                applied.append("log-level \(next.logLevel)")
            }
            let live: Set<String> = ["origins", "log-level", "policy", "rules"]
            let before = Dictionary(running.summaryItems.map(Self.setting), uniquingKeysWith: { first, _ in first })
            let needsRestart = next.summaryItems.map(Self.setting).filter { name, value in
                !live.contains(name) && before[name] != value
            }.map(\.0)
            // What a restart would apply stays as it runs; the rest is what runs now.
            var kept = running
            kept.cache.rules = next.cache.rules
            kept.policyFile = next.policyFile
            kept.origins = next.origins
            kept.logLevel = next.logLevel
            kept.tlsCertificateFiles = next.tlsCertificateFiles
            kept.tlsKeyFiles = next.tlsKeyFiles
            liveConfiguration = kept
            var metadata: Logger.Metadata = ["applied": "\(applied.joined(separator: "; "))"]
            if !needsRestart.isEmpty { metadata["needs-restart"] = "\(needsRestart.joined(separator: ","))" }
            logger.notice("configuration reloaded", metadata: metadata)
            return ReloadReport(applied: applied, needsRestart: needsRestart)
        }
    }

    private func nextConfiguration(checked next: NodeConfiguration) throws -> NodeConfiguration {
        var next = try next.validated()
        if tls == nil { next.tlsCertificateFiles = []; next.tlsKeyFiles = [] }
        return next
    }

    private static func setting(_ item: String) -> (String, String) {
        let parts = item.split(separator: "=", maxSplits: 1)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
}
