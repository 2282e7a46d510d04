// A set of field names looked up as HTTP compares them, ASCII case-insensitively (RFC 9110 §5.1).
// Members are stored lower-case and grouped by length, so a name is compared only with the
// members of its own length: most lookups end at one array index.
// Invariant: every member is stored lower-case, once.
import CachePolicy

public struct FieldNameSet: Sendable {
    /// Members by their length in bytes; nil where no member has that length.
    private let byLength: [[String]?]

    public init(_ names: some Sequence<String>) {
        var byLength: [[String]?] = []
        for name in names {
            let lowercased = FieldSyntax.lowercased(name)
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
        var name = name
        return name.withUTF8 { bytes in
            candidates.first { candidate in
                var candidate = candidate
                return candidate.withUTF8 { FieldSyntax.namesEqual(raw: UnsafeRawBufferPointer(bytes), $0) }
            }
        }
    }

    public func contains(_ name: String) -> Bool { member(name) != nil }
}
