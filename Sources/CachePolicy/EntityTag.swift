// EntityTag: ETag values and their comparison (RFC 9110 §8.8.3).
//
// Invariant: an entity tag that does not parse is never equal to anything — a malformed
// validator can only cause a full response, never a wrong 304.

/// An entity tag: `"xyzzy"` (strong) or `W/"xyzzy"` (weak).
public struct EntityTag: Hashable, Sendable, CustomStringConvertible {
    public var isWeak: Bool
    /// The opaque-tag without its quotes.
    public var opaqueTag: String

    public init(opaqueTag: String, isWeak: Bool = false) {
        self.opaqueTag = opaqueTag
        self.isWeak = isWeak
    }

    /// Parses `entity-tag = [ weak ] opaque-tag` (RFC 9110 §8.8.3); nil when malformed.
    public init?(_ text: String) {
        var value = Substring(FieldSyntax.trimmed(text))
        isWeak = value.hasPrefix("W/")
        if isWeak { value = value.dropFirst(2) }
        let bytes = Array(value.utf8)
        guard bytes.count >= 2, bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\""),
              bytes.dropFirst().dropLast().allSatisfy({ $0 == 0x21 || ($0 >= 0x23 && $0 != 0x7F) }) else {
            return nil
        }
        opaqueTag = String(decoding: bytes.dropFirst().dropLast(), as: UTF8.self)
    }

    public var description: String {
        (isWeak ? "W/" : "") + "\"\(opaqueTag)\""
    }

    /// Strong comparison: "two entity tags are equivalent if both are not weak and their opaque-tags
    /// match character-by-character".
    public func strongly(matches other: EntityTag) -> Bool {
        !isWeak && !other.isWeak && opaqueTag == other.opaqueTag
    }

    /// Weak comparison: "two entity tags are equivalent if their opaque-tags match
    /// character-by-character, regardless of either or both being tagged as weak".
    public func weakly(matches other: EntityTag) -> Bool {
        opaqueTag == other.opaqueTag
    }

    /// The ETag of a response: its single valid value, or nil.
    public static func of(_ fields: some HTTPFieldReading) -> EntityTag? {
        let values = fields.fieldValues("ETag")
        guard values.count == 1 else { return nil }
        return EntityTag(values[0])
    }

    /// The members of an If-None-Match / If-Match style list: nil for `*`, else the valid tags.
    public static func list(_ lines: [String]) -> [EntityTag]? {
        let members = lines.flatMap { FieldSyntax.splitList($0) }
        if members.contains("*") { return nil }
        return members.compactMap { EntityTag($0) }
    }
}
