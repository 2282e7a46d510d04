// FieldSyntax: the small pieces of RFC 9110 §5.6 grammar the policy needs — OWS trimming,
// comma-separated lists that respect quoted strings, tokens, quoted-string unescaping,
// delta-seconds — written over UTF-8 bytes so no Foundation is needed.
//
// Invariant: everything here is ASCII-case-insensitive where HTTP says so and never allocates
// more than the strings it returns.

/// Low-level field value syntax helpers (RFC 9110 §5.6).
public enum FieldSyntax {
    /// The largest delta-seconds value a recipient keeps (RFC 9111 §1.2.2): "If a cache receives a
    /// delta-seconds value greater than the greatest integer it can represent, or if any of its
    /// subsequent calculations overflows, the cache MUST consider the value to be 2147483648 (2^31)".
    public static let deltaSecondsLimit = 2_147_483_648

    /// ASCII lower-casing (field names and directive names are ASCII; RFC 9110 §5.1).
    public static func lowercased(_ string: String) -> String {
        let isUpper = { (byte: UInt8) in byte >= 0x41 && byte <= 0x5A }
        let needsChange = string.utf8.withContiguousStorageIfAvailable { $0.contains(where: isUpper) }
            ?? string.utf8.contains(where: isUpper)
        guard needsChange else { return string }
        return String(decoding: string.utf8.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// Case-insensitive ASCII comparison of two names.
    public static func namesEqual(_ lhs: String, _ rhs: String) -> Bool {
        namesEqual(bytes: lhs.utf8, rhs.utf8)
    }

    /// Case-insensitive ASCII comparison of two names given as UTF-8 bytes.
    public static func namesEqual(bytes left: some Collection<UInt8>, _ right: some Collection<UInt8>) -> Bool {
        guard left.count == right.count else { return false }
        for (a, b) in zip(left, right) {
            let la = (a >= 0x41 && a <= 0x5A) ? a + 0x20 : a
            let lb = (b >= 0x41 && b <= 0x5A) ? b + 0x20 : b
            if la != lb { return false }
        }
        return true
    }

    /// Case-insensitive ASCII comparison of two names given as contiguous bytes.
    @inline(__always)
    public static func namesEqual(raw left: UnsafeRawBufferPointer, _ right: UnsafeBufferPointer<UInt8>) -> Bool {
        guard left.count == right.count else { return false }
        for index in 0..<left.count {
            let a = left[index], b = right[index]
            if a != b, a | 0x20 != b | 0x20 || !(0x61...0x7A).contains(a | 0x20) { return false }
        }
        return true
    }

    /// `body` over the UTF-8 bytes of `string`: in place for a native string, from a copy for a
    /// bridged one (the generic UTF8View walks index by index, far slower per byte).
    static func withBytes<Result>(of string: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        string.utf8.withContiguousStorageIfAvailable(body) ?? Array(string.utf8).withUnsafeBufferPointer(body)
    }

    /// Whether `value`'s UTF-8 bytes are exactly `bytes`, compared in place.
    static func bytesEqual(_ value: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        withBytes(of: value) { own in
            guard own.count == bytes.count else { return false }
            for index in 0..<own.count where own[index] != bytes[index] { return false }
            return true
        }
    }

    /// Removes optional whitespace (SP / HTAB, RFC 9110 §5.6.3) at both ends.
    public static func trimmed(_ string: Substring) -> String {
        let bytes = string.utf8
        var start = bytes.startIndex, end = bytes.endIndex
        while start < end, isWhitespace(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isWhitespace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        return String(string[start..<end])
    }

    public static func trimmed(_ string: String) -> String {
        // Most values have nothing to trim: keep the string itself rather than copying it.
        let bytes = string.utf8
        guard let first = bytes.first, let last = bytes.last, isWhitespace(first) || isWhitespace(last) else { return string }
        return trimmed(string[...])
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09
    }

    /// Splits a list value on commas that are not inside a quoted string (RFC 9110 §5.6.1),
    /// trimming each member and dropping empty ones ("a recipient MUST accept ... empty list elements").
    public static func splitList(_ value: String, separator: UInt8 = UInt8(ascii: ",")) -> [String] {
        var members: [String] = []
        var inQuotes = false, escaped = false
        var start = value.utf8.startIndex
        var index = start
        let bytes = value.utf8
        while index < bytes.endIndex {
            let byte = bytes[index]
            if escaped {
                escaped = false
            } else if inQuotes && byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inQuotes.toggle()
            } else if byte == separator && !inQuotes {
                let member = trimmed(value[start..<index])
                if !member.isEmpty { members.append(member) }
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        let member = trimmed(value[start..<bytes.endIndex])
        if !member.isEmpty { members.append(member) }
        return members
    }

    /// tchar (RFC 9110 §5.6.2).
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Whether `string` is a non-empty token (RFC 9110 §5.6.2).
    public static func isToken(_ string: String) -> Bool {
        !string.isEmpty && string.utf8.allSatisfy(isTokenCharacter)
    }

    /// If `string` is a quoted-string (RFC 9110 §5.6.4), its content with quoted-pairs resolved;
    /// nil when it is not a well-formed quoted-string.
    public static func unquoted(_ string: String) -> String? {
        let bytes = Array(string.utf8)
        guard bytes.count >= 2, bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\"") else {
            return nil
        }
        var result: [UInt8] = []
        var index = 1
        while index < bytes.count - 1 {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count - 1 else { return nil }
                result.append(bytes[index + 1])
                index += 2
            } else if byte == UInt8(ascii: "\"") {
                return nil
            } else {
                result.append(byte)
                index += 1
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// Parses delta-seconds (RFC 9111 §1.2.2: `1*DIGIT`). Nil when empty or not all digits (so a
    /// sign, a fraction or garbage is invalid); values past 2^31 become 2^31.
    public static func deltaSeconds(_ string: String) -> Int? {
        guard !string.isEmpty else { return nil }
        var value = 0
        for byte in string.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            if value < deltaSecondsLimit {
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
        }
        return min(value, deltaSecondsLimit)
    }
}
