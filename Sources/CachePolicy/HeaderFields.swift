// HeaderFields: the header section of a stored or test message, and the read-only view
// (`HTTPFieldReading`) every policy function is generic over.
//
// Invariants: field order is kept exactly as received (RFC 9110 §5.3: the order of field lines
// with the same name is significant); names compare case-insensitively (RFC 9110 §5.1);
// values are stored as received, without the surrounding whitespace. The lines are kept packed
// in one byte array (see `HeaderFields`), which only this file and PackedFieldLine (the form of
// one line) read or write.

/// Read access to a message's header fields.
public protocol HTTPFieldReading {
    /// Every field line value with this name (case-insensitive), in order; empty when absent.
    func fieldValues(_ name: String) -> [String]
    /// Whether at least one line with this name is present.
    func contains(_ name: String) -> Bool
    /// The HTTP-date (RFC 9110 §5.6.7) every line with this name carries, parsed; nil when there
    /// is none, when the lines differ, or when it is not a date.
    func dateValue(_ name: String) -> Timestamp?
}

extension HTTPFieldReading {
    /// Whether at least one line with this name is present (a source that can tell without
    /// making the values gives its own).
    public func contains(_ name: String) -> Bool {
        !fieldValues(name).isEmpty
    }

    /// The HTTP-date every line with this name carries, read from the values' text (a source that
    /// keeps dates parsed gives its own).
    public func dateValue(_ name: String) -> Timestamp? {
        textDateValue(name)
    }

    /// `dateValue` from the values' text: lines the same once trimmed, the first parsed.
    func textDateValue(_ name: String) -> Timestamp? {
        let lines = fieldValues(name)
        guard let first = lines.first, lines.allSatisfy({ FieldSyntax.trimmed($0) == FieldSyntax.trimmed(first) }) else {
            return nil
        }
        return HTTPDate.parse(first)
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
///
/// Stored packed: every line in one byte array, in the form `PackedFieldLine` writes (a common
/// name as one byte, an IMF-fixdate as four, anything else as a length and its UTF-8 bytes). A
/// stored response keeps one allocation for its whole header section instead of an array of
/// string pairs with each long value out of line; reading decodes only the lines asked for.
/// Equal field lists have equal bytes, so equality and hashing are the list's. A store that keeps
/// the packed bytes in an allocation of its own lends them (`init(borrowing:count:owner:)`): the
/// fields then read them in place and copy them only when changed.
///
/// `@unchecked Sendable`: lent bytes are never written while their owner lives, and the owner
/// is kept alive by the fields.
public struct HeaderFields: HTTPFieldReading, @unchecked Sendable, Hashable, Codable, ExpressibleByArrayLiteral {
    private var packed: [UInt8]
    /// Lent bytes, read instead of `packed` (then empty) until the fields change.
    private var lent: Lent?
    public private(set) var count: Int

    private struct Lent {
        let owner: AnyObject
        let bytes: UnsafeRawBufferPointer
    }

    public init() {
        packed = []
        count = 0
    }

    /// Fields read in place from bytes `withPackedBytes` gave, kept unchanged by `owner` for
    /// as long as it lives (they are read without checks).
    public init(borrowing bytes: UnsafeRawBufferPointer, count: Int, owner: AnyObject) {
        packed = []
        lent = Lent(owner: owner, bytes: bytes)
        self.count = count
    }

    public static func == (lhs: HeaderFields, rhs: HeaderFields) -> Bool {
        lhs.count == rhs.count && lhs.withPackedBytes { left in rhs.withPackedBytes { left.elementsEqual($0) } }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        withPackedBytes { hasher.combine(bytes: $0) }
    }

    public init(_ pairs: [(String, String)]) {
        self.init()
        // Room for the lines at once (a packed line takes at most its name, its value and a few
        // bytes of lengths; usually less), instead of growing the bytes line by line.
        packed.reserveCapacity(pairs.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 3 })
        for (name, value) in pairs { add(name, value) }
    }

    public init(arrayLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// The lines exactly as given (values are not trimmed again).
    init(lines: some Sequence<HeaderField>) {
        self.init()
        for line in lines { append(name: line.name, value: line.value) }
    }

    /// Copies every line of another field source for the given names, in the order of `names`.
    public init(copying names: [String], from source: some HTTPFieldReading) {
        self.init()
        for name in names {
            for value in source.fieldValues(name) {
                add(name, value)
            }
        }
    }

    /// The lines, in order (decoded from the packed form on each use).
    public var fields: [HeaderField] {
        var lines: [HeaderField] = []
        lines.reserveCapacity(count)
        forEachLine { name, value in
            lines.append(HeaderField(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
            return true
        }
        return lines
    }

    public var isEmpty: Bool { count == 0 }

    /// The bytes the packed lines take (lengths, names and values).
    public var packedByteCount: Int { lent?.bytes.count ?? packed.count }

    public func fieldValues(_ name: String) -> [String] {
        var values: [String] = []
        forEachValue(named: name) { value in
            values.append(String(decoding: value, as: UTF8.self))
            return true
        }
        return values
    }

    /// Whether a line with this name is present, found without making a String of its value.
    public func contains(_ name: String) -> Bool {
        var found = false
        forEachLine(named: name) { bytes, offset in
            PackedFieldLine.skipValue(bytes, at: &offset)
            found = true
            return false
        }
        return found
    }

    /// `dateValue` straight from the packed seconds when every line is a date kept packed (it was
    /// packed only because it formats back to exactly its text): no rendering and parsing again.
    /// Anything else takes the text path.
    public func dateValue(_ name: String) -> Timestamp? {
        var lines = 0
        var seconds: UInt32?
        var packedAndSame = true
        forEachLine(named: name) { bytes, offset in
            lines += 1
            let date = PackedFieldLine.readDate(bytes, at: &offset)
            if date == nil || (seconds != nil && date != seconds) { packedAndSame = false }
            if seconds == nil { seconds = date }
            return true
        }
        guard lines > 0 else { return nil }
        if packedAndSame, let seconds { return Timestamp(seconds: Double(seconds)) }
        return textDateValue(name)
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
        append(name: name, value: FieldSyntax.trimmed(value))
    }

    /// Removes every line with this name.
    public mutating func remove(_ name: String) {
        let target = Array(name.utf8)
        removeLines { FieldSyntax.namesEqual(bytes: $0, target) }
    }

    /// Removes every line whose name is in `names` (compared case-insensitively).
    public mutating func remove(names: some Sequence<String>) {
        let targets = names.map { Array($0.utf8) }
        guard !targets.isEmpty else { return }
        removeLines { name in targets.contains { FieldSyntax.namesEqual(bytes: name, $0) } }
    }

    /// Replaces every line with this name by one line with `value`, at the position of the first
    /// existing line (or at the end when absent).
    public mutating func replace(_ name: String, with value: String) {
        replace(name, with: [value])
    }

    /// Replaces every line with this name by `values`, at the position of the first existing line
    /// (or at the end when absent).
    public mutating func replace(_ name: String, with values: [String]) {
        let lines = fields
        let position = lines.firstIndex { FieldSyntax.namesEqual($0.name, name) } ?? lines.count
        let before = lines[..<position].filter { !FieldSyntax.namesEqual($0.name, name) }
        let after = lines[position...].filter { !FieldSyntax.namesEqual($0.name, name) }
        self = HeaderFields(lines: before + values.map { HeaderField(name: name, value: FieldSyntax.trimmed($0)) } + after)
    }

    /// The first value with this name.
    public subscript(_ name: String) -> String? {
        var found: String?
        forEachValue(named: name) { value in
            found = String(decoding: value, as: UTF8.self)
            return false
        }
        return found
    }

    /// The same lines in storage of exactly their size, for keeping: lines appended one by one
    /// leave the array room to grow, up to twice what it holds.
    public func compacted() -> HeaderFields {
        guard lent == nil else { return self }
        var copy = self
        copy.packed = Array(unsafeUninitializedCapacity: packed.count) { buffer, initialized in
            initialized = buffer.initialize(fromContentsOf: packed)
        }
        return copy
    }

    /// Calls `body` with the packed form (see `PackedFieldLine`), for a store that keeps it as
    /// bytes of its own; `init(borrowing:count:owner:)` reads the same fields from them again.
    public func withPackedBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        if let lent { return try withExtendedLifetime(lent.owner) { try body(lent.bytes) } }
        return try packed.withUnsafeBytes(body)
    }

    // MARK: Codable: the same shape as a list of lines, `{"fields":[{"name":…,"value":…}]}`

    private enum CodingKeys: String, CodingKey { case fields }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(lines: try container.decode([HeaderField].self, forKey: .fields))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(fields, forKey: .fields)
    }

    // MARK: the packed form

    /// Copies lent bytes into `packed`, before a change.
    private mutating func own() {
        guard let lent else { return }
        packed = Array(lent.bytes)
        self.lent = nil
    }

    private mutating func append(name: String, value: String) {
        own()
        PackedFieldLine.append(name: name, value: value, to: &packed)
        count += 1
    }

    /// Drops every line whose name `matches`, keeping the others' bytes as they are; nothing is
    /// copied when no line matches (the common case: most responses have nothing to remove).
    private mutating func removeLines(where matches: (UnsafeRawBufferPointer) -> Bool) {
        var kept: [UInt8]?
        var keptCount = 0
        withPackedBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let start = offset
                var matched = false
                _ = PackedFieldLine.read(bytes, at: &offset, decodingValueIf: { name in
                    matched = matches(name)
                    return false
                }, { _, _ in () })
                if matched {
                    if kept == nil {
                        kept = []
                        kept!.reserveCapacity(bytes.count)
                        kept!.append(contentsOf: bytes[0..<start])
                    }
                } else {
                    keptCount += 1
                    kept?.append(contentsOf: bytes[start..<offset])
                }
            }
        }
        guard let kept else { return }
        packed = kept
        lent = nil
        count = keptCount
    }

    /// Calls `body` with each line's name and value bytes (valid only during the call), in
    /// order, until it returns false: the lines without a String made for each.
    public func forEachLine(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        withPackedBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                if PackedFieldLine.read(bytes, at: &offset, decodingValueIf: { _ in true }, body) == false { return }
            }
        }
    }

    /// Calls `body` with the value bytes of each line named `name` (case-insensitively), in
    /// order, until it returns false; other lines' values are not decoded.
    private func forEachValue(named name: String, _ body: (UnsafeRawBufferPointer) -> Bool) {
        forEachLine(named: name) { bytes, offset in PackedFieldLine.readValue(bytes, at: &offset, body) }
    }

    /// Calls `read` for each line named `name` (case-insensitively), in order, with the packed
    /// bytes and the offset of the line's value, which `read` moves past the value (reading or
    /// skipping it); stops when `read` returns false. Other lines' values are skipped.
    /// The name's bytes are taken once, and each line's name is compared with them in place: a
    /// name of another length is rejected by its length alone.
    private func forEachLine(named name: String, _ read: (UnsafeRawBufferPointer, inout Int) -> Bool) {
        var name = name
        name.withUTF8 { target in
            withPackedBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let line = PackedFieldLine.readName(bytes, at: &offset)
                    if FieldSyntax.namesEqual(raw: line, target) {
                        if read(bytes, &offset) == false { return }
                    } else {
                        PackedFieldLine.skipValue(bytes, at: &offset)
                    }
                }
            }
        }
    }
}
