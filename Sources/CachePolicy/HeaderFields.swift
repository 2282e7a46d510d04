// HeaderFields: the header section of a stored or test message, and the read-only view
// (`HTTPFieldReading`) every policy function is generic over.
//
// Invariants: field order is kept exactly as received (RFC 9110 §5.3: the order of field lines
// with the same name is significant); names compare case-insensitively (RFC 9110 §5.1);
// values are stored as received, without the surrounding whitespace.

/// Read access to a message's header fields.
public protocol HTTPFieldReading {
    /// Every field line value with this name (case-insensitive), in order; empty when absent.
    func fieldValues(_ name: String) -> [String]
}

extension HTTPFieldReading {
    /// Whether at least one line with this name is present.
    public func contains(_ name: String) -> Bool {
        !fieldValues(name).isEmpty
    }

    /// All lines with this name combined into one value with ", " (RFC 9110 §5.3), or nil when absent.
    public func combinedValue(_ name: String) -> String? {
        let values = fieldValues(name)
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }

    /// The members of a list-based field (RFC 9110 §5.6.1): every line split on commas outside
    /// quoted strings, each member trimmed, empty members dropped.
    public func listMembers(_ name: String) -> [String] {
        fieldValues(name).flatMap { FieldSyntax.splitList($0) }
    }
}

/// One header field line.
public struct HeaderField: Hashable, Sendable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// An ordered list of header field lines with case-insensitive lookup.
public struct HeaderFields: HTTPFieldReading, Sendable, Hashable, Codable, ExpressibleByArrayLiteral {
    /// The lines, in order.
    public private(set) var fields: [HeaderField]

    public init() {
        fields = []
    }

    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { HeaderField(name: $0.0, value: FieldSyntax.trimmed($0.1)) }
    }

    public init(arrayLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Copies every line of another field source for the given names, in the order of `names`.
    public init(copying names: [String], from source: some HTTPFieldReading) {
        fields = []
        for name in names {
            for value in source.fieldValues(name) {
                add(name, value)
            }
        }
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func fieldValues(_ name: String) -> [String] {
        var values: [String] = []
        for field in fields where FieldSyntax.namesEqual(field.name, name) {
            values.append(field.value)
        }
        return values
    }

    /// The distinct names present, lower-cased, in order of first appearance.
    public var names: [String] {
        var seen: Set<String> = []
        var result: [String] = []
        for field in fields {
            let lower = FieldSyntax.lowercased(field.name)
            if seen.insert(lower).inserted { result.append(lower) }
        }
        return result
    }

    /// Appends a line.
    public mutating func add(_ name: String, _ value: String) {
        fields.append(HeaderField(name: name, value: FieldSyntax.trimmed(value)))
    }

    /// Removes every line with this name.
    public mutating func remove(_ name: String) {
        fields.removeAll { FieldSyntax.namesEqual($0.name, name) }
    }

    /// Removes every line whose name is in `names` (compared case-insensitively).
    public mutating func remove(names: some Sequence<String>) {
        let lowered = Set(names.map(FieldSyntax.lowercased))
        guard !lowered.isEmpty else { return }
        fields.removeAll { lowered.contains(FieldSyntax.lowercased($0.name)) }
    }

    /// Replaces every line with this name by one line with `value`, at the position of the first
    /// existing line (or at the end when absent).
    public mutating func replace(_ name: String, with value: String) {
        replace(name, with: [value])
    }

    /// Replaces every line with this name by `values`, at the position of the first existing line
    /// (or at the end when absent).
    public mutating func replace(_ name: String, with values: [String]) {
        let position = fields.firstIndex { FieldSyntax.namesEqual($0.name, name) } ?? fields.count
        let before = fields[..<position].filter { !FieldSyntax.namesEqual($0.name, name) }
        let after = fields[position...].filter { !FieldSyntax.namesEqual($0.name, name) }
        fields = before + values.map { HeaderField(name: name, value: FieldSyntax.trimmed($0)) } + after
    }

    /// The first value with this name.
    public subscript(_ name: String) -> String? {
        fields.first { FieldSyntax.namesEqual($0.name, name) }?.value
    }
}
