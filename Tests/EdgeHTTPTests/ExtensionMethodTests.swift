// Which request-line methods the adapter rewrites for the decoder (ExtensionMethods): the
// decoder's own methods never, any other token always, case-sensitively (RFC 9110 §9.1).
import NIOCore
import Testing

@testable import EdgeHTTP

@Suite("Extension methods")
struct ExtensionMethodTests {
    @Test("the decoder's methods, common or not, are left alone; other tokens are rewritten, case-sensitively", arguments: [
        ("GET / HTTP/1.1\r\n", nil), ("HEAD / HTTP/1.1\r\n", nil), ("POST / HTTP/1.1\r\n", nil), ("PUT / HTTP/1.1\r\n", nil),
        ("PURGE / HTTP/1.1\r\n", nil), ("M-SEARCH * HTTP/1.1\r\n", nil), ("DELETE / HTTP/1.1\r\n", nil),
        ("get / HTTP/1.1\r\n", "get"), ("Head / HTTP/1.1\r\n", "Head"), ("GETS / HTTP/1.1\r\n", "GETS"),
        ("PUTT / HTTP/1.1\r\n", "PUTT"), ("POS / HTTP/1.1\r\n", "POS"), ("FOO / HTTP/1.1\r\n", "FOO"),
        ("G(T / HTTP/1.1\r\n", nil), ("GET", nil),
    ] as [(String, String?)])
    func rewritten(_ line: String, _ expected: String?) {
        #expect(ExtensionMethodAdapter.unknownMethod(at: ByteBuffer(string: line)) == expected)
    }
}
