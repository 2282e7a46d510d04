// The `outpost` executable: the composition root. `serve` runs the node until SIGTERM/SIGINT;
// `demo` runs a self-contained demonstration and exits. Any unusable flag or config value stops
// start-up with one line naming it and exit code 2.
import AdminProtocol
import ArgumentParser
import Foundation
import Logging
import OutpostNode
import ServiceLifecycle

@main
struct OutpostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost",
        abstract: "Outpost, a caching CDN edge node.",
        version: "outpost \(OutpostRelease.version)",
        subcommands: [Serve.self, Demo.self])

    /// ArgumentParser exits 64 on usage errors; Outpost promises 2, with one line on stderr.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("outpost: \(error)\n".utf8))
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error)
            if !message.isEmpty { FileHandle.standardError.write(Data("outpost: \(message)\n".utf8)) }
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

/// Sends the application log (swift-log) to standard output at the configured level, as text or
/// JSON lines. The access log has its own handler (LogOutput), whatever this bootstraps.
func bootstrapLogging(level: Logger.Level, format: ApplicationLogFormat = .text) {
    LoggingSystem.bootstrap { label in
        LogOutput.applicationHandler(label: label, format: format, level: level)
    }
}
