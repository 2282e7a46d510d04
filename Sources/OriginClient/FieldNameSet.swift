// A set of field names looked up as HTTP compares them, ASCII case-insensitively (RFC 9110 §5.1).
// Members are stored lower-case and grouped by length, so a name is compared only with the
// members of its own length: most lookups end at one array index.
// Invariant: every member is stored lower-case, once.

public struct FieldNameSet: Sendable {
    /// Members by their length in bytes; nil where no member has that length.
    private let byLength: [[String]?]

    public init(_ names: some Sequence<String>) {
        var byLength: [[String]?] = []
        for name in names {
            let lowercased = String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
            let length = lowercased.utf8.count
            if byLength.count <= length { byLength += Array(repeating: nil, count: length + 1 - byLength.count) }
            let members = byLength[length] ?? []
            if !members.contains(lowercased) { byLength[length] = members + [lowercased] }
        }
        self.byLength = byLength
    }

    public static let empty = FieldNameSet([])

    /// The member `name` is, in its lower-case form; nil when it is none.
    public func member(_ name: String) -> String? {
        let length = name.utf8.count
        guard length < byLength.count, let candidates = byLength[length] else { return nil }
        return candidates.first { Self.equalsIgnoringCase(name, lowercased: $0) }
    }

    public func contains(_ name: String) -> Bool { member(name) != nil }

    /// ASCII case-insensitive equality with a lower-case name of the same length.
    static func equalsIgnoringCase(_ name: String, lowercased: String) -> Bool {
        var name = name, lowercased = lowercased
        return name.withUTF8 { bytes in
            lowercased.withUTF8 { expected in
                guard bytes.count == expected.count else { return false }
                for index in 0..<bytes.count {
                    let byte = bytes[index]
                    if byte != expected[index] && !(byte >= 0x41 && byte <= 0x5A && byte | 0x20 == expected[index]) { return false }
                }
                return true
            }
        }
    }
}
