// outpostctl purge: POST /purge with exactly one selector (a URL, --prefix, --tag or --all);
// anything else is a usage error (exit 2) before the node is asked. Prints the receipt.
import AdminProtocol
import ArgumentParser
import Foundation

struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove (or, with --soft, mark stale) stored responses by URL, prefix, tag, or all of them.",
        discussion: """
            Examples:
              outpostctl purge http://example.com/index.html
              outpostctl purge --prefix example.com/img/ --soft
              outpostctl purge --tag product-42 --dry-run
            """)

    @Argument(help: "An absolute URL (http://host/path?query): every stored variant of it.") var url: String?
    @Option(help: "http://host/path (that scheme), host/path (both schemes) or /path (every host).") var prefix: String?
    @Option(help: "A Surrogate-Key, Cache-Tag or Cache-Groups value.") var tag: String?
    @Flag(help: "Everything stored.") var all = false
    @Flag(help: "Mark stale instead of removing: the next request revalidates.") var soft = false
    @Flag(name: .customLong("dry-run"), help: "Count what would be purged; change nothing.") var dryRun = false
    @OptionGroup var admin: AdminOptions

    var request: PurgeRequest {
        PurgeRequest(url: url, prefix: prefix, tag: tag, all: all ? true : nil, soft: soft ? true : nil, dryRun: dryRun ? true : nil)
    }

    func validate() throws {
        let selectors = [url != nil, prefix != nil, tag != nil, all].filter { $0 }.count
        guard selectors == 1 else { throw ValidationError("give exactly one of URL, --prefix, --tag or --all") }
        if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ValidationError("the URL must be absolute (http://host/path); for a path on every host use --prefix")
        }
        if prefix?.isEmpty == true || tag?.isEmpty == true { throw ValidationError("--prefix and --tag take a non-empty value") }
    }

    func run() async throws {
        let receipt: PurgeReceipt = try await admin.withClient { try await $0.post("/purge", body: request) }
        if admin.json { printJSON(receipt) } else { print(receiptTable(receipt)) }
    }
}

func receiptTable(_ receipt: PurgeReceipt) -> String {
    let verb = receipt.dryRun ? (receipt.soft ? "would mark stale" : "would purge") : (receipt.soft ? "marked stale" : "purged")
    var lines = [
        "\(verb) by \(receipt.mode)\(receipt.value.map { " \($0)" } ?? "")",
        "objects    \(receipt.objects)",
        "variants   \(receipt.variants)",
        "bytes      \(byteCount(receipt.bytes))",
        "memory     \(counted(receipt.memory.variants, "variant")), \(byteCount(receipt.memory.bytes))",
    ]
    if let disk = receipt.disk { lines.append("disk       \(counted(disk.variants, "variant")), \(byteCount(disk.bytes))") }
    lines.append("time       \(String(format: "%.1f", receipt.milliseconds)) ms")
    return lines.joined(separator: "\n")
}
