// Shared fixtures: a fixed clock origin and helpers to build header fields.
import CachePolicy

/// 2023-11-14T22:13:20Z — every test time is an offset from here.
let origin = Timestamp(seconds: 1_700_000_000)

func at(_ offset: Double) -> Timestamp { origin + offset }

/// An IMF-fixdate `offset` seconds from `origin`.
func date(_ offset: Double) -> String { HTTPDate.format(origin + offset) }

func fields(_ pairs: (String, String)...) -> HeaderFields { HeaderFields(pairs) }

/// A response received at `origin` (request sent one second earlier) with Date = origin.
func cached(_ status: Int = 200, _ pairs: (String, String)..., softPurgedAt: Timestamp? = nil) -> CachedResponse<HeaderFields> {
    var headers = HeaderFields([("Date", date(0))])
    for (name, value) in pairs { headers.add(name, value) }
    return CachedResponse(status: status, fields: headers, requestTime: origin, responseTime: origin, softPurgedAt: softPurgedAt)
}
