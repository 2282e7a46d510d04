// The persistent form of `StoredResponse`, as the disk tier keeps it in the `head` column of its
// index: JSON with a `version` member naming the layout, e.g. `{"version":1,"key":...}`.
//
// Invariants:
// - Every encoding carries `version`; the writer always writes `StoredResponse.currentFormatVersion`.
// - A reader decodes every version it knows and upgrades it into today's `StoredResponse`
//   (`formatVersion` is then the current one); a version it does not know is an error, never a
//   guess, so a newer writer's rows are not misread by an older build.
// - `reuseFacts` is derived, never persisted: a decoded response has none, and its user
//   recomputes them.
import CachePolicy
import Foundation

extension StoredResponse {
    /// Why a stored head could not be decoded.
    public enum HeadDecodingError: Error, CustomStringConvertible {
        case unknownVersion(found: Int, newestKnown: Int)

        public var description: String {
            switch self {
            case .unknownVersion(let found, let newestKnown):
                "stored response head has format version \(found); this build knows versions up to \(newestKnown)"
            }
        }
    }

    /// Layout 1: every stored property of `StoredResponse` under its own name.
    struct EncodedHeadVersion1: Codable {
        var version: Int
        var key: String
        var variantKey: String
        var varyFieldNames: [String]
        var url: String
        var host: String
        var status: Int
        var fields: HeaderFields
        var requestTime: Timestamp
        var responseTime: Timestamp
        var softPurgedAt: Timestamp?
        var tags: [String]
        var bodyLength: Int
    }

    /// Only the version tag, read first to choose the layout.
    private struct EncodedHeadVersion: Decodable {
        var version: Int
    }

    /// The head in the newest layout.
    public func encodedHead() throws -> Data {
        let head = EncodedHeadVersion1(
            version: Self.currentFormatVersion, key: key, variantKey: variantKey, varyFieldNames: varyFieldNames,
            url: url, host: host, status: status, fields: fields, requestTime: requestTime,
            responseTime: responseTime, softPurgedAt: softPurgedAt, tags: tags, bodyLength: bodyLength)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(head)
    }

    /// Decodes a head written by this or an older build, upgrading it to the current layout.
    public static func decodeHead(_ data: Data) throws -> StoredResponse {
        let decoder = JSONDecoder()
        let version = try decoder.decode(EncodedHeadVersion.self, from: data).version
        switch version {
        case 1:
            let head = try decoder.decode(EncodedHeadVersion1.self, from: data)
            return StoredResponse(
                key: head.key, variantKey: head.variantKey, varyFieldNames: head.varyFieldNames, url: head.url,
                host: head.host, status: head.status, fields: head.fields, requestTime: head.requestTime,
                responseTime: head.responseTime, softPurgedAt: head.softPurgedAt, tags: head.tags,
                bodyLength: head.bodyLength)
        default:
            throw HeadDecodingError.unknownVersion(found: version, newestKnown: currentFormatVersion)
        }
    }
}
