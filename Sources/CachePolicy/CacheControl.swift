// CacheControl: the directives of a Cache-Control field (RFC 9111 §5.2), or of a targeted field
// with the same directives (RFC 9213), with typed accessors for request (§5.2.1) and response
// (§5.2.2) directives.
//
// Invariants:
// - Directive names are lower-cased: "Cache directives are identified by a token, to be compared
//   case-insensitively" (§5.2).
// - Both argument forms are accepted: "recipients ought to accept both forms, even if a specific
//   form is required for generation" (§5.2).
// - A malformed or conflicting numeric value is `.invalid`, never absent and never "forever":
//   callers treat it as zero (stale). Repeated identical values are fine; differing ones conflict
//   (§4.2.1: "either the first occurrence should be used or the response should be considered
//   stale" — this cache takes the stale branch).
// - Unknown directives are kept (for logs) but nothing reads them (§5.2.3).

/// A delta-seconds directive argument (RFC 9111 §1.2.2).
public enum DirectiveSeconds: Hashable, Sendable {
    /// A valid value, already clamped to 2^31.
    case seconds(Int)
    /// Missing, non-numeric, negative, fractional, or several conflicting values.
    case invalid

    /// The value, or 0 when invalid: an invalid lifetime makes a response stale.
    public var secondsOrZero: Int {
        if case .seconds(let value) = self { return value }
        return 0
    }
}

/// A directive that may carry a list of field names (`no-cache`, `private`; §5.2.2.4, §5.2.2.7).
public enum FieldQualifiedDirective: Hashable, Sendable {
    /// No argument: applies to the whole response.
    case unqualified
    /// Applies only to these fields (names lower-cased).
    case fields([String])
}

/// The `max-stale` request directive (§5.2.1.2).
public enum MaxStale: Hashable, Sendable {
    /// No argument: "the client will accept a stale response of any age".
    case any
    /// Stale by at most this many seconds.
    case seconds(Int)
    /// A malformed argument: no staleness is accepted.
    case invalid
}

/// Parsed cache directives.
public struct CacheControl: Hashable, Sendable {
    /// One directive: a lower-cased name and its argument with any quoting removed.
    public struct Directive: Hashable, Sendable {
        public var name: String
        public var value: String?

        public init(name: String, value: String? = nil) {
            self.name = FieldSyntax.lowercased(name)
            self.value = value
        }
    }

    /// Every directive in field order, duplicates included.
    public var directives: [Directive]

    public init(directives: [Directive] = []) {
        self.directives = directives
    }

    /// Parses Cache-Control field line values (RFC 9111 §5.2: `#cache-directive`). Members whose
    /// name is not a token are dropped.
    public init(fieldValues: [String]) {
        var directives: [Directive] = []
        for line in fieldValues where !Self.appendUnquoted(line, to: &directives) {
            Self.appendDirectives(of: line, to: &directives)
        }
        self.directives = directives
    }

    /// The directives of one line, quoted arguments and all.
    static func appendDirectives(of line: String, to directives: inout [Directive]) {
        for member in FieldSyntax.splitList(line) {
            let name: String, value: String?
            if let equals = member.utf8.firstIndex(of: UInt8(ascii: "=")) {
                name = FieldSyntax.trimmed(member[..<equals])
                let raw = FieldSyntax.trimmed(member[member.utf8.index(after: equals)...])
                value = raw.hasPrefix("\"") ? (FieldSyntax.unquoted(raw) ?? raw) : raw
            } else {
                name = member
                value = nil
            }
            guard FieldSyntax.isToken(name) else { continue }
            directives.append(Directive(name: name, value: value))
        }
    }

    /// The directives of a line without a quoted string (nearly every line: `public,
    /// max-age=3600`), read over its bytes in place with the same result as `appendDirectives`;
    /// false, having added nothing, for a line with a quote.
    static func appendUnquoted(_ line: String, to directives: inout [Directive]) -> Bool {
        FieldSyntax.withBytes(of: line) { bytes in
            guard !bytes.contains(UInt8(ascii: "\"")) else { return false }
            var start = 0
            while start <= bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: ",") { end += 1 }
                let member = trimmed(bytes, start..<end)
                let equals = bytes[member].firstIndex(of: UInt8(ascii: "="))
                let name = trimmed(bytes, member.lowerBound..<(equals ?? member.upperBound))
                if !name.isEmpty, bytes[name].allSatisfy(FieldSyntax.isTokenCharacter) {
                    let value = equals.map { equals in
                        String(decoding: UnsafeBufferPointer(rebasing: bytes[trimmed(bytes, (equals + 1)..<member.upperBound)]), as: UTF8.self)
                    }
                    directives.append(Directive(name: String(decoding: UnsafeBufferPointer(rebasing: bytes[name]), as: UTF8.self),
                                                value: value))
                }
                start = end + 1
            }
            return true
        }
    }

    /// `range` without the whitespace (SP, HTAB) at either end.
    private static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound, upper = range.upperBound
        while lower < upper, FieldSyntax.isWhitespace(bytes[lower]) { lower += 1 }
        while upper > lower, FieldSyntax.isWhitespace(bytes[upper - 1]) { upper -= 1 }
        return lower..<upper
    }

    /// Parses the Cache-Control lines of a message.
    public init(_ fields: some HTTPFieldReading) {
        self.init(fieldValues: fields.fieldValues("Cache-Control"))
    }

    public var isEmpty: Bool { directives.isEmpty }

    /// Whether a directive with this name (case-insensitive) is present.
    /// (Names are compared in place, not lower-cased first: most lookups find nothing.)
    public func contains(_ name: String) -> Bool {
        directives.contains { FieldSyntax.namesEqual($0.name, name) }
    }

    /// The arguments of every occurrence of this directive, in order.
    public func arguments(_ name: String) -> [String?] {
        var found: [String?] = []
        for directive in directives where FieldSyntax.namesEqual(directive.name, name) { found.append(directive.value) }
        return found
    }

    /// A delta-seconds argument: nil when the directive is absent.
    public func seconds(_ name: String) -> DirectiveSeconds? {
        let arguments = self.arguments(name)
        guard !arguments.isEmpty else { return nil }
        var result: Int?
        for argument in arguments {
            guard let argument, let value = FieldSyntax.deltaSeconds(argument) else { return .invalid }
            if let previous = result, previous != value { return .invalid }
            result = value
        }
        return result.map { .seconds($0) } ?? .invalid
    }

    private func fieldQualified(_ name: String) -> FieldQualifiedDirective? {
        let arguments = self.arguments(name)
        guard !arguments.isEmpty else { return nil }
        var fields: [String] = []
        for argument in arguments {
            guard let argument else { return .unqualified }
            let names = FieldSyntax.splitList(argument).map(FieldSyntax.lowercased)
            // An empty or unusable list protects nothing: treat it as the whole response.
            guard !names.isEmpty, names.allSatisfy(FieldSyntax.isToken) else { return .unqualified }
            for name in names where !fields.contains(name) { fields.append(name) }
        }
        return .fields(fields)
    }

    // MARK: - Response directives (§5.2.2)

    /// `max-age` (§5.2.2.1).
    public var maxAge: DirectiveSeconds? { seconds("max-age") }
    /// `s-maxage` (§5.2.2.10): shared caches only; also implies proxy-revalidate.
    public var sharedMaxAge: DirectiveSeconds? { seconds("s-maxage") }
    /// `no-cache` (§5.2.2.4) in a response; in a request use `contains("no-cache")`.
    public var noCache: FieldQualifiedDirective? { fieldQualified("no-cache") }
    /// `no-store` (§5.2.2.5, §5.2.1.5).
    public var noStore: Bool { contains("no-store") }
    /// `private` (§5.2.2.7).
    public var `private`: FieldQualifiedDirective? { fieldQualified("private") }
    /// `public` (§5.2.2.9).
    public var `public`: Bool { contains("public") }
    /// `must-revalidate` (§5.2.2.2).
    public var mustRevalidate: Bool { contains("must-revalidate") }
    /// `proxy-revalidate` (§5.2.2.8).
    public var proxyRevalidate: Bool { contains("proxy-revalidate") }
    /// `must-understand` (§5.2.2.3).
    public var mustUnderstand: Bool { contains("must-understand") }
    /// `no-transform` (§5.2.2.6, §5.2.1.6).
    public var noTransform: Bool { contains("no-transform") }
    /// `immutable` (RFC 8246): informational for a shared cache.
    public var immutable: Bool { contains("immutable") }
    /// `stale-while-revalidate` (RFC 5861 §3).
    public var staleWhileRevalidate: DirectiveSeconds? { seconds("stale-while-revalidate") }
    /// `stale-if-error` (RFC 5861 §4), in a request or a response.
    public var staleIfError: DirectiveSeconds? { seconds("stale-if-error") }

    /// Whether a shared cache must not serve this response stale (§4.2.4, §5.2.2.2, §5.2.2.8,
    /// §5.2.2.10: s-maxage "incorporates the semantics of the proxy-revalidate response directive").
    public var forbidsStaleForSharedCache: Bool {
        mustRevalidate || proxyRevalidate || sharedMaxAge != nil
    }

    // MARK: - Request directives (§5.2.1)

    /// `max-stale` (§5.2.1.2).
    public var maxStale: MaxStale? {
        let arguments = self.arguments("max-stale")
        guard !arguments.isEmpty else { return nil }
        if arguments.allSatisfy({ $0 == nil }) { return .any }
        guard case .seconds(let value)? = seconds("max-stale") else { return .invalid }
        return .seconds(value)
    }
    /// `min-fresh` (§5.2.1.3).
    public var minFresh: DirectiveSeconds? { seconds("min-fresh") }
    /// `only-if-cached` (§5.2.1.7).
    public var onlyIfCached: Bool { contains("only-if-cached") }
}
