// One line per request, written when its response ends (or fails): client, request line,
// status, bytes sent, duration, the cache outcome and the origin that answered.
// 499 marks a client that went away before a response head was sent.
import Logging
import NIOCore

public struct AccessLog: Sendable {
    public let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    func record(_ exchange: Exchange) {
        guard logger.logLevel <= .info else { return }
        let elapsed = Double((NIODeadline.now() - exchange.started).nanoseconds) / 1_000_000
        let head = exchange.head
        var line = "\(exchange.client ?? "-") \"\(head.method.wireName) \(head.uri) HTTP/\(head.version.major).\(head.version.minor)\""
        line += " \(exchange.responseStatus.map(String.init) ?? "-") \(exchange.responseBytes)"
        // The Cache-Status member without the cache's name: "hit; ttl=…", "fwd=uri-miss; stored".
        let cache = exchange.cacheStatus.map { String($0.parameters.dropFirst(2)) }
        line += " \(Self.milliseconds(elapsed))ms cache=\"\(cache ?? "-")\" origin=\(exchange.origin?.description ?? "-")"
        if let note = exchange.failureNote { line += " error=\"\(note)\"" }
        logger.info("\(line)")
    }

    static func milliseconds(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
