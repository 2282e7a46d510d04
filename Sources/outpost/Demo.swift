// `outpost demo`: the first thing to run. Starts a sample origin and a node on loopback ports,
// sends a bounded Zipf-distributed burst through the node, prints a report, and exits.
import ArgumentParser
import Logging
import NIOCore
import OutpostNode

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a self-contained demonstration: sample origin, node, a burst of requests, a report.")

    @Option(help: "Requests to send (1 to 1000000).")
    var requests = 2_000

    @Option(help: "Requests in flight at once (1 to 256).")
    var concurrency = 16

    @Option(help: "Distinct URLs the requests are drawn from (Zipf-distributed).")
    var urls = 500

    @Option(help: "Stop sending after this many seconds even if requests remain.")
    var seconds = 60

    func validate() throws {
        guard (1...1_000_000).contains(requests) else { throw ValidationError("--requests must be from 1 to 1000000") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be from 1 to 256") }
        guard (1...100_000).contains(urls) else { throw ValidationError("--urls must be from 1 to 100000") }
        guard (1...3600).contains(seconds) else { throw ValidationError("--seconds must be from 1 to 3600") }
    }

    func run() async throws {
        bootstrapLogging(level: .info)
        var options = DemoOptions()
        options.requests = requests
        options.concurrency = concurrency
        options.distinctURLs = urls
        options.deadline = .seconds(Int64(seconds))
        let report = try await OutpostNode.Demo.run(options: options, logger: Logger(label: "outpost.demo"))
        print("\nOutpost demo: \(options.requests) requests over \(options.distinctURLs) URLs (Zipf), \(options.concurrency) at a time\n")
        print(report.text, terminator: "")
        if report.failures > 0 { throw ExitCode(1) }
    }
}
