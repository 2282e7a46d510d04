// One access-log record per request, made when its response ends (or fails), and the response
// metrics recorded at the same moment (duration by cache outcome, status class: Stats.responses).
//
// Two formats (`--access-log-format`), both one line per request:
// - `combined`: the Apache/nginx combined format, then four trailing fields:
//     client - - [06/Dec/2026:04:47:24 +0000] "GET /a HTTP/1.1" 200 512 "referer" "user-agent" hit 0.000412 "Outpost; hit; ttl=59" -
//   the cache outcome (hit, stale, revalidated, miss, pass, none), the request time in seconds,
//   the Cache-Status member this node added, and the origin that answered (or "-").
//   A request whose client went away before a response head was sent is logged with status 499.
//   On a forward listener the target is the absolute URL (or CONNECT's host:port) and a fifth
//   field names the access rule that decided it: `rule=NAME`.
// - `json`: one object per line with every field named (see `AccessRecord.jsonLine`).
//
// Where a record goes is the logger's business: a handler that is an `AccessRecordWriting` gets the
// record itself (it renders the format it was configured with and writes the line to standard
// output or a reopenable file); any other handler gets the combined line at level info.
import CachePolicy
import EdgeCache
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// The access log's line formats.
public enum AccessLogFormat: String, Sendable, CaseIterable {
    case combined
    case json
}

/// A log handler that takes access records whole rather than as messages.
public protocol AccessRecordWriting: Sendable {
    func write(_ record: AccessRecord)
}

public struct AccessLog: Sendable {
    public let logger: Logger
    /// Where the response metrics go; nil records none (pipeline tests).
    let stats: Stats?
    /// The logger's handler when it takes records whole: found once, not cast for every request.
    private let writer: (any AccessRecordWriting)?

    public init(logger: Logger, stats: Stats? = nil) {
        self.logger = logger
        self.stats = stats
        self.writer = logger.handler as? any AccessRecordWriting
    }

    func record(_ exchange: Exchange) {
        let elapsed = NIODeadline.now() - exchange.started
        let outcome = CacheOutcome(exchange.cacheStatus)
        stats?.responses.record(outcome: outcome, status: exchange.responseStatus, elapsed: elapsed)
        guard logger.logLevel <= .info else { return }
        let head = exchange.head
        let record = AccessRecord(
            time: Date(), client: exchange.client, method: head.method.wireName, target: exchange.absoluteTarget ?? head.uri,
            version: Self.versionText(head.version), status: exchange.responseStatus.map { Int($0) },
            bytes: exchange.responseBytes, referer: head.headers.first(name: "referer"),
            userAgent: head.headers.first(name: "user-agent"), host: head.headers.first(name: "host"),
            seconds: Double(elapsed.nanoseconds) / 1e9, outcome: outcome.label,
            cacheStatus: exchange.cacheStatusText, origin: exchange.origin?.description, error: exchange.failureNote,
            accessRule: exchange.accessRule)
        if let writer {
            writer.write(record)
        } else {
            logger.info("\(record.combinedLine)")
        }
    }

    /// "HTTP/1.1" and the other versions a request line or HTTP/2 can have, without formatting.
    static func versionText(_ version: HTTPVersion) -> String {
        switch (version.major, version.minor) {
        case (1, 1): "HTTP/1.1"
        case (1, 0): "HTTP/1.0"
        case (2, 0): "HTTP/2.0"
        default: "HTTP/\(version.major).\(version.minor)"
        }
    }
}

/// Everything the access log knows about one request.
public struct AccessRecord: Sendable, Equatable {
    /// When the response ended.
    public var time: Date
    public var client: String?
    public var method: String
    public var target: String
    /// "HTTP/1.1".
    public var version: String
    /// Nil when the client went away before a response head was sent.
    public var status: Int?
    /// Body bytes sent.
    public var bytes: Int
    public var referer: String?
    public var userAgent: String?
    public var host: String?
    /// From the request head to the response's end.
    public var seconds: Double
    /// `CacheOutcome.label`.
    public var outcome: String
    /// The Cache-Status member this node added.
    public var cacheStatus: String?
    public var origin: String?
    public var error: String?
    /// The access rule that decided a forward-proxy request (nil on reverse listeners).
    public var accessRule: String?

    public init(time: Date, client: String?, method: String, target: String, version: String, status: Int?, bytes: Int,
                referer: String?, userAgent: String?, host: String?, seconds: Double, outcome: String, cacheStatus: String?,
                origin: String?, error: String?, accessRule: String? = nil) {
        self.accessRule = accessRule
        self.time = time
        self.client = client
        self.method = method
        self.target = target
        self.version = version
        self.status = status
        self.bytes = bytes
        self.referer = referer
        self.userAgent = userAgent
        self.host = host
        self.seconds = seconds
        self.outcome = outcome
        self.cacheStatus = cacheStatus
        self.origin = origin
        self.error = error
    }

    public func line(_ format: AccessLogFormat) -> String {
        switch format {
        case .combined: combinedLine
        case .json: jsonLine
        }
    }

    /// The combined format plus outcome, request time, Cache-Status and origin (see the file header).
    public var combinedLine: String {
        var line: [UInt8] = []
        appendCombinedLine(to: &line)
        return String(decoding: line, as: UTF8.self)
    }

    /// Appends the combined line's bytes to `line` — what the access log writes for each request,
    /// so it is built byte by byte into one buffer, without intermediate strings.
    public func appendCombinedLine(to line: inout [UInt8]) {
        line.reserveCapacity(line.count + 256 + target.utf8.count + (userAgent?.utf8.count ?? 0))
        line.append(contentsOf: (client ?? "-").utf8)
        line.append(contentsOf: " - - [".utf8)
        Self.appendCommonLogTime(time, to: &line)
        line.append(contentsOf: "] \"".utf8)
        Self.appendEscaped(method, to: &line)
        line.append(UInt8(ascii: " "))
        Self.appendEscaped(target, to: &line)
        line.append(UInt8(ascii: " "))
        Self.appendEscaped(version, to: &line)
        line.append(contentsOf: "\" ".utf8)
        Self.appendDecimal(status ?? 499, to: &line)
        line.append(UInt8(ascii: " "))
        Self.appendDecimal(bytes, to: &line)
        line.append(contentsOf: " \"".utf8)
        Self.appendEscaped(referer ?? "-", to: &line)
        line.append(contentsOf: "\" \"".utf8)
        Self.appendEscaped(userAgent ?? "-", to: &line)
        line.append(contentsOf: "\" ".utf8)
        line.append(contentsOf: outcome.utf8)
        line.append(UInt8(ascii: " "))
        Self.appendSeconds(seconds, to: &line)
        line.append(contentsOf: " \"".utf8)
        Self.appendEscaped(cacheStatus ?? "-", to: &line)
        line.append(contentsOf: "\" ".utf8)
        line.append(contentsOf: (origin ?? "-").utf8)
        if let accessRule {
            line.append(contentsOf: " rule=".utf8)
            Self.appendEscaped(accessRule, to: &line)
        }
    }

    /// One JSON object: time, client, method, target, protocol, status, bytes, duration (seconds),
    /// cache (the outcome), cache_status, origin, host, referer, user_agent and error; absent
    /// values are null.
    public var jsonLine: String {
        var line = "{\"time\":"
        line += Self.jsonString(Self.isoTimestamp(time))
        line += ",\"client\":" + Self.jsonString(client)
        line += ",\"method\":" + Self.jsonString(method)
        line += ",\"target\":" + Self.jsonString(target)
        line += ",\"protocol\":" + Self.jsonString(version)
        line += ",\"status\":" + (status.map(String.init) ?? "499")
        line += ",\"bytes\":\(bytes)"
        line += ",\"duration\":" + Self.decimal(seconds)
        line += ",\"cache\":" + Self.jsonString(outcome)
        line += ",\"cache_status\":" + Self.jsonString(cacheStatus)
        line += ",\"origin\":" + Self.jsonString(origin)
        line += ",\"host\":" + Self.jsonString(host)
        line += ",\"referer\":" + Self.jsonString(referer)
        line += ",\"user_agent\":" + Self.jsonString(userAgent)
        line += ",\"error\":" + Self.jsonString(error)
        if let accessRule { line += ",\"access_rule\":" + Self.jsonString(accessRule) }
        line += "}"
        return line
    }

    // MARK: rendering

    /// Seconds with microseconds, as nginx's `$request_time` but finer: "0.000412".
    static func decimal(_ value: Double) -> String {
        var text: [UInt8] = []
        appendSeconds(value, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// `text` appended to `line` as a quoted combined field holds it: `"` and `\` and control
    /// bytes as `\xHH`, as nginx does.
    static func appendEscaped(_ text: String, to line: inout [UInt8]) {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 >= 0x7F }) else {
            line.append(contentsOf: text.utf8)
            return
        }
        for byte in text.utf8 {
            if byte < 0x20 || byte == 0x22 || byte == 0x5C || byte >= 0x7F {
                line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xf)]])
            } else {
                line.append(byte)
            }
        }
    }

    /// Seconds with six decimals appended to `line`.
    static func appendSeconds(_ value: Double, to line: inout [UInt8]) {
        let micros = Int((max(0, value) * 1_000_000).rounded())
        appendDecimal(micros / 1_000_000, to: &line)
        line.append(UInt8(ascii: "."))
        var fraction = micros % 1_000_000
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            for index in stride(from: 5, through: 0, by: -1) {
                buffer[index] = UInt8(ascii: "0") + UInt8(fraction % 10)
                fraction /= 10
            }
            line.append(contentsOf: buffer)
        }
    }

    /// An integer's decimal digits appended to `line` (a small string: no allocation).
    static func appendDecimal(_ value: Int, to line: inout [UInt8]) {
        line.append(contentsOf: String(value).utf8)
    }

    /// The last second rendered by `appendCommonLogTime`, and its text: requests within one
    /// second share it, as nginx caches its time strings.
    private static let renderedSecond = Mutex<(second: Int, text: [UInt8])>((-1, []))

    /// "06/Dec/2026:04:47:24 +0000" (UTC) appended to `line`.
    static func appendCommonLogTime(_ date: Date, to line: inout [UInt8]) {
        let second = Int(date.timeIntervalSince1970.rounded(.down))
        let cached = renderedSecond.withLock { $0.second == second ? $0.text : nil }
        if let cached {
            line.append(contentsOf: cached)
            return
        }
        let text = Array(commonLogTime(date).utf8)
        renderedSecond.withLock { $0 = (second, text) }
        line.append(contentsOf: text)
    }

    /// A JSON string literal (or null), escaped per RFC 8259 §7.
    public static func jsonString(_ text: String?) -> String {
        guard let text else { return "null" }
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// "06/Dec/2026:04:47:24 +0000" (UTC).
    static func commonLogTime(_ date: Date) -> String {
        let parts = utc(date)
        return "\(two(parts.day))/\(months[parts.month - 1])/\(parts.year):\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }

    /// "2026-12-06T04:47:24.123Z".
    public static func isoTimestamp(_ date: Date) -> String {
        let parts = utc(date)
        let millis = String(parts.millisecond)
        return "\(parts.year)-\(two(parts.month))-\(two(parts.day))T\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second))."
            + String(repeating: "0", count: 3 - millis.count) + millis + "Z"
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }

    /// The civil date and time in UTC, from the same day arithmetic HTTP dates use (HTTPDate.civil).
    static func utc(_ date: Date) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int) {
        let totalMillis = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
        var days = totalMillis / 86_400_000
        var millisOfDay = totalMillis % 86_400_000
        if millisOfDay < 0 { millisOfDay += 86_400_000; days -= 1 }
        let (year, month, day) = HTTPDate.civil(fromDays: days)
        let seconds = millisOfDay / 1000
        return (year, month, day, seconds / 3600, seconds % 3600 / 60, seconds % 60, millisOfDay % 1000)
    }
}
