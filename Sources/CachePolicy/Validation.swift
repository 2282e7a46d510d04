// Validation: revalidating stored responses with the origin (RFC 9111 §4.3) — the conditional
// fields to send, which stored responses a 304 applies to (§4.3.4), and how stored header fields
// are updated from a 304 or a HEAD response (§3.2).
//
// Decisions:
// - If-Modified-Since carries the stored Last-Modified only. RFC 9110 §13.1.3 allows the stored
//   Date when there is no Last-Modified, but calls it less interoperable ("a cache ... might use
//   the Date value") — a response without Last-Modified is revalidated by ETag or refetched.
// - Updating fields (§3.2) skips, besides hop-by-hop fields and Content-Length as the RFC lists,
//   Content-Encoding and Content-Range: the stored body bytes are as received, and those fields
//   describe the bytes ("Caches ... MAY omit these header fields ... to assure integrity of the
//   stored response").
// - The stored Age is dropped on update (the response timing restarts with the 304; a stale Age
//   would be counted twice), and a 304 without Date gets one from its receipt time (RFC 9110
//   §6.6.1: a recipient with a clock caching a message without Date "MUST" add one).

/// Revalidation with the origin.
public enum Validation {
    /// Fields excluded when a stored response is updated (lower-cased), besides hop-by-hop ones.
    public static let fieldsNotUpdated: [String] = ["content-length", "content-encoding", "content-range", "age"]

    /// The conditional fields for revalidating `stored` (the first is the selected response).
    /// §4.3.1: If-None-Match may list the entity tags of several stored responses ("the cache can
    /// ... include all of their entity tags"), If-Modified-Since comes from the selected one.
    public static func conditionalFields(stored: [some HTTPFieldReading]) -> HeaderFields {
        var fields = HeaderFields()
        var tags: [String] = []
        for response in stored {
            if let tag = EntityTag.of(response)?.description, !tags.contains(tag) { tags.append(tag) }
        }
        if !tags.isEmpty { fields.add("If-None-Match", tags.joined(separator: ", ")) }
        if let selected = stored.first,
           let lastModified = selected.fieldValues("Last-Modified").first.flatMap({ HTTPDate.parse($0) }) {
            fields.add("If-Modified-Since", HTTPDate.format(lastModified))
        }
        return fields
    }

    /// Indices of the stored responses a 304 updates (§4.3.4).
    public static func responsesToUpdate<Fields: HTTPFieldReading>(notModified: some HTTPFieldReading,
                                                                   stored: [CachedResponse<Fields>]) -> [Int] {
        let tag = EntityTag.of(notModified)
        // "If the new response contains a strong validator ..., then that strong validator identifies
        // the selected representation for update. All the stored responses with the same strong
        // validator are identified for update."
        if let tag, !tag.isWeak {
            return stored.indices.filter { EntityTag.of(stored[$0].fields).map(tag.strongly(matches:)) ?? false }
        }
        // "If the new response contains only weak validators and that validator corresponds to one
        // of the cache's stored responses, then the most recent of those matching stored responses
        // is identified for update."
        let lastModified = notModified.fieldValues("Last-Modified").first.flatMap { HTTPDate.parse($0) }
        if tag != nil || lastModified != nil {
            let matching = stored.indices.filter { index in
                let fields = stored[index].fields
                if let tag { return EntityTag.of(fields).map(tag.weakly(matches:)) ?? false }
                return fields.fieldValues("Last-Modified").first.flatMap { HTTPDate.parse($0) } == lastModified
            }
            return matching.max { stored[$0].responseTime < stored[$1].responseTime }.map { [$0] } ?? []
        }
        // "If the new response does not include any form of validator ..., and there is only one
        // stored response, and that stored response also lacks a validator, then that stored
        // response is identified for update."
        if stored.count == 1, !stored[0].fields.contains("ETag"), !stored[0].fields.contains("Last-Modified") {
            return [0]
        }
        return []
    }

    /// Whether a 304 answering a conditional request made from `validated` alone (the request
    /// carried that response's validators and no other's) selects it for update. A 304 with
    /// validators must identify it by the rules of §4.3.4. A 304 with none cannot name another
    /// representation: it answers the only question asked, so it selects `validated`. (Many
    /// origins send 304 without repeating ETag or Last-Modified; §4.3.4's third rule, written
    /// for a cache holding several responses, would otherwise leave such a 304 unusable.)
    public static func notModifiedSelects<Fields: HTTPFieldReading>(_ notModified: some HTTPFieldReading,
                                                                     validated: CachedResponse<Fields>) -> Bool {
        if !notModified.contains("ETag") && !notModified.contains("Last-Modified") { return true }
        return !responsesToUpdate(notModified: notModified, stored: [validated]).isEmpty
    }

    /// The stored fields updated from a 304 (or HEAD) response (§3.2: "the cache MUST add each
    /// header field in the provided response to the stored response, replacing field values that
    /// are already present"), minus the exceptions above and any field the merged directives say
    /// not to store (`private="…"`, `no-cache="…"`).
    public static func updatedFields(stored: HeaderFields, update: HeaderFields, responseTime: Timestamp,
                                     targeting: TargetedFields = TargetedFields()) -> HeaderFields {
        var merged = stored
        merged.remove("Age")
        let excluded = Set(HopByHop.names(in: update) + fieldsNotUpdated)
        for name in update.names where !excluded.contains(name) {
            merged.replace(name, with: update.fieldValues(name))
        }
        if update.contains("Age") { merged.replace("Age", with: update.fieldValues("Age")) }
        if !update.contains("Date") { merged.replace("Date", with: HTTPDate.format(responseTime)) }
        let control = ResponseDirectives(merged, targeting: targeting).control
        for case .fields(let names)? in [control.private, control.noCache] {
            merged.remove(names: names)
        }
        return merged
    }
}

/// HEAD responses and stored GET responses (RFC 9110 §9.3.2, RFC 9111 §4.3.5).
public enum HeadResponse {
    /// What a 200 response to a HEAD request does to a stored GET response.
    public enum Effect: Hashable, Sendable {
        /// The validators match: the stored response gets these updated fields and new timing.
        case update(HeaderFields)
        /// They differ: "the cache SHOULD consider the stored response to be stale".
        case markStale
    }

    /// §4.3.5: "if the stored response and HEAD response have matching values for any received
    /// validator fields (ETag and Last-Modified) and, if the HEAD response has a Content-Length
    /// header field, the value of Content-Length matches that of the stored response, the cache
    /// SHOULD update the stored response ...; otherwise, the cache SHOULD consider the stored
    /// response to be stale." Decision: a HEAD response with no validator at all cannot show it
    /// describes the stored body, so it marks the stored response stale.
    public static func effect(stored: HeaderFields, head: HeaderFields, responseTime: Timestamp,
                              targeting: TargetedFields = TargetedFields()) -> Effect {
        var sawValidator = false
        for name in ["ETag", "Last-Modified"] {
            let received = head.fieldValues(name).map(FieldSyntax.trimmed)
            guard !received.isEmpty else { continue }
            sawValidator = true
            guard received == stored.fieldValues(name).map(FieldSyntax.trimmed) else { return .markStale }
        }
        let length = head.fieldValues("Content-Length").map(FieldSyntax.trimmed)
        if !length.isEmpty, length != stored.fieldValues("Content-Length").map(FieldSyntax.trimmed) {
            return .markStale
        }
        guard sawValidator else { return .markStale }
        return .update(Validation.updatedFields(stored: stored, update: head, responseTime: responseTime, targeting: targeting))
    }

    /// The fields of a HEAD response answered from a stored GET response: the same fields,
    /// Content-Length included (RFC 9110 §9.3.2: "the server SHOULD send the same header fields
    /// ... as it would have sent if the request method had been GET"); no body.
    public static func fields(fromStoredGet stored: HeaderFields) -> HeaderFields {
        stored
    }
}
