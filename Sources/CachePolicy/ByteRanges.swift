// Range requests answered from a complete stored response (RFC 9110 §14): which bytes a `Range`
// field asks for, whether `If-Range` lets it apply (§13.1.5), and the `Content-Range` values.
// Pure: fields and a length in, an outcome out; the front writes the 206 / 416.
//
// Decisions:
// - Only `bytes` ranges, only on GET (§14.2: "A server MUST ignore a Range header field received
//   with a request method that is unrecognized or for which range handling is not defined"; it is
//   defined for GET), and only on a stored 200: anything else gets the whole response.
// - A field that does not parse is ignored ("An origin server MUST ignore a Range header field
//   that contains a range unit it does not understand"; a proxy MAY do the same for an invalid one).
// - More than `maximumRanges` ranges, or ranges that overlap, are answered whole (§14.2: "A server
//   that supports range requests MAY ignore or reject a Range header field that contains ... many
//   small ranges or overlapping ranges").
// - If-Range with an entity-tag matches by strong comparison only; with a date it matches only a
//   stored Last-Modified that is exactly that date and strong (at least a second before Date).
public enum ByteRanges {
    /// One `range-spec` of a `bytes` range set.
    public enum Spec: Hashable, Sendable {
        /// `first-pos "-" [ last-pos ]`
        case from(Int, through: Int?)
        /// `"-" suffix-length`
        case suffix(Int)
    }

    /// What a range request gets from a representation of known length.
    public enum Outcome: Hashable, Sendable {
        /// The whole representation, 200.
        case whole
        /// 206 with these byte ranges, in the order asked (one: a single part; several: multipart).
        case partial([ClosedRange<Int>])
        /// 416 with `Content-Range: bytes */length`.
        case unsatisfiable
    }

    public static let maximumRanges = 16

    /// Parses `Range: bytes=…`; nil for another unit or any syntax error.
    public static func parse(_ value: String) -> [Spec]? {
        let trimmed = FieldSyntax.trimmed(value)
        guard trimmed.lowercased().hasPrefix("bytes=") else { return nil }
        var specs: [Spec] = []
        for element in trimmed.dropFirst(6).split(separator: ",", omittingEmptySubsequences: false) {
            let item = FieldSyntax.trimmed(element)
            if item.isEmpty { continue }  // RFC 9110 §5.6.1: empty list elements are ignored
            guard let dash = item.firstIndex(of: "-") else { return nil }
            let first = item[..<dash], last = item[item.index(after: dash)...]
            if first.isEmpty {
                guard let length = digits(last) else { return nil }
                specs.append(.suffix(length))
            } else {
                guard let start = digits(first) else { return nil }
                if last.isEmpty {
                    specs.append(.from(start, through: nil))
                } else {
                    guard let end = digits(last), end >= start else { return nil }
                    specs.append(.from(start, through: end))
                }
            }
        }
        return specs.isEmpty ? nil : specs
    }

    private static func digits(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(text)
    }

    /// The byte ranges of a representation of `length` bytes that `specs` select (§14.1.2).
    public static func resolve(_ specs: [Spec], length: Int) -> Outcome {
        var ranges: [ClosedRange<Int>] = []
        for spec in specs {
            switch spec {
            case .from(let start, let end):
                // "A range-spec is satisfiable if its first-pos is less than the current length."
                guard start < length else { continue }
                ranges.append(start...min(end ?? length - 1, length - 1))
            case .suffix(let count):
                // A suffix-length of zero is unsatisfiable; a longer one selects the whole body.
                guard count > 0, length > 0 else { continue }
                ranges.append(max(0, length - count)...(length - 1))
            }
        }
        guard !ranges.isEmpty else { return .unsatisfiable }
        if ranges.count > maximumRanges { return .whole }
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        for (earlier, later) in zip(sorted, sorted.dropFirst()) where earlier.overlaps(later) { return .whole }
        return .partial(ranges)
    }

    /// The outcome of a request's `Range` and `If-Range` against a stored response with a body of
    /// `length` bytes; `.whole` when the request asks for no range or may not have one.
    public static func evaluate(method: String, request: some HTTPFieldReading, storedStatus: Int,
                                stored: some HTTPFieldReading, length: Int) -> Outcome {
        guard method == "GET", storedStatus == 200 else { return .whole }
        let values = request.fieldValues("Range")
        guard values.count == 1, let specs = parse(values[0]) else { return .whole }
        if let condition = request.fieldValues("If-Range").first, !ifRangeMatches(condition, stored: stored) {
            return .whole
        }
        return resolve(specs, length: length)
    }

    /// §13.1.5: the range applies only if the representation is unchanged, judged by a strong
    /// validator.
    public static func ifRangeMatches(_ condition: String, stored: some HTTPFieldReading) -> Bool {
        let value = FieldSyntax.trimmed(condition)
        if value.hasPrefix("\"") || value.hasPrefix("W/") {
            guard let asked = EntityTag(value), let current = EntityTag.of(stored) else { return false }
            return asked.strongly(matches: current)
        }
        guard let date = HTTPDate.parse(value),
              let lastModified = stored.fieldValues("Last-Modified").first.flatMap({ HTTPDate.parse($0) }),
              lastModified == date
        else { return false }
        // §8.8.2.2: a Last-Modified is strong if it is at least one second before the Date.
        guard let sent = stored.fieldValues("Date").first.flatMap({ HTTPDate.parse($0) }) else { return false }
        return sent - lastModified >= 1
    }

    /// `Content-Range` for one part: `bytes first-last/length`.
    public static func contentRange(_ range: ClosedRange<Int>, length: Int) -> String {
        "bytes \(range.lowerBound)-\(range.upperBound)/\(length)"
    }

    /// `Content-Range` of a 416: `bytes */length`.
    public static func unsatisfiedRange(length: Int) -> String {
        "bytes */\(length)"
    }
}
