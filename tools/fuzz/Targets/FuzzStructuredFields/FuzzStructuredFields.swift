// Fuzzes the structured-field parser (RFC 8941 lists and dictionaries) that reads Cache-Status,
// CDN-Cache-Control's neighbours and Cache-Groups. Input: one field line per input line.
import CachePolicy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStructuredFields(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    _ = StructuredFields.list(lines)
    _ = StructuredFields.dictionary(lines)
    var fields = HeaderFields()
    for line in lines { fields.add("Cache-Groups", line) }
    _ = Invalidation.tags(fields)
    return 0
}
