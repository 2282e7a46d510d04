// Fuzzes HTTP-date parsing (RFC 9110 §5.6.7: IMF-fixdate, the obsolete RFC 850 and asctime forms).
// Invariant checked: any date that parses formats to an IMF-fixdate that parses back to itself.
import CachePolicy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPDate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let parsed = HTTPDate.parse(text, now: Timestamp(seconds: 1_700_000_000)) {
        let formatted = HTTPDate.format(parsed)
        precondition(HTTPDate.parse(formatted) == parsed, "\(text) -> \(formatted)")
    }
    return 0
}
