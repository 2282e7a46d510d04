// A log handler that keeps what was logged in memory, so a test can assert on its lines (e.g.
// that a full disk is reported once, not once per request). One `LogRecords` is shared by every
// handler its `logger` makes.
import Logging
import Synchronization

public final class LogRecords: Sendable {
    private let records = Mutex<[(level: Logger.Level, message: String)]>([])

    public init() {}

    /// A logger whose every line, at any level, lands here.
    public func logger(label: String = "test.node") -> Logger {
        Logger(label: label) { _ in RecordingLogHandler(records: self) }
    }

    /// The default logger (label `test.node`).
    public var logger: Logger { logger() }

    public func append(_ level: Logger.Level, _ message: String) {
        records.withLock { $0.append((level, message)) }
    }

    public func messages(at level: Logger.Level) -> [String] {
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
