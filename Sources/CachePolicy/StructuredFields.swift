// StructuredFields: the subset of RFC 9651 (Structured Field Values) the policy reads —
// Lists (Cache-Groups, RFC 9875) and Dictionaries (targeted cache-control fields, RFC 9213 §2.1).
//
// Invariant: parsing is all-or-nothing, as RFC 9651 §4.2 requires: "If parsing fails ... the
// entire field value MUST be ignored" — every function returns nil on any syntax error.

/// A parsed Structured Field bare item (RFC 9651 §3.3).
public enum StructuredItem: Hashable, Sendable {
    case integer(Int)
    case decimal(Double)
    case string(String)
    case token(String)
    case byteSequence(String)
    case boolean(Bool)
    /// An inner list (RFC 9651 §3.1.1); only its items are kept.
    case innerList([StructuredItem])
}

/// Parsing of Structured Field Lists and Dictionaries (RFC 9651 §4.2). Parameters are parsed
/// for validity and discarded: nothing the policy reads uses them.
public enum StructuredFields {
    /// Parses the combined lines of an sf-list; nil when any line is invalid.
    public static func list(_ lines: [String]) -> [StructuredItem]? {
        var parser = Parser(lines.joined(separator: ","))
        return parser.parseList()
    }

    /// Parses the combined lines of an sf-dictionary into ordered (key, item) members; a later
    /// duplicate key overrides an earlier one (RFC 9651 §3.2). Nil when invalid.
    public static func dictionary(_ lines: [String]) -> [(key: String, value: StructuredItem)]? {
        var parser = Parser(lines.joined(separator: ","))
        return parser.parseDictionary()
    }

    struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(_ text: String) {
            bytes = Array(text.utf8)
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skip(_ isSkipped: (UInt8) -> Bool) {
            while let byte = current, isSkipped(byte) { index += 1 }
        }

        mutating func parseList() -> [StructuredItem]? {
            var members: [StructuredItem] = []
            skip { $0 == 0x20 }
            if current == nil { return members }
            while true {
                guard let member = parseItemOrInnerList() else { return nil }
                members.append(member)
                guard afterMember() else { return nil }
                if current == nil { return members }
            }
        }

        mutating func parseDictionary() -> [(key: String, value: StructuredItem)]? {
            var members: [(key: String, value: StructuredItem)] = []
            skip { $0 == 0x20 }
            if current == nil { return members }
            while true {
                guard let key = parseKey() else { return nil }
                let value: StructuredItem
                if current == UInt8(ascii: "=") {
                    index += 1
                    guard let parsed = parseItemOrInnerList() else { return nil }
                    value = parsed
                } else {
                    value = .boolean(true)
                    guard parseParameters() else { return nil }
                }
                members.removeAll { $0.key == key }
                members.append((key, value))
                guard afterMember() else { return nil }
                if current == nil { return members }
            }
        }

        /// OWS "," OWS between members; false on a syntax error (including a trailing comma).
        mutating func afterMember() -> Bool {
            skip { $0 == 0x20 || $0 == 0x09 }
            guard let byte = current else { return true }
            guard byte == UInt8(ascii: ",") else { return false }
            index += 1
            skip { $0 == 0x20 || $0 == 0x09 }
            return current != nil
        }

        mutating func parseItemOrInnerList() -> StructuredItem? {
            if current == UInt8(ascii: "(") {
                index += 1
                var items: [StructuredItem] = []
                while true {
                    skip { $0 == 0x20 }
                    if current == UInt8(ascii: ")") {
                        index += 1
                        return parseParameters() ? .innerList(items) : nil
                    }
                    guard let item = parseBareItem(), parseParameters() else { return nil }
                    items.append(item)
                    guard current == 0x20 || current == UInt8(ascii: ")") else { return nil }
                }
            }
            guard let item = parseBareItem(), parseParameters() else { return nil }
            return item
        }

        mutating func parseParameters() -> Bool {
            while current == UInt8(ascii: ";") {
                index += 1
                skip { $0 == 0x20 }
                guard parseKey() != nil else { return false }
                if current == UInt8(ascii: "=") {
                    index += 1
                    guard parseBareItem() != nil else { return false }
                }
            }
            return true
        }

        mutating func parseKey() -> String? {
            guard let first = current, (first >= 0x61 && first <= 0x7A) || first == UInt8(ascii: "*") else { return nil }
            let start = index
            skip { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || "_-.*".utf8.contains($0) }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func parseBareItem() -> StructuredItem? {
            guard let byte = current else { return nil }
            switch byte {
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return parseNumber()
            case UInt8(ascii: "\""):
                return parseString()
            case UInt8(ascii: "?"):
                index += 1
                guard let value = current, value == UInt8(ascii: "0") || value == UInt8(ascii: "1") else { return nil }
                index += 1
                return .boolean(value == UInt8(ascii: "1"))
            case UInt8(ascii: ":"):
                index += 1
                let start = index
                skip { $0 != UInt8(ascii: ":") }
                guard current == UInt8(ascii: ":") else { return nil }
                let content = String(decoding: bytes[start..<index], as: UTF8.self)
                index += 1
                return .byteSequence(content)
            case UInt8(ascii: "*"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"):
                let start = index
                skip { FieldSyntax.isTokenCharacter($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/") }
                return .token(String(decoding: bytes[start..<index], as: UTF8.self))
            default:
                return nil
            }
        }

        mutating func parseNumber() -> StructuredItem? {
            let start = index
            if current == UInt8(ascii: "-") { index += 1 }
            let digitsStart = index
            skip { $0 >= 0x30 && $0 <= 0x39 }
            var isDecimal = false
            if current == UInt8(ascii: ".") {
                guard index - digitsStart <= 12 else { return nil }
                isDecimal = true
                index += 1
                let fractionStart = index
                skip { $0 >= 0x30 && $0 <= 0x39 }
                guard index > fractionStart, index - fractionStart <= 3 else { return nil }
            }
            guard index > digitsStart else { return nil }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if isDecimal {
                return Double(text).map { .decimal($0) }
            }
            guard index - digitsStart <= 15 else { return nil }
            return Int(text).map { .integer($0) }
        }

        mutating func parseString() -> StructuredItem? {
            index += 1
            var result: [UInt8] = []
            while let byte = current {
                index += 1
                switch byte {
                case UInt8(ascii: "\\"):
                    guard let next = current, next == UInt8(ascii: "\\") || next == UInt8(ascii: "\"") else { return nil }
                    result.append(next)
                    index += 1
                case UInt8(ascii: "\""):
                    return .string(String(decoding: result, as: UTF8.self))
                case 0x20...0x7E:
                    result.append(byte)
                default:
                    return nil
                }
            }
            return nil
        }
    }
}
