// Fuzzes the policy-file reader (cache-policy/*.yaml): any text is either rules or an error that
// names what is wrong, never a trap.
import PolicyFile

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicyFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let rules = try? PolicyFile.parse(text, file: "fuzz.yaml") {
        _ = rules.settings(host: "example.com", path: "/a/b?c")
    }
    return 0
}
