// Reading what the clients report: this node's Cache-Status member as parameters, the expectation
// a step's response is held to, and the parts of a multipart/byteranges body.
import Foundation
import Testing

/// The last member of a Cache-Status field (RFC 9211 §2: each cache appends its own), e.g.
/// `Outpost; fwd=uri-miss; ttl=60; stored` → parameters `fwd: uri-miss, ttl: 60, stored: ?1`.
struct CacheStatusMember: CustomStringConvertible {
    var text: String
    var parameters: [String: String] = [:]

    init(field: String?) {
        text = field.flatMap { $0.split(separator: ",").last }.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        for piece in text.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            parameters[pair[0]] = pair.count > 1 ? pair[1] : "?1"  // a bare parameter is boolean true
        }
    }

    var isHit: Bool { parameters["hit"] == "?1" }
    var forward: String? { parameters["fwd"] }
    var isStored: Bool { parameters["stored"] == "?1" }
    var description: String { text.isEmpty ? "no Cache-Status" : text }
}

/// What a step's response must be.
struct ExpectedResponse: Sendable {
    var status: Int
    var body: String
    var cache: CacheOutcome
    /// Fields that must be present with exactly these values (names lowercased).
    var headers: [String: String] = [:]

    enum CacheOutcome: Sendable, CustomStringConvertible {
        /// `hit`, and no `fwd`.
        case hit
        /// The first GET of a cacheable URL: `fwd=uri-miss` and `stored`.
        case storedMiss
        /// Forwarded for the given `fwd` reason (e.g. `method` for POST), not a hit.
        case forwarded(String)
        /// Revalidated with the origin, which answered 304: `fwd=stale; fwd-status=304`.
        case revalidated

        var description: String {
            switch self {
            case .hit: "hit"
            case .storedMiss: "fwd=uri-miss; stored"
            case .forwarded(let reason): "fwd=\(reason)"
            case .revalidated: "fwd=stale; fwd-status=304"
            }
        }

        func matches(_ member: CacheStatusMember) -> Bool {
            switch self {
            case .hit: member.isHit && member.forward == nil
            case .storedMiss: !member.isHit && member.forward == "uri-miss" && member.isStored
            case .forwarded(let reason): !member.isHit && member.forward == reason
            case .revalidated: !member.isHit && member.forward == "stale" && member.parameters["fwd-status"] == "304"
            }
        }
    }

    static func ok(_ body: String, _ cache: CacheOutcome, headers: [String: String] = [:]) -> ExpectedResponse {
        ExpectedResponse(status: 200, body: body, cache: cache, headers: headers)
    }
}

/// A step and what its response must be.
struct ScriptedStep: Sendable {
    var request: ClientStep
    var expected: ExpectedResponse

    init(_ request: ClientStep, _ expected: ExpectedResponse) {
        self.request = request
        self.expected = expected
    }
}

extension ClientRun {
    /// Holds every step's result to its expectation: status, body, Cache-Status, fields. Long
    /// bodies are compared without printing them.
    func expectResponses(_ script: [ScriptedStep], sourceLocation: SourceLocation = #_sourceLocation) {
        for (index, (step, result)) in zip(script, results).enumerated() {
            let label = "\(client), step \(index + 1) \(step.request)"
            let expected = step.expected
            #expect(result.error == nil, "\(label): \(result)", sourceLocation: sourceLocation)
            #expect(result.status == expected.status, "\(label): \(result)", sourceLocation: sourceLocation)
            if expected.body.utf8.count <= 200 && result.body.utf8.count <= 200 {
                #expect(result.body == expected.body, "\(label)", sourceLocation: sourceLocation)
            } else {
                let same = result.body == expected.body
                #expect(same, "\(label): body of \(result.body.utf8.count) bytes differs from the expected \(expected.body.utf8.count)",
                        sourceLocation: sourceLocation)
            }
            #expect(expected.cache.matches(result.cacheStatus),
                    "\(label): Cache-Status \(result.cacheStatus), expected \(expected.cache)", sourceLocation: sourceLocation)
            for (name, value) in expected.headers.sorted(by: { $0.key < $1.key }) {
                #expect(result.header(name) == value, "\(label): field \(name)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// One part of a multipart/byteranges body (RFC 9110 §14.6).
struct BodyPart: Equatable, CustomStringConvertible {
    var contentRange: String?
    var data: String
    var description: String { "[\(contentRange ?? "no Content-Range")] \(data.utf8.count) bytes" }

    /// The parts of `body`, delimited by `boundary` (taken from Content-Type); nil when the body is
    /// not well formed.
    static func parts(of body: String, contentType: String?) -> [BodyPart]? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/byteranges"),
              let parameter = contentType.split(separator: ";").first(where: {
                  $0.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("boundary=")
              })
        else { return nil }
        let boundary = parameter.trimmingCharacters(in: .whitespaces).dropFirst("boundary=".count)
            .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        // Bytes, not Characters: Swift treats CRLF as one Character.
        let bytes = Array(body.utf8)
        let delimiter = Array("--\(boundary)".utf8)
        let lineBreak = Array("\r\n".utf8)
        var starts: [Int] = []
        var index = 0
        while index + delimiter.count <= bytes.count {
            if bytes[index..<(index + delimiter.count)].elementsEqual(delimiter) {
                starts.append(index)
                index += delimiter.count
            } else {
                index += 1
            }
        }
        // After the closing delimiter comes "--"; before the first, a preamble.
        guard starts.count >= 2, let closing = starts.last, bytes[(closing + delimiter.count)...].starts(with: Array("--".utf8))
        else { return nil }
        var parts: [BodyPart] = []
        for (open, next) in zip(starts, starts.dropFirst()) {
            let piece = Array(bytes[(open + delimiter.count)..<next])
            guard piece.starts(with: lineBreak), piece.suffix(2).elementsEqual(lineBreak),
                  let headEnd = (0..<max(0, piece.count - 3)).first(where: { piece[$0..<($0 + 4)].elementsEqual(lineBreak + lineBreak) })
            else { return nil }
            let head = headEnd > 2 ? String(decoding: piece[2..<headEnd], as: UTF8.self) : ""
            let contentRange = head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-range:") }
                .map { $0.dropFirst("content-range:".count).trimmingCharacters(in: .whitespaces) }
            // The CRLF before the next delimiter belongs to the delimiter.
            let dataStart = headEnd + 4
            let data = dataStart <= piece.count - 2 ? String(decoding: piece[dataStart..<(piece.count - 2)], as: UTF8.self) : ""
            parts.append(BodyPart(contentRange: contentRange, data: data))
        }
        return parts
    }
}
