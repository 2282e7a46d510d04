// Fuzzes the response and request directives a cache decides on: Cache-Control, CDN-Cache-Control,
// the node's own field and Surrogate-Control (RFC 9111 §5.2, RFC 9213), and around them Age, Expires,
// Range and If-Range. Input: header lines "Name: value". Invariants checked: nothing traps, and a
// freshness lifetime is never negative or NaN.
import CachePolicy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCacheControl(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var fields = HeaderFields()
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
        guard let colon = line.firstIndex(of: ":") else { continue }
        fields.add(String(line[..<colon]), String(line[line.index(after: colon)...]))
    }
    let now = Timestamp(seconds: 1_700_000_000)
    let directives = ResponseDirectives(fields, targeting: TargetedFields())
    let lifetime = Freshness.lifetime(status: 200, response: fields, directives: directives, responseTime: now,
                                      settings: RuleSettings(heuristicFraction: 0.1))
    precondition(lifetime.seconds >= 0 && !lifetime.seconds.isNaN, "lifetime \(lifetime.seconds)")
    let age = ResponseAge(response: fields, requestTime: now, responseTime: now).currentAge(now: now + 10)
    precondition(age >= 0 && !age.isNaN, "age \(age)")
    _ = CacheControl(fieldValues: fields.fieldValues("Cache-Control"))
    _ = Storability.decide(method: "GET", request: fields, status: 200, response: fields, responseTime: now, settings: RuleSettings())
    for value in fields.fieldValues("Range") {
        if let specs = ByteRanges.parse(value), case .partial(let ranges) = ByteRanges.resolve(specs, length: 1000) {
            precondition(ranges.allSatisfy { $0.lowerBound >= 0 && $0.upperBound < 1000 })
        }
    }
    _ = ByteRanges.evaluate(method: "GET", request: fields, storedStatus: 200, stored: fields, length: 100)
    return 0
}
