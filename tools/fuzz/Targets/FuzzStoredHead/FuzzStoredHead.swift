// Fuzzes the decoder of stored response heads (the disk tier's versioned metadata, binary and JSON
// forms). What the disk holds may be torn or damaged; decoding must fail with an error, never trap.
// Invariant checked: a head that decodes re-encodes to bytes that decode to the same head.
import CacheStore
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStoredHead(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    guard let head = try? StoredResponse.decodeHead(bytes) else { return 0 }
    if let encoded = try? head.encodedHead() {
        let again = try? StoredResponse.decodeHead(encoded)
        precondition(again?.key == head.key && again?.fields == head.fields && again?.bodyLength == head.bodyLength)
    }
    return 0
}
