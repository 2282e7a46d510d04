// Generated from cache-policy/default.yaml — edit that file, then regenerate
// (a test checks the two are identical byte for byte).

extension PolicyFile {
    /// The text of `cache-policy/default.yaml`, so the node runs without any file.
    public static let embeddedDefault: String = #"""
# Outpost cache policy: the shipped defaults.
#
# RFC behaviour first: a response is cached as long as its own Cache-Control /
# CDN-Cache-Control / Expires say (RFC 9111 §4.2.1). A response that says nothing of its
# freshness but carries Last-Modified, with a heuristically cacheable status (RFC 9110
# §15.1), gets the RFC 9111 §4.2.2 heuristic: 10% of its age at the time it was sent
# (Date - Last-Modified), at most a day, as Squid and Traffic Server do. No default TTL is
# invented; operators turn that on per rule when they know the origin.
#
# Durations: 30s, 5m, 1h, 2d, 1w (or 0). Sizes: 512KiB, 10MiB, 1GiB (or a byte count).
# Settings that can be switched off accept `off`.
version: 1

node:
  # The field only this node obeys; it outranks CDN-Cache-Control and Cache-Control
  # (RFC 9213 targeted fields) and is removed before responses reach clients.
  cacheControlField: Outpost-Cache-Control
  # Surrogate-Control directives addressed as `max-age=60;outpost` apply to this node.
  surrogateDeviceToken: outpost
  # How the memory and disk tiers choose what to evict: s3-fifo (a probation queue that one-time
  # keys leave quickly, so a scan cannot flush what is hot; see docs/CACHING.md) or lru.
  eviction: s3-fifo

defaults:
  # Operator grace: how long past its freshness a response that had one may still be served
  # while it is revalidated in the background, or when the origin fails — beyond what the
  # response's own stale-while-revalidate / stale-if-error allow. Off by default (RFC 9111
  # §4.2.4: no stale response without the origin's or the client's permission); turn it on per
  # rule for origins whose operators agree. Never overrides must-revalidate, proxy-revalidate,
  # s-maxage or no-cache.
  grace: 0
  # RFC 9111 §4.2.2 heuristic freshness: this fraction of (Date - Last-Modified), capped.
  # `off` turns it off (globally here, or per rule).
  heuristicFraction: 0.1
  heuristicCap: 1d
  # Lifetime for responses that state none: off (RFC behaviour).
  defaultTTL: off
  # Lifetime imposed regardless of the response, and the cap on any lifetime: off.
  forceTTL: off
  maxTTL: off
  # Negative caching: lifetimes for statuses that arrive without freshness information.
  statusTTL: {}
  # Responses that set cookies are not stored, so one client's cookie never reaches another.
  setCookie: do-not-store
  # Cache key: sort query parameters and drop tracking parameters.
  sortQuery: true
  dropQueryParameters: [utm_*, gclid, fbclid]
  # Vary: Accept-Encoding keys on br / gzip / identity rather than the raw header.
  normaliseAcceptEncoding: true
  maxVariants: 16
  maxObjectSize: 64MiB
  # Set to a reason (e.g. "maintenance") to pass every request through.
  bypass: off

# Rules are tried in order; the first whose hosts and paths match lays its settings over
# the defaults. No rules by default.
rules: []

"""#
}
