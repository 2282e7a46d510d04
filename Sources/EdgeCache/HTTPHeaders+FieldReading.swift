// Lets the pure policy read NIO's headers directly (no copy on the hit path), and converts
// between NIO's headers and the policy's stored HeaderFields where a copy is needed anyway.
import CachePolicy
import NIOHTTP1

extension HTTPHeaders: HTTPFieldReading {
    public func fieldValues(_ name: String) -> [String] { self[name] }
    public func contains(_ name: String) -> Bool { contains(name: name) }
}

extension HeaderFields {
    public init(_ headers: HTTPHeaders) {
        self.init(headers.map { ($0.name, $0.value) })
    }
}

extension HTTPHeaders {
    public init(_ fields: HeaderFields) {
        self.init(fields.fields.map { ($0.name, $0.value) })
    }
}
