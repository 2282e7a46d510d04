// A log handler that keeps what was logged in memory, so a test can assert on its lines (e.g.
// that a full disk is reported once, not once per request). One `LogRecords` is shared by every
// handler its `logger` makes.
import Logging
import Synchronization

public final class LogRecords: Sendable {
    private let records = Mutex<[(level: Logger.Level, message: String, metadata: String)]>([])

    public init() {}

    /// A logger whose every line, at any level, lands here.
    public func logger(label: String = "test.node") -> Logger {
        Logger(label: label) { _ in RecordingLogHandler(records: self) }
    }

    /// The default logger (label `test.node`).
    public var logger: Logger { logger() }

    public func append(_ level: Logger.Level, _ message: String, metadata: String = "") {
        records.withLock { $0.append((level, message, metadata)) }
    }

    public func messages(at level: Logger.Level) -> [String] {
        records.withLock { $0.filter { $0.level == level }.map(\.message) }
    }

    /// Each record at `level` as one line: the message, then its metadata as `key=value` pairs.
    public func lines(at level: Logger.Level) -> [String] {
        records.withLock { $0.filter { $0.level == level }.map { "\($0.message) \($0.metadata)" } }
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
        let merged = self.metadata.merging(metadata ?? [:]) { _, new in new }
        records.append(level, message.description,
                       metadata: merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }
}
