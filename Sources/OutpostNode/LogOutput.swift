// Where the node's two logs go. The application log (swift-log, `--log-format text|json`) goes to
// standard output; the access log (`--access-log stdout|FILE|off`, `--access-log-format
// combined|json`) is a logger of its own whose handler writes bare access lines, without the
// application log's level and label, to standard output or to a file.
//
// A log file is appended to (O_APPEND, whole lines per write, so lines never interleave) and can be
// reopened by its path: after logrotate has moved it, SIGUSR1 makes `reopen()` create a new file
// and later lines go there, as nginx does. Access lines are held in a 64 KiB buffer for up to a
// second and written together, so a request costs no system call for its line; the buffer is
// written at reopen and at shutdown. Writes take a short lock (the descriptor may be swapped by a
// reopen, the buffer is shared by the event loops).
import EdgeHTTP
import Foundation
import Logging
import Synchronization
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--access-log`: standard output, a file, or nothing.
public enum AccessLogDestination: Sendable, Equatable, CustomStringConvertible {
    case standardOutput
    case file(String)
    case off

    public init(_ text: String) {
        switch text {
        case "stdout", "-": self = .standardOutput
        case "off": self = .off
        default: self = .file(text)
        }
    }

    public var description: String {
        switch self {
        case .standardOutput: "stdout"
        case .file(let path): path
        case .off: "off"
        }
    }
}

/// `--log-format`: the application log's lines.
public enum ApplicationLogFormat: String, Sendable, CaseIterable {
    /// swift-log's stream format: `2026-12-06T04:47:24+0000 info outpost : key=value message`.
    case text
    /// One JSON object per line: time, level, label, message, metadata, source.
    case json
}

/// A file lines are appended to, or standard output; reopenable by path. A buffered one (the
/// access log's) holds lines until `bufferBytes` wait or `flushInterval` has passed since the
/// first of them, then writes them in one go — as nginx's `access_log … buffer=64k flush=1s` —
/// so a request costs no write of its own; `flush()`, `reopen()` and deinit write what waits.
public final class LogFile: Sendable {
    /// Nil for standard output.
    public let path: String?
    /// Lines are held until this many bytes wait (0: one write per line).
    public let bufferBytes: Int
    /// How long the first line held may wait.
    public static let flushInterval: DispatchTimeInterval = .seconds(1)

    private struct State {
        var descriptor: Int32
        var pending: [UInt8] = []
        var flushScheduled = false

        /// Writes the lines held to the descriptor, if any, and empties the buffer.
        mutating func writePending() {
            guard !pending.isEmpty else { return }
            LogFile.writeAll(pending, to: descriptor)
            pending.removeAll(keepingCapacity: true)
        }
    }

    private let state: NIOLockedValueBox<State>

    public struct OpenError: Error, CustomStringConvertible {
        public var path: String
        public var code: Int32
        public var description: String { "cannot open \(path) for appending: \(String(cString: strerror(code)))" }
    }

    /// Standard output, a write per line (never closed, never reopened): the application log's.
    public static let standardOutput = LogFile(bufferBytes: 0)

    /// Standard output with lines buffered (the access log's when it goes there).
    public init(bufferBytes: Int) {
        path = nil
        self.bufferBytes = bufferBytes
        state = NIOLockedValueBox(State(descriptor: STDOUT_FILENO))
    }

    /// Opens (creating it, mode 0644) `path` for appending.
    public init(path: String, bufferBytes: Int = 0) throws(OpenError) {
        self.path = path
        self.bufferBytes = bufferBytes
        state = NIOLockedValueBox(State(descriptor: try Self.open(path)))
    }

    deinit {
        flush()
        let descriptor = state.withLockedValue { $0.descriptor }
        if path != nil { close(descriptor) }
    }

    private static func open(_ path: String) throws(OpenError) -> Int32 {
        let descriptor = Foundation.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw OpenError(path: path, code: errno) }
        return descriptor
    }

    /// Appends `line` and a newline: at once in one write, or to the lines held (written in
    /// one write when `bufferBytes` wait, or by the flush scheduled when the first was held).
    public func write(_ line: String) {
        write(bytes: Array(line.utf8))
    }

    /// The same for a line's bytes (without its newline).
    public func write(bytes line: [UInt8]) {
        let scheduleFlush = state.withLockedValue { state -> Bool in
            state.pending.append(contentsOf: line)
            state.pending.append(UInt8(ascii: "\n"))
            guard state.pending.count < bufferBytes else {
                state.writePending()
                return false
            }
            defer { state.flushScheduled = true }
            return !state.flushScheduled
        }
        if scheduleFlush {
            DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + Self.flushInterval) { [weak self] in
                self?.flush()
            }
        }
    }

    /// Writes the lines held, if any.
    public func flush() {
        state.withLockedValue { state in
            state.flushScheduled = false
            state.writePending()
        }
    }

    /// One write of all of `bytes` (a short write continues where it stopped).
    fileprivate static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// Opens the path again and swaps the descriptor (after a rotation moved the file away); the
    /// lines held go to the old file first. Standard output is left alone. On failure the old
    /// descriptor stays in use.
    public func reopen() throws(OpenError) {
        guard let path else { return }
        let fresh = try Self.open(path)
        let old = state.withLockedValue { state in
            let old = state.descriptor
            state.writePending()
            state.descriptor = fresh
            return old
        }
        close(old)
    }
}

/// The access log's handler: receives whole records (AccessRecordWriting) and writes each as one
/// line in its format. Plain messages logged to it are written as they are.
public struct AccessLogHandler: LogHandler, AccessRecordWriting {
    public let file: LogFile
    public let format: AccessLogFormat
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    public init(file: LogFile, format: AccessLogFormat) {
        self.file = file
        self.format = format
    }

    public func write(_ record: AccessRecord) {
        switch format {
        case .combined:
            var line: [UInt8] = []
            record.appendCombinedLine(to: &line)
            file.write(bytes: line)
        case .json:
            file.write(record.jsonLine)
        }
    }

    public func log(event: LogEvent) { file.write("\(event.message)") }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}

/// The application log as JSON lines: {"time","level","label","message","metadata","source"}.
public struct JSONLogHandler: LogHandler {
    public let label: String
    public let file: LogFile
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(label: String, file: LogFile = .standardOutput, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.file = file
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line = "{\"time\":" + AccessRecord.jsonString(AccessRecord.isoTimestamp(Date()))
        line += ",\"level\":" + AccessRecord.jsonString(event.level.rawValue)
        line += ",\"label\":" + AccessRecord.jsonString(label)
        line += ",\"message\":" + AccessRecord.jsonString("\(event.message)")
        if !merged.isEmpty { line += ",\"metadata\":" + Self.object(merged) }
        line += ",\"source\":" + AccessRecord.jsonString(event.source) + "}"
        file.write(line)
    }

    static func object(_ metadata: Logger.Metadata) -> String {
        "{" + metadata.sorted { $0.key < $1.key }.map { AccessRecord.jsonString($0.key) + ":" + value($0.value) }.joined(separator: ",") + "}"
    }

    static func value(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): AccessRecord.jsonString(text)
        case .stringConvertible(let convertible): AccessRecord.jsonString(convertible.description)
        case .array(let values): "[" + values.map(Self.value).joined(separator: ",") + "]"
        case .dictionary(let dictionary): object(dictionary)
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}

/// The loggers of one node process, made from its configuration.
public struct LogOutput: Sendable {
    /// The label of the access logger; the application log's labels are `outpost…`.
    public static let accessLabel = "outpost.access"
    /// The access log's file or standard output (reopened on SIGUSR1 when a file); nil when off.
    public let accessFile: LogFile?
    /// Access lines are written 64 KiB at a time, or a second after the first waiting.
    public static let accessBufferBytes = 64 * 1024
    public let accessLogger: Logger

    /// Opens the access log's destination.
    public init(configuration: NodeConfiguration) throws {
        switch configuration.accessLog {
        case .off:
            accessFile = nil
            accessLogger = Logger(label: Self.accessLabel) { _ in SwiftLogNoOpLogHandler() }
        case .standardOutput:
            let file = LogFile(bufferBytes: Self.accessBufferBytes)
            accessFile = file
            let handler = AccessLogHandler(file: file, format: configuration.accessLogFormat)
            accessLogger = Logger(label: Self.accessLabel) { _ in handler }
        case .file(let path):
            let file: LogFile
            do { file = try LogFile(path: path, bufferBytes: Self.accessBufferBytes) } catch {
                throw ConfigurationError(setting: "--access-log", message: error.description)
            }
            accessFile = file
            let handler = AccessLogHandler(file: file, format: configuration.accessLogFormat)
            accessLogger = Logger(label: Self.accessLabel) { _ in handler }
        }
    }

    /// The process-wide application log handler for `format`, at the live application level
    /// (`level` becomes it; a reload may change it later).
    public static func applicationHandler(label: String, format: ApplicationLogFormat, level: Logger.Level) -> any LogHandler {
        ApplicationLogLevel.current = level
        switch format {
        case .text:
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = .trace
            return LiveLevelLogHandler(inner: handler)
        case .json:
            return LiveLevelLogHandler(inner: JSONLogHandler(label: label, level: .trace))
        }
    }

    /// Writes the access lines held (at shutdown).
    public func flush() {
        accessFile?.flush()
    }

    /// Reopens every log file (SIGUSR1); a failure is reported and the old file kept.
    public func reopen(logger: Logger) {
        guard let accessFile, accessFile.path != nil else { return }
        do {
            try accessFile.reopen()
            logger.notice("log files reopened", metadata: ["access-log": "\(accessFile.path ?? "-")"])
        } catch {
            logger.error("log file not reopened; still writing to the old one", metadata: ["reason": "\(error)"])
        }
    }
}

/// The application log's level for the whole process; a reload changes it for every logger
/// already made, since their handlers read it on each message.
public enum ApplicationLogLevel {
    /// Every message asks for the level, so it is kept as a number (no array, no lock).
    private static let levels: [Logger.Level] = Logger.Level.allCases
    private static let raw = Atomic<Int>(2)  // Logger.Level.info

    public static var current: Logger.Level {
        get { levels[raw.load(ordering: .relaxed)] }
        set { raw.store(levels.firstIndex(of: newValue) ?? 2, ordering: .relaxed) }
    }
}

/// Wraps an application handler so its level is the live process level, unless a logger sets
/// its own.
struct LiveLevelLogHandler: LogHandler {
    var inner: any LogHandler
    private var own: Logger.Level?

    init(inner: any LogHandler) { self.inner = inner }

    var logLevel: Logger.Level {
        get { own ?? ApplicationLogLevel.current }
        set { own = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) { inner.log(event: event) }
}
