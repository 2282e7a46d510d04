// outpostctl reload: POST /reload, the same reload as SIGHUP. Prints what was applied live and
// what changed but waits for a restart; a failed reload exits 1 with the node's reason.
import AdminProtocol
import ArgumentParser

struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-read the node's config file, rules file and certificates, and apply what can change live.",
        discussion: """
            Rules, origins, TLS certificates and the log level change without a restart; open
            connections are kept. A configuration that fails to load changes nothing.
            """)

    @OptionGroup var admin: AdminOptions

    func run() async throws {
        let report: ReloadReport = try await admin.withClient { try await $0.post("/reload", body: [String: String]()) }
        if admin.json { printJSON(report); return }
        print("applied        \(report.applied.isEmpty ? "nothing" : report.applied.joined(separator: "; "))")
        if !report.needsRestart.isEmpty { print("needs restart  \(report.needsRestart.joined(separator: ", "))") }
    }
}
