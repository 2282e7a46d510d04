// Freshness: how long a response stays fresh (RFC 9111 §4.2.1, §4.2.2) and how old it is
// (§4.2.3).
//
// Invariants:
// - Explicit freshness first, in RFC order: s-maxage (a shared cache), max-age, Expires − Date.
//   An invalid value in the chosen source gives a lifetime of 0, never an unbounded one.
// - Nothing is invented unless the rules ask for it: status TTLs, the §4.2.2 heuristic and a
//   default TTL are all off in `RuleSettings()`. A forced TTL replaces everything; `maxTTL` caps
//   everything else.
// - Ages are never negative.

/// A freshness lifetime and where it came from.
public struct FreshnessLifetime: Hashable, Sendable {
    public enum Source: String, Hashable, Sendable {
        /// The rule's forceTTL.
        case forced
        /// `s-maxage` (§5.2.2.10).
        case sharedMaxAge
        /// `max-age` (§5.2.2.1).
        case maxAge
        /// `Expires` − `Date` (§5.3).
        case expires
        /// The rule's TTL for this status code.
        case statusRule
        /// Heuristic freshness (§4.2.2).
        case heuristic
        /// The rule's default TTL.
        case defaultRule
        /// Nothing: the response is stale from the start.
        case none
    }

    public var seconds: Double
    public var source: Source
    /// Whether the rule's maxTTL shortened it.
    public var capped: Bool

    public init(seconds: Double, source: Source, capped: Bool = false) {
        self.seconds = seconds
        self.source = source
        self.capped = capped
    }

    /// Whether the response itself stated its lifetime (§4.2.1).
    public var isExplicit: Bool {
        source == .sharedMaxAge || source == .maxAge || source == .expires
    }
}

/// Freshness lifetime calculation.
public enum Freshness {
    /// Status codes "defined as heuristically cacheable" (RFC 9110 §15.1).
    public static let heuristicallyCacheableStatuses: Set<Int> = [200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]

    /// The freshness lifetime of a response for this shared cache.
    ///
    /// - Parameters:
    ///   - responseTime: when the response was received; stands in for a missing Date (RFC 9110 §6.6.1).
    public static func lifetime(status: Int, response: some HTTPFieldReading, responseTime: Timestamp,
                                settings: RuleSettings) -> FreshnessLifetime {
        let directives = ResponseDirectives(response, targeting: settings.targeting)
        return lifetime(status: status, response: response, directives: directives,
                        responseTime: responseTime, settings: settings)
    }

    /// The same, with the effective directives already selected.
    public static func lifetime(status: Int, response: some HTTPFieldReading, directives: ResponseDirectives,
                                responseTime: Timestamp, settings: RuleSettings) -> FreshnessLifetime {
        if let forced = settings.forceTTL {
            return FreshnessLifetime(seconds: max(0, forced), source: .forced)
        }
        var result = uncapped(status: status, response: response, directives: directives,
                              responseTime: responseTime, settings: settings)
        if let cap = settings.maxTTL, result.seconds > cap {
            result.seconds = max(0, cap)
            result.capped = true
        }
        return result
    }

    private static func uncapped(status: Int, response: some HTTPFieldReading, directives: ResponseDirectives,
                                 responseTime: Timestamp, settings: RuleSettings) -> FreshnessLifetime {
        let control = directives.control
        // §4.2.1: "If the cache is shared and the s-maxage response directive is present, use its value".
        if let shared = control.sharedMaxAge {
            return FreshnessLifetime(seconds: Double(shared.secondsOrZero), source: .sharedMaxAge)
        }
        // "If the max-age response directive is present, use its value".
        if let maxAge = control.maxAge {
            return FreshnessLifetime(seconds: Double(maxAge.secondsOrZero), source: .maxAge)
        }
        // "If the Expires response header field is present, use its value minus the value of the
        // Date response header field (using the time the message was received if it is not present)".
        if directives.usesExpires, let expires = expiresLifetime(response, responseTime: responseTime) {
            return FreshnessLifetime(seconds: expires, source: .expires)
        }
        if let statusTTL = settings.statusTTLs[status] {
            return FreshnessLifetime(seconds: max(0, statusTTL), source: .statusRule)
        }
        // §4.2.2: a heuristic only for heuristically cacheable statuses or explicitly cacheable
        // responses ("public"), and only when no explicit expiration time is present.
        let eligible = heuristicallyCacheableStatuses.contains(status) || control.public
        // Decision: an error is never kept on a guess. A 4xx/5xx may have been caused by something
        // in the request the key does not see (an oversized or odd header: the CPDoS attacks), so
        // it is stored only for as long as its own freshness or an operator's status rule says.
        if eligible, status < 400, let fraction = settings.heuristicFraction,
           let lastModified = response.fieldValues("Last-Modified").first.flatMap({ HTTPDate.parse($0) }) {
            let date = responseDate(response) ?? responseTime
            // "this fraction is typically set to 10%" — of the time since the last modification.
            let heuristic = min(max(0, (date - lastModified) * fraction), settings.heuristicCap)
            return FreshnessLifetime(seconds: heuristic, source: .heuristic)
        }
        if eligible, status < 400, let defaultTTL = settings.defaultTTL {
            return FreshnessLifetime(seconds: max(0, defaultTTL), source: .defaultRule)
        }
        return FreshnessLifetime(seconds: 0, source: .none)
    }

    /// Expires − Date in seconds, or nil when there is no Expires field. §5.3: "A cache recipient
    /// MUST interpret invalid date formats, especially the value "0", as representing a time in
    /// the past"; several differing Expires lines count as invalid (§4.2.1).
    static func expiresLifetime(_ response: some HTTPFieldReading, responseTime: Timestamp) -> Double? {
        let lines = response.fieldValues("Expires")
        guard let first = lines.first else { return nil }
        guard lines.allSatisfy({ FieldSyntax.trimmed($0) == FieldSyntax.trimmed(first) }),
              let expires = HTTPDate.parse(first) else { return 0 }
        return max(0, expires - (responseDate(response) ?? responseTime))
    }

    /// The Date field, when present once (or repeated identically) and valid.
    public static func responseDate(_ response: some HTTPFieldReading) -> Timestamp? {
        response.dateValue("Date")
    }
}

/// The age of a stored response (RFC 9111 §4.2.3).
public struct ResponseAge: Hashable, Sendable {
    /// The Date field value; nil when absent or invalid (then the response time stands in).
    public var dateValue: Timestamp?
    /// The Age field value in seconds; 0 when absent or invalid ("ignored").
    public var ageValue: Double
    /// When the request that produced the stored response was sent.
    public var requestTime: Timestamp
    /// When the response was received.
    public var responseTime: Timestamp

    public init(dateValue: Timestamp?, ageValue: Double, requestTime: Timestamp, responseTime: Timestamp) {
        self.dateValue = dateValue
        self.ageValue = ageValue
        self.requestTime = requestTime
        self.responseTime = responseTime
    }

    public init(response: some HTTPFieldReading, requestTime: Timestamp, responseTime: Timestamp) {
        self.init(dateValue: Freshness.responseDate(response), ageValue: Self.ageField(response),
                  requestTime: requestTime, responseTime: responseTime)
    }

    /// The Age field (§5.1: `Age = delta-seconds`). "Although it is defined as a singleton header
    /// field, a cache encountering a message with a list-based Age field value SHOULD use the
    /// first member of the field value, discarding subsequent ones": so `Age: 7200, 0` (or two
    /// lines) is 7200. A first member that is negative or not numeric is invalid, and ignored (0).
    public static func ageField(_ response: some HTTPFieldReading) -> Double {
        guard let line = response.fieldValues("Age").first,
              let first = line.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).first,
              let value = FieldSyntax.deltaSeconds(FieldSyntax.trimmed(String(first)))
        else { return 0 }
        return Double(value)
    }

    /// `apparent_age = max(0, response_time - date_value)`.
    public var apparentAge: Double {
        max(0, responseTime - (dateValue ?? responseTime))
    }

    /// `response_delay = response_time - request_time`.
    public var responseDelay: Double {
        max(0, responseTime - requestTime)
    }

    /// `corrected_age_value = age_value + response_delay`.
    public var correctedAgeValue: Double {
        ageValue + responseDelay
    }

    /// `corrected_initial_age = max(apparent_age, corrected_age_value)`.
    public var correctedInitialAge: Double {
        max(apparentAge, correctedAgeValue)
    }

    /// `current_age = corrected_initial_age + resident_time`, with `resident_time = now - response_time`.
    public func currentAge(now: Timestamp) -> Double {
        correctedInitialAge + max(0, now - responseTime)
    }

    /// The Age field value for a response served from the cache (§5.1: "When a cache sends a
    /// response from storage, it MUST send an Age header field"): whole seconds, rounded down,
    /// never negative, at most 2^31.
    public static func fieldValue(currentAge: Double) -> String {
        guard currentAge.isFinite else { return String(FieldSyntax.deltaSecondsLimit) }
        return String(min(Int(max(0, currentAge).rounded(.down)), FieldSyntax.deltaSecondsLimit))
    }
}
