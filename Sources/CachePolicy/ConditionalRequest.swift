// ConditionalRequest: answering a client's conditional GET/HEAD from a stored response
// (RFC 9111 §4.3.2; RFC 9110 §13.1.2, §13.1.3, §13.2.2, §15.4.5).
//
// Invariants: only If-None-Match and If-Modified-Since are evaluated — "The If-Match and
// If-Unmodified-Since conditional header fields are not applicable to a cache" (§4.3.2) — and
// If-Modified-Since only without If-None-Match. Anything malformed yields the full response.

/// The outcome of evaluating a client's preconditions against a stored response.
public enum ConditionalOutcome: Hashable, Sendable {
    /// Send 304 Not Modified.
    case notModified
    /// Send the stored response in full.
    case full
}

/// Conditional requests answered by the cache.
public enum ConditionalRequest {
    /// Evaluates the request's If-None-Match / If-Modified-Since against the stored response.
    ///
    /// - Parameter storedResponseTime: used when the stored response has neither Last-Modified nor
    ///   Date (§4.3.2: "the time that the stored response was received").
    public static func evaluate(method: String, request: some HTTPFieldReading, storedStatus: Int,
                                stored: some HTTPFieldReading, storedResponseTime: Timestamp) -> ConditionalOutcome {
        // RFC 9110 §13.1.2 / §13.1.3: only for GET and HEAD; §13.2.1: preconditions apply to a
        // response that would otherwise be 2xx.
        guard method == "GET" || method == "HEAD", (200..<300).contains(storedStatus) else { return .full }
        let ifNoneMatch = request.fieldValues("If-None-Match")
        if !ifNoneMatch.isEmpty {
            // "If the field value is "*", the condition is false if the origin server has a
            // current representation for the target resource" — the stored response is one.
            guard let tags = EntityTag.list(ifNoneMatch) else { return .notModified }
            // "A recipient MUST use the weak comparison function when comparing entity tags for
            // If-None-Match".
            guard let stored = EntityTag.of(stored) else { return .full }
            return tags.contains { $0.weakly(matches: stored) } ? .notModified : .full
        }
        // RFC 9110 §13.1.3: "A recipient MUST ignore the If-Modified-Since header field if the
        // received field value is not a valid HTTP-date, the field value has more than one member".
        let ifModifiedSince = request.fieldValues("If-Modified-Since")
        guard ifModifiedSince.count == 1, let since = HTTPDate.parse(ifModifiedSince[0]) else { return .full }
        // §4.3.2: "If ... the Last-Modified header field is not present in a selected stored
        // response, a cache SHOULD use the stored response's Date field value (or, if no Date field
        // is present, the time that the stored response was received)".
        let lastModified = stored.fieldValues("Last-Modified").first.flatMap { HTTPDate.parse($0) }
            ?? Freshness.responseDate(stored) ?? storedResponseTime
        return lastModified <= since ? .notModified : .full
    }

    /// Names of the stored fields a 304 carries. RFC 9110 §15.4.5: "The server generating a 304
    /// response MUST generate any of the following header fields that would have been sent in a
    /// 200 (OK) response to the same request: Content-Location, Date, ETag, and Vary;
    /// Cache-Control and Expires"; Last-Modified only when there is no ETag ("might be useful if
    /// the response does not have an ETag field"). CDN-Cache-Control rides along as cache control.
    public static func notModifiedFieldNames(stored: some HTTPFieldReading) -> [String] {
        var names = ["Cache-Control", "CDN-Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary"]
        if !stored.contains("ETag") { names.append("Last-Modified") }
        return names
    }

    /// The stored fields a 304 carries (the responder adds Age, Cache-Status and Via).
    public static func notModifiedFields(stored: some HTTPFieldReading) -> HeaderFields {
        HeaderFields(copying: notModifiedFieldNames(stored: stored), from: stored)
    }
}
