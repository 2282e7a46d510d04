// A log handler that keeps what a node logs in memory, so a test can assert on its lines (e.g.
// that a full disk is reported once, not once per request).
import Logging
import Synchronization

final class LogRecords: Sendable {
    private let records = Mutex<[(level: Logger.Level, message: String)]>([])

    /// A logger whose every line, at any level, lands here.
    var logger: Logger { Logger(label: "test.node") { _ in RecordingLogHandler(records: self) } }

    func append(_ level: Logger.Level, _ message: String) {
        records.withLock { $0.append((level, message)) }
    }

    func messages(at level: Logger.Level) -> [String] {
        records.withLock { $0.filter { $0.level == level }.map(\.message) }
    }
}

struct RecordingLogHandler: LogHandler {
    let records: LogRecords
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        records.append(level, message.description)
    }
}
